import { ApplicationConfig, importProvidersFrom, provideBrowserGlobalErrorListeners, provideZonelessChangeDetection } from '@angular/core';
import { HTTP_INTERCEPTORS, provideHttpClient, withInterceptorsFromDi } from '@angular/common/http';
import { provideRouter } from '@angular/router';
import { AuthInterceptor, AuthModule } from 'ngx-oidc-session';
import { compatAuthConfig } from './shared/compat-settings';
import { compatRoutes } from './shared/compat-routes';

// Angular 21, zoneless, with the NgModule-style set-up: AuthModule.forRoot() and the class
// interceptor registered in DI.
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideZonelessChangeDetection(),
    provideRouter(compatRoutes),
    provideHttpClient(withInterceptorsFromDi()),
    { provide: HTTP_INTERCEPTORS, useClass: AuthInterceptor, multi: true },
    importProvidersFrom(AuthModule.forRoot(compatAuthConfig())),
  ],
};
