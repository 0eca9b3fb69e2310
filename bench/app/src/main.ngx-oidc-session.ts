// ngx-oidc-session: code + PKCE with refresh tokens, the interceptor for one API origin.
import { Component, inject } from '@angular/core';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { authInterceptor, AuthService, provideAuth } from 'ngx-oidc-session';
import { AUTH_FEATURES } from './auth-features';
import { API, AUTHORITY, bootBenchApp, CallsApi, CLIENT_ID, SCOPE } from './shell';

@Component({
  selector: 'bench-home',
  template: `
    <p>{{ auth.isAuthenticated() ? 'Signed in as ' + auth.user()?.name : 'Signed out' }}</p>
    <button type="button" (click)="auth.login()">Sign in</button>
    <button type="button" (click)="auth.logout()">Sign out</button>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
  protected readonly auth = inject(AuthService);
}

bootBenchApp(Home, [
  provideHttpClient(withInterceptors([authInterceptor])),
  provideAuth({
    authority: AUTHORITY,
    clientId: CLIENT_ID,
    redirectUrl: '/',
    scope: SCOPE,
    renew: { strategy: 'refresh_token' },
    secureApis: [API],
  }, ...AUTH_FEATURES),
]);
