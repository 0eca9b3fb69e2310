import { ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';
import { provideClientHydration } from '@angular/platform-browser';
import { provideRouter } from '@angular/router';
import { authInterceptor, provideAuth } from 'ngx-oidc-session';
import { COMPAT_API, COMPAT_OP } from './shared/compat-settings';
import { ssrRoutes } from './app.routes';

// The browser's and the server's config (app.config.server.ts adds server rendering). The auth
// config holds no browser value: on the server the library resolves it against a placeholder.
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(ssrRoutes),
    provideClientHydration(),
    provideHttpClient(withFetch(), withInterceptors([authInterceptor])),
    provideAuth({
      authority: COMPAT_OP,
      clientId: 'ngx-oidc-demo',
      secureApis: [COMPAT_API],
      renew: { strategy: 'refresh_token' },
    }),
  ],
};
