// @auth0/auth0-angular: code + PKCE with refresh tokens, its interceptor for one API origin.
// Auth0 SDKs talk to an Auth0 tenant; the domain below is only there to build the app.
import { Component, inject } from '@angular/core';
import { AsyncPipe } from '@angular/common';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { authHttpInterceptorFn, AuthService, provideAuth0 } from '@auth0/auth0-angular';
import { API, bootBenchApp, CallsApi, CLIENT_ID, SCOPE } from './shell';

@Component({
  selector: 'bench-home',
  imports: [AsyncPipe],
  template: `
    <p>{{ (auth.isAuthenticated$ | async) ? 'Signed in as ' + (auth.user$ | async)?.name : 'Signed out' }}</p>
    <button type="button" (click)="auth.loginWithRedirect()">Sign in</button>
    <button type="button" (click)="auth.logout()">Sign out</button>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
  protected readonly auth = inject(AuthService);
}

bootBenchApp(Home, [
  provideHttpClient(withInterceptors([authHttpInterceptorFn])),
  provideAuth0({
    domain: 'bench.example.auth0.com',
    clientId: CLIENT_ID,
    authorizationParams: { redirect_uri: window.location.origin + '/', scope: SCOPE },
    useRefreshTokens: true,
    httpInterceptor: { allowedList: [`${API}/*`] },
  }),
]);
