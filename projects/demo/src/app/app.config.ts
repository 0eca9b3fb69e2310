import { ApplicationConfig, inject, provideAppInitializer, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';
import { provideRouter } from '@angular/router';
import { authInterceptor, provideAuth, withName, withPopupSignIn, withSilentSignIn } from 'ngx-oidc-session';
import { withDPoP } from 'ngx-oidc-session/dpop';
import { withSessionMonitor } from 'ngx-oidc-session/session-monitor';
import { routes } from './app.routes';
import { demoAuthConfig, demoDPoP, demoSessionMonitor, demoSilentSignIn, demoStrategy, partnerAuthConfig } from './demo-settings';
import { EventLog } from './event-log';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(routes),
    // The interceptor attaches the access token to the demo API (secureApis) and nowhere else.
    provideHttpClient(withFetch(), withInterceptors([authInterceptor])),
    // Before provideAuth: the event log must listen before the sign-in callback is handled.
    provideAppInitializer(() => void inject(EventLog)),
    // Pushed authorization requests: on, as the dev OP offers them (pushedAuthorization 'auto').
    // withPopupSignIn(): the "Sign in with popup" button. Its popup lands on silent-renew.html
    // (renew.silentRenewUrl), which the dev OP has registered as a redirect URI.
    // withDPoP() (the "DPoP" switch): tokens bound to a key of this browser, a proof per request.
    // withSessionMonitor() (the "Session monitoring" switch): a sign-out at the OP ends the session here too.
    provideAuth(
      demoAuthConfig(demoStrategy()),
      withPopupSignIn(),
      ...(demoSilentSignIn() ? [withSilentSignIn()] : []),
      ...(demoDPoP() ? [withDPoP()] : []),
      ...(demoSessionMonitor() ? [withSessionMonitor()] : []),
    ),
    // A second OP beside the first (the "Partner OP" section): its own session, its own API.
    provideAuth(partnerAuthConfig(), withName('partner')),
  ],
};
