import { inject } from '@angular/core';
import { SilentSignInOutcome } from '../core/auth-state';
import { AUTH_CONFIG, configError, seconds } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { AUTH_CLOCK } from '../platform/clock';
import { ATTEMPT_STORAGE } from '../platform/web-storage';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { AuthEvents } from '../state/auth-events';
import { SessionStore } from '../state/session-store';
import { StartUpSignIn } from '../state/start-up-sign-in';

export interface SilentSignInOptions {
  /**
   * How long the OP may take to answer the hidden request before the user counts as signed
   * out (default 5, 1 to 30). The app's auth status stays `unknown` meanwhile, so guards wait.
   */
  readonly timeoutSeconds?: number;
}

/**
 * The OP's answers to prompt=none that mean "no usable session here" (OIDC Core 3.1.2.6): the
 * expected outcome for a visitor who is not signed in at the OP, not a failure.
 */
const NO_OP_SESSION = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/**
 * Silent sign-in at start-up: when a page has no session, one prompt=none request in the
 * hidden iframe signs the user in if their session at the OP exists; otherwise they stay
 * unauthenticated, with no redirect. One try per page load and never after this tab's logout:
 * a per-tab marker (sessionStorage) set when this tab signs out, in itself or following another
 * tab, and removed when it holds a session again.
 */
export class SilentSignIn implements StartUpSignIn {
  private readonly store = inject(SessionStore);
  private readonly protocol = inject(ProtocolLoader);
  private readonly events = inject(AuthEvents);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly tabStorage = inject(ATTEMPT_STORAGE);
  private readonly signedOutHereKey: string;
  private readonly timeoutMs: number;
  private tried = false;

  constructor(options: SilentSignInOptions) {
    const config = inject(AUTH_CONFIG);
    // Checked at start, in production too: without the page the iframe has nowhere to land.
    if (!config.renew.silentRenewUrl) {
      throw configError('renew.silentRenewUrl', ngDevMode ? 'is required by withSilentSignIn(): set it to the page ng add generated, e.g. "/silent-renew.html", and register it as a redirect URI at the OP.' : '');
    }
    // Kept in production: the app's start waits for this long at most.
    this.timeoutMs = seconds(options.timeoutSeconds, 'silentSignIn.timeoutSeconds', 5, 1, 30) * 1000;
    this.signedOutHereKey = `${config.storageNamespace}:signed-out-here`;
    this.store.changes$.subscribe(({ session, cause }) => {
      if (session) this.tabStorage.removeItem(this.signedOutHereKey);
      else if (cause === 'logout' || cause === 'other-tab') this.tabStorage.setItem(this.signedOutHereKey, '1');
    });
  }

  async signIn(): Promise<void> {
    if (this.tried || this.tabStorage.getItem(this.signedOutHereKey) !== null) {
      this.store.restore();
      return;
    }
    this.tried = true;
    let outcome: SilentSignInOutcome = 'signed_in';
    let error: AuthError | null = null;
    try {
      // False: another tab's session was taken in meanwhile, and decided the state.
      if (!(await (await this.protocol.load()).silentSignIn(this.timeoutMs))) return;
    } catch (caught) {
      error = isAuthError(caught) ? caught : new AuthError('invalid_response', ngDevMode ? 'The silent sign-in failed.' : '');
      outcome = NO_OP_SESSION.has(error.details.oauthError ?? '') ? 'no_op_session' : 'failed';
    }
    if (!this.store.isAuthenticated()) {
      // No OP session, a timeout or an unreachable OP: signed out, not an error (no retry: the
      // user can sign in). A response that failed its checks is kept in the state as an error.
      if (outcome === 'failed' && !error!.retryable) this.store.fail(error!);
      else this.store.restore();
    }
    this.events.emit({ type: 'silent_sign_in', at: this.clock.now(), outcome, error });
  }
}
