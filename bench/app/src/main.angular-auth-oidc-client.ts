// angular-auth-oidc-client: code + PKCE with refresh tokens, its interceptor for one API origin.
import { Component, inject } from '@angular/core';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { authInterceptor, OidcSecurityService, provideAuth, withAppInitializerAuthCheck } from 'angular-auth-oidc-client';
import { API, AUTHORITY, bootBenchApp, CallsApi, CLIENT_ID, SCOPE } from './shell';

@Component({
  selector: 'bench-home',
  template: `
    <p>{{ auth().isAuthenticated ? 'Signed in as ' + oidc.userData().userData?.name : 'Signed out' }}</p>
    <button type="button" (click)="oidc.authorize()">Sign in</button>
    <button type="button" (click)="oidc.logoff().subscribe()">Sign out</button>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
  protected readonly oidc = inject(OidcSecurityService);
  protected readonly auth = this.oidc.authenticated;
}

bootBenchApp(Home, [
  provideHttpClient(withInterceptors([authInterceptor()])),
  provideAuth(
    {
      config: {
        authority: AUTHORITY,
        clientId: CLIENT_ID,
        redirectUrl: window.location.origin + '/',
        postLogoutRedirectUri: window.location.origin + '/',
        scope: SCOPE,
        responseType: 'code',
        silentRenew: true,
        useRefreshToken: true,
        secureRoutes: [API],
      },
    },
    withAppInitializerAuthCheck(),
  ),
]);
