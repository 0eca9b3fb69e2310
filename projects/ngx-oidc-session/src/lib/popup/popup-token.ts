import { InjectionToken } from '@angular/core';

/** What AuthService needs of the popup feature; provided by withPopupSignIn() only. */
export interface PopupSignInStarter {
  /** The page the popup lands on (absolute): one of the instance's callback URLs. */
  readonly redirectUrl: string;
  /**
   * Opens the popup at once (synchronously, so that the click's user activation lets it
   * through), then signs in in it. Resolves once signed in; rejects with an AuthError.
   */
  signIn(params: Record<string, string>): Promise<void>;
  /** Ends the popup sign-in in progress for good, if any (logout() calls it first). */
  cancel(): void;
}

/**
 * The popup feature, when the app added withPopupSignIn(). An app without it has only this
 * token in its bundle, not the popup code.
 */
// The description in dev builds only: every app ships this token, with the feature or not.
export const POPUP_SIGN_IN = new InjectionToken<PopupSignInStarter>(ngDevMode ? 'ngx-oidc-session popup sign-in' : '');
