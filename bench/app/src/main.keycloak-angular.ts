// keycloak-angular with keycloak-js: code + PKCE with refresh tokens, its bearer interceptor
// for one API origin. Keycloak-only; the realm below is only there to build the app.
import { Component, inject } from '@angular/core';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import {
  AutoRefreshTokenService,
  createInterceptorCondition,
  INCLUDE_BEARER_TOKEN_INTERCEPTOR_CONFIG,
  includeBearerTokenInterceptor,
  IncludeBearerTokenCondition,
  provideKeycloak,
  UserActivityService,
  withAutoRefreshToken,
} from 'keycloak-angular';
import Keycloak from 'keycloak-js';
import { bootBenchApp, CallsApi, CLIENT_ID } from './shell';

@Component({
  selector: 'bench-home',
  template: `
    <p>{{ keycloak.authenticated ? 'Signed in as ' + keycloak.tokenParsed?.['name'] : 'Signed out' }}</p>
    <button type="button" (click)="keycloak.login()">Sign in</button>
    <button type="button" (click)="keycloak.logout()">Sign out</button>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
  protected readonly keycloak = inject(Keycloak);
}

const apiOrigin = createInterceptorCondition<IncludeBearerTokenCondition>({
  urlPattern: /^http:\/\/localhost:4500\/api(\/.*)?$/i,
});

bootBenchApp(Home, [
  provideHttpClient(withInterceptors([includeBearerTokenInterceptor])),
  provideKeycloak({
    config: { url: 'http://localhost:8080', realm: 'bench', clientId: CLIENT_ID },
    initOptions: { onLoad: 'check-sso', pkceMethod: 'S256', checkLoginIframe: false },
    features: [withAutoRefreshToken({ onInactivityTimeout: 'none' })],
    providers: [
      AutoRefreshTokenService,
      UserActivityService,
      { provide: INCLUDE_BEARER_TOKEN_INTERCEPTOR_CONFIG, useValue: [apiOrigin] },
    ],
  }),
]);
