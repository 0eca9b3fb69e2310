// angular-oauth2-oidc: code + PKCE with refresh tokens (offline_access), its interceptor
// (registered through HTTP_INTERCEPTORS) for one API origin.
import { Component, inject, provideAppInitializer } from '@angular/core';
import { provideHttpClient, withInterceptorsFromDi } from '@angular/common/http';
import { OAuthService, provideOAuthClient } from 'angular-oauth2-oidc';
import { API, AUTHORITY, bootBenchApp, CallsApi, CLIENT_ID, SCOPE } from './shell';

@Component({
  selector: 'bench-home',
  template: `
    <p>{{ oauth.hasValidAccessToken() ? 'Signed in as ' + name() : 'Signed out' }}</p>
    <button type="button" (click)="oauth.initCodeFlow()">Sign in</button>
    <button type="button" (click)="oauth.logOut()">Sign out</button>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
  protected readonly oauth = inject(OAuthService);
  protected name(): unknown {
    return this.oauth.getIdentityClaims()['name'];
  }
}

bootBenchApp(Home, [
  provideHttpClient(withInterceptorsFromDi()),
  provideOAuthClient({ resourceServer: { allowedUrls: [API], sendAccessToken: true } }),
  provideAppInitializer(() => {
    const oauth = inject(OAuthService);
    oauth.configure({
      issuer: AUTHORITY,
      clientId: CLIENT_ID,
      redirectUri: window.location.origin + '/',
      postLogoutRedirectUri: window.location.origin + '/',
      responseType: 'code',
      scope: SCOPE,
      requireHttps: false,
    });
    oauth.setupAutomaticSilentRefresh();
    return oauth.loadDiscoveryDocumentAndTryLogin().then(() => undefined);
  }),
]);
