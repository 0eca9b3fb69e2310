import { ApplicationConfig, provideBrowserGlobalErrorListeners, provideZoneChangeDetection } from '@angular/core';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { provideRouter } from '@angular/router';
import { authInterceptor, provideAuth } from 'ngx-oidc-session';
import { withDPoP } from 'ngx-oidc-session/dpop';
import { compatAuthConfig } from './shared/compat-settings';
import { compatRoutes } from './shared/compat-routes';

// Angular 20 the way `ng new` made it: zone.js change detection, HttpClient on XHR, and the
// functional interceptor with provideAuth(). withDPoP() from the secondary entry point
// ngx-oidc-session/dpop, only on `?dpop` (the compat test signs in with bearer tokens): the build
// shows that an Angular 20 app resolves and links that entry point.
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideZoneChangeDetection({ eventCoalescing: true }),
    provideRouter(compatRoutes),
    provideHttpClient(withInterceptors([authInterceptor])),
    provideAuth(compatAuthConfig(), ...(new URLSearchParams(location.search).has('dpop') ? [withDPoP()] : [])),
  ],
};
