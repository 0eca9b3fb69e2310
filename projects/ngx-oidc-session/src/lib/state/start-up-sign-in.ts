import { InjectionToken } from '@angular/core';

/**
 * A sign-in AuthService tries at start-up when the page has no session and brought no
 * authorization or logout response (withSilentSignIn). Only the token lives here, so that an
 * app without the feature ships none of its code.
 */
export interface StartUpSignIn {
  /** Tries once per page load; decides the auth state whatever happens, and never redirects. */
  signIn(): Promise<void>;
}

// The description in dev mode only, as Angular's own tokens: this token is in every app's start bundle.
export const START_UP_SIGN_IN = new InjectionToken<StartUpSignIn>(ngDevMode ? 'ngx-oidc-session start-up sign-in' : '');
