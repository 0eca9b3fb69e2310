import { DestroyRef, InjectionToken, inject } from '@angular/core';
import { SilentSignInOutcome } from '../core/auth-state';
import { AUTH_CONFIG, configError, seconds } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK, TimerHandle } from '../platform/clock';
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
 * Whether this page runs inside a frame: then it is no app page but the hidden iframe's landing
 * page served as the app (a server that answers every path with index.html), and a try there
 * would nest another iframe. A token so that specs, which Karma runs in an iframe, can say no.
 */
export const PAGE_IN_FRAME = new InjectionToken<boolean>(ngDevMode ? 'ngx-oidc-session page in a frame' : '');

/**
 * Silent sign-in at start-up: when a page has no session, one prompt=none request in the
 * hidden iframe signs the user in if their session at the OP exists; otherwise they stay
 * unauthenticated, with no redirect. One try per page load, bounded as a whole by the timeout,
 * and never after a logout:
 * - a per-tab marker (sessionStorage) set when this tab signs out, in itself or following another
 *   tab (also when it held no session), and removed when it holds a session again;
 * - browser-wide, with shared tabs, no try while the last sign-in or logout any tab recorded is
 *   a logout (checked by the protocol code against the ledger), until the next sign-in.
 */
export class SilentSignIn implements StartUpSignIn {
  private readonly store = inject(SessionStore);
  private readonly protocol = inject(ProtocolLoader);
  private readonly events = inject(AuthEvents);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly browser = inject(AuthBrowser);
  private readonly tabStorage = inject(ATTEMPT_STORAGE);
  private readonly inFrame = inject(PAGE_IN_FRAME, { optional: true });
  private readonly silentRenewPath: string;
  private readonly signedOutHereKey: string;
  private readonly timeoutMs: number;
  private tried = false;

  constructor(options: SilentSignInOptions) {
    const config = inject(AUTH_CONFIG);
    const silentRenewUrl = config.renew.silentRenewUrl;
    // Checked at start, in production too: without the page the iframe has nowhere to land.
    if (!silentRenewUrl) {
      throw configError('renew.silentRenewUrl', ngDevMode ? 'is required by withSilentSignIn(): set it to the page ng add generated, e.g. "/silent-renew.html", and register it as a redirect URI at the OP.' : '');
    }
    this.silentRenewPath = new URL(silentRenewUrl).pathname;
    // Kept in production: the app's start waits for this long at most.
    this.timeoutMs = seconds(options.timeoutSeconds, 'silentSignIn.timeoutSeconds', 5, 1, 30) * 1000;
    this.signedOutHereKey = `${config.storageNamespace}:signed-out-here`;
    const signedOutHere = () => this.tabStorage.setItem(this.signedOutHereKey, '1');
    const changes = this.store.changes$.subscribe(({ session, cause }) => {
      if (session) this.tabStorage.removeItem(this.signedOutHereKey);
      else if (cause === 'logout' || cause === 'other-tab') signedOutHere();
    });
    // A logout in another tab reaches a tab without a session only as the sign-out marker
    // written to localStorage (the message changes nothing there): this tab signed out too.
    const signedOutKey = `${config.storageNamespace}:signed-out`;
    const window = this.browser.window;
    const onStorage = (event: StorageEvent) => {
      if (event.key === signedOutKey && event.newValue !== null && !this.store.session()) signedOutHere();
    };
    if (config.tabs === 'shared') window?.addEventListener('storage', onStorage);
    inject(DestroyRef).onDestroy(() => {
      changes.unsubscribe();
      window?.removeEventListener('storage', onStorage);
    });
  }

  async signIn(): Promise<void> {
    const window = this.browser.window;
    const framed = this.inFrame ?? (window !== null && window.top !== window.self);
    if (this.tried || framed || new URL(this.browser.href).pathname === this.silentRenewPath || this.tabStorage.getItem(this.signedOutHereKey) !== null) {
      this.store.restore();
      return;
    }
    this.tried = true;
    const logouts = this.store.logouts;
    let abandoned = false;
    let timer: TimerHandle | undefined;
    // One deadline for the whole try (chunk, discovery, PAR, iframe, token, JWKS pauses,
    // userinfo): once it passes, the user counts as signed out and a late result is discarded.
    const deadline = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => {
        abandoned = true;
        this.protocol.loaded()?.client.cancelRenewal();
        reject(new AuthError('timeout', ngDevMode ? 'The silent sign-in took longer than its timeout.' : '', true));
      }, this.timeoutMs);
    });
    const wanted = () => !abandoned && this.store.logouts === logouts;
    let outcome: SilentSignInOutcome = 'signed_in';
    let error: AuthError | null = null;
    try {
      const attempt = (async () => (await this.protocol.load()).silentSignIn(this.timeoutMs, wanted))();
      const result = await Promise.race([attempt, deadline]);
      // No try: the last thing recorded in this browser is a logout.
      if (result === 'skipped') {
        this.store.restore();
        return;
      }
      if (result === 'superseded') outcome = 'superseded';
    } catch (caught) {
      error = isAuthError(caught) ? caught : new AuthError('invalid_response', ngDevMode ? 'The silent sign-in failed.' : '');
      outcome = NO_OP_SESSION.has(error.details.oauthError ?? '') ? 'no_op_session' : 'failed';
    } finally {
      this.clock.clearTimeout(timer!);
    }
    if (this.store.logouts !== logouts) {
      // Logged out meanwhile: the logout decided the state; the try was cut short by it.
      outcome = 'superseded';
      error = null;
    } else if (!this.store.isAuthenticated()) {
      // No OP session, a timeout or an unreachable OP: signed out, not an error (no retry: the
      // user can sign in). A response that failed its checks is kept in the state as an error.
      if (outcome === 'failed' && !error!.retryable) this.store.fail(error!);
      else this.store.restore();
    }
    this.events.emit({ type: 'silent_sign_in', at: this.clock.now(), outcome, error });
  }
}
