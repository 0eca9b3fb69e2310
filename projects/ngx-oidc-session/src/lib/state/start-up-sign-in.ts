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

export const START_UP_SIGN_IN = new InjectionToken<StartUpSignIn>('ngx-oidc-session start-up sign-in');
