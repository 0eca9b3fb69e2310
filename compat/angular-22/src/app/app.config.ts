import { ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';
import { provideRouter } from '@angular/router';
import { authInterceptor, provideAuth } from 'ngx-oidc-session';
import { compatAuthConfig } from './shared/compat-settings';
import { compatRoutes } from './shared/compat-routes';

// Angular 22: zoneless by default (no zone.js in the app), HttpClient on fetch, the functional
// interceptor with provideAuth(). Built and served with --base-href /app/.
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(compatRoutes),
    provideHttpClient(withFetch(), withInterceptors([authInterceptor])),
    provideAuth(compatAuthConfig()),
  ],
};
