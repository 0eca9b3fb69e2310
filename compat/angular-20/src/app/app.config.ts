import { ApplicationConfig, provideBrowserGlobalErrorListeners, provideZoneChangeDetection } from '@angular/core';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { provideRouter } from '@angular/router';
import { authInterceptor, provideAuth } from 'ngx-oidc-session';
import { compatAuthConfig } from './shared/compat-settings';
import { compatRoutes } from './shared/compat-routes';

// Angular 20 the way `ng new` made it: zone.js change detection, HttpClient on XHR, and the
// functional interceptor with provideAuth().
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideZoneChangeDetection({ eventCoalescing: true }),
    provideRouter(compatRoutes),
    provideHttpClient(withInterceptors([authInterceptor])),
    provideAuth(compatAuthConfig()),
  ],
};
