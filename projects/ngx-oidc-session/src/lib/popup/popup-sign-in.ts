import { NgZone, inject } from '@angular/core';
import { AUTH_CONFIG, checkAppUrl, resolveAppUrl } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { AuthFeature, authFeature } from '../provide-auth';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK, Clock, TimerHandle } from '../platform/clock';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { AuthEvents } from '../state/auth-events';
import { SessionStore } from '../state/session-store';
import { POPUP_SIGN_IN, PopupSignInStarter } from './popup-token';

/** What the popup's page (silent-renew.html) posts to the window that opened it. */
export const POPUP_MESSAGE = 'ngx-oidc-session:popup-sign-in';
/**
 * The BroadcastChannel the popup's page posts on when it has no opener any more (the OP's
 * Cross-Origin-Opener-Policy cut the link). A fixed name: the static page knows no config.
 * The channel reaches this origin's pages only, and each attempt takes only its own state.
 */
export const POPUP_CHANNEL = 'ngx-oidc-session:popup-sign-in';

const POPUP_WIDTH = 500;
const POPUP_HEIGHT = 640;
const DEFAULT_TIMEOUT_SECONDS = 300;

export interface PopupSignInOptions {
  /**
   * The page the popup lands on, absolute or app-relative: a static page on the app's origin
   * that hands the response to the window that opened the popup, such as the
   * `silent-renew.html` that `ng add` generates. Register it as a redirect URI at the OP.
   * Default: `renew.silentRenewUrl` when set, else `/silent-renew.html`.
   */
  readonly redirectUrl?: string;
  /**
   * How long a popup sign-in may take, in seconds, from the click to the response (default
   * 300, between 10 and 3600). Then login() rejects with `timeout`, and the popup is closed
   * when the browser still lets this page close it (not once the OP's COOP cut the link).
   */
  readonly timeoutSeconds?: number;
}

/**
 * Adds popup sign-in: `login({ popup: true })` signs the user in in a popup window while the
 * app stays where it is. Without this feature the popup code is not in the app, and
 * `login({ popup: true })` rejects with `config_invalid`.
 *
 * ```ts
 * provideAuth(authConfig, withPopupSignIn())
 * ```
 *
 * @see PopupSignInOptions
 */
export function withPopupSignIn(options: PopupSignInOptions = {}): AuthFeature<'popup'> {
  return authFeature('popup', [{ provide: POPUP_SIGN_IN, useFactory: () => new PopupSignIn(options) }]);
}

/**
 * One instance per auth instance (provided by the feature, never in root).
 *
 * One attempt per tab at a time. Once the popup is at the OP, `popup.closed` cannot be
 * trusted: an OP that sends Cross-Origin-Opener-Policy cuts the popup's link to this page,
 * and from then on the browser reports it closed although the user may still be signing in.
 * So a popup seen closed after it went to the OP does not end the attempt: login() stays
 * pending until the response (resolves), the timeout (`timeout`), or until the attempt is
 * ended for good (`popup_closed`): by a new popup login(), by logout(), or by a sign-in or
 * sign-out in another tab. An ended attempt takes no response any more, so it can never
 * sign the user in after login() said it failed.
 */
class PopupSignIn implements PopupSignInStarter {
  private readonly config = inject(AUTH_CONFIG);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly protocol = inject(ProtocolLoader);
  private readonly store = inject(SessionStore);
  private readonly events = inject(AuthEvents);
  private readonly zone = inject(NgZone);
  readonly redirectUrl: string;
  private readonly timeoutMs: number;
  /** The attempt alive in this tab, its parameters and its outcome: a second login() with the same parameters joins it. */
  private current: { readonly attempt: PopupAttempt; readonly params: string; readonly done: Promise<void> } | null = null;
  /** The epoch of the session when the current attempt began: another tab's sign-in brings another one. */
  private startEpoch: number | null = null;

  constructor(options: PopupSignInOptions) {
    const key = 'popup.redirectUrl';
    const given: unknown = options.redirectUrl ?? this.config.renew.silentRenewUrl ?? '/silent-renew.html';
    if (typeof given !== 'string') {
      throw new AuthError('config_invalid', ngDevMode ? `ngx-oidc-session: withPopupSignIn({ redirectUrl }) must be a string, an app-relative path such as "/silent-renew.html" (got ${typeof given}).` : '', false, { configKey: key });
    }
    const origin = this.browser.isBrowser ? this.browser.origin : null;
    try {
      this.redirectUrl = resolveAppUrl(given, key, origin ?? 'http://server.invalid');
      // Kept in production, as for the other callback pages: the code lands there.
      if (origin !== null) checkAppUrl(this.redirectUrl, key, origin, given);
    } catch (error) {
      // Not an AuthConfig key: the message names the option as the app writes it.
      throw isAuthError(error) && ngDevMode ? new AuthError(error.code, error.message.replace(`config.${key}`, 'withPopupSignIn({ redirectUrl })'), false, error.details) : error;
    }
    if (origin !== null && new URL(this.redirectUrl).pathname === new URL(this.config.redirectUrl).pathname) {
      // The app at redirectUrl would take the popup's response for a redirect sign-in of its own.
      throw new AuthError('config_invalid', ngDevMode ? `ngx-oidc-session: withPopupSignIn({ redirectUrl }) must be another page than redirectUrl: use the static page ng add generates, "/silent-renew.html".` : '', false, { configKey: key });
    }
    const seconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (typeof seconds !== 'number' || !(seconds >= 10 && seconds <= 3600)) {
      throw new AuthError('config_invalid', ngDevMode ? `ngx-oidc-session: withPopupSignIn({ timeoutSeconds }) must be a number of seconds between 10 and 3600 (got ${String(seconds)}).` : '', false, { configKey: 'popup.timeoutSeconds' });
    }
    this.timeoutMs = seconds * 1000;
    // A logout, or another tab's sign-in or sign-out, ends the attempt for good: its late
    // response must not bring back a session the user ended, nor replace another user's.
    this.store.changes$.subscribe(({ session, cause }) => {
      const otherSignIn = cause === 'adopted' && session !== null && session.epoch !== this.startEpoch;
      if (cause === 'logout' || cause === 'other-tab' || otherSignIn) this.cancel();
    });
  }

  signIn(params: Record<string, string>): Promise<void> {
    const window = this.browser.window;
    if (!window) return this.failed(new AuthError('not_in_browser', ngDevMode ? 'Popup sign-in needs a browser.' : ''));
    const key = paramsKey(params);
    const current = this.current;
    if (current && (current.attempt.responded || !current.attempt.popup.closed)) {
      // The popup is open (its link intact), or its answer is being checked: one sign-in at a time.
      if (current.params !== key) {
        return this.failed(new AuthError('sign_in_in_progress', ngDevMode ? 'A popup sign-in with other parameters is in progress: wait for its outcome, or call logout() to end it.' : ''));
      }
      // A second click for the same sign-in: bring the popup to the front; both calls get its outcome.
      current.attempt.popup.focus();
      return current.done;
    }
    // Seen closed (closed by the user, or its link cut by COOP): the user asks again, so the old
    // attempt ends for good, before the new one starts.
    this.cancel();
    // Before any await: browsers let a popup through only within the click's user activation.
    // It opens blank (same origin) and goes to the OP once the request is built.
    const popup = window.open('about:blank', '_blank', popupFeatures(window));
    if (!popup || popup.closed) {
      return this.failed(new AuthError('popup_blocked', ngDevMode ? 'The browser blocked the sign-in popup: call login({ popup: true }) in a click handler, before any await.' : ''));
    }
    // Its timers and listeners outside the Angular zone: a popup open for minutes must not keep
    // the app from being stable. The outcome reaches the app through its promise and the store.
    const attempt = this.zone.runOutsideAngular(() => new PopupAttempt(window, popup, this.browser.origin, new URL(this.redirectUrl), this.timeoutMs, this.clock));
    this.startEpoch = this.store.session()?.epoch ?? null;
    // Reported once per attempt: a second login() that joins it gets the same promise.
    const done = this.run(attempt, params).catch((error: unknown) => this.failed(error));
    this.current = { attempt, params: key, done };
    const settle = () => {
      if (this.current?.attempt === attempt) this.current = null;
    };
    done.then(settle, settle);
    return done;
  }

  /** Reports a failure as login() does (`state.error`, an `error` event), and rejects with it. */
  private failed(error: unknown): Promise<never> {
    const authError = isAuthError(error) ? error : new AuthError('invalid_response', ngDevMode ? 'Sign-in failed.' : '');
    this.store.fail(authError);
    this.events.emit({ type: 'error', at: this.clock.now(), error: authError });
    return Promise.reject(authError);
  }

  /** Ends the attempt in progress for good (its login() rejects with `popup_closed`), and closes its popup if the browser still lets this page. */
  cancel(): void {
    const current = this.current;
    this.current = null;
    if (!current) return;
    current.attempt.end();
    current.attempt.closePopup();
  }

  private async run(attempt: PopupAttempt, params: Record<string, string>): Promise<void> {
    try {
      const onDemand = await this.protocol.load();
      await onDemand.signInWithPopup(params, this.redirectUrl, (url, state) => attempt.navigate(url, state), () => !attempt.ended);
    } catch (error) {
      attempt.end();
      attempt.closePopup();
      throw error;
    }
    attempt.end();
  }
}

/** The same parameters give the same key, whatever their order. */
function paramsKey(params: Record<string, string>): string {
  return JSON.stringify(Object.keys(params).sort().map((name) => [name, params[name]]));
}

/** A popup of a sensible size, centred on the app's window. */
function popupFeatures(window: Window): string {
  const centre = (start: number, outer: number, size: number) => Math.max(0, Math.round((Number.isFinite(start) ? start : 0) + ((Number.isFinite(outer) ? outer : size) - size) / 2));
  const left = centre(window.screenX, window.outerWidth, POPUP_WIDTH);
  const top = centre(window.screenY, window.outerHeight, POPUP_HEIGHT);
  return `popup=yes,width=${POPUP_WIDTH},height=${POPUP_HEIGHT},left=${left},top=${top}`;
}

/**
 * One popup sign-in's window: where it is sent, and the response it hands back. The response
 * is taken only from this origin, only for this attempt's state and redirect page, and only
 * from this popup (MessageEvent.source) or, once the popup's link is cut, from the channel.
 */
class PopupAttempt {
  navigated = false;
  /** The popup's page answered: the response is being checked, a close changes nothing. */
  responded = false;
  /** Ended for good: no response is taken any more, and a sign-in still on its way is refused. */
  ended = false;
  readonly response: Promise<URL>;
  private resolveResponse!: (url: URL) => void;
  private rejectResponse!: (error: AuthError) => void;
  private state: string | null = null;
  private readonly timeoutTimer: TimerHandle;
  private readonly channel: BroadcastChannel | null;

  constructor(
    private readonly window: Window,
    readonly popup: Window,
    private readonly appOrigin: string,
    private readonly redirectUrl: URL,
    timeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.response = new Promise<URL>((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    // May settle when nobody waits for it any more (a failure ended the attempt first).
    this.response.catch(() => undefined);
    // On timeout, run() closes the popup (as on any failure).
    this.timeoutTimer = clock.setTimeout(() => {
      this.fail(new AuthError('timeout', ngDevMode ? 'The popup sign-in did not finish in time.' : '', true));
    }, timeoutMs);
    window.addEventListener('message', this.onMessage);
    const Channel = (window as Window & typeof globalThis).BroadcastChannel;
    this.channel = typeof Channel === 'function' ? new Channel(POPUP_CHANNEL) : null;
    if (this.channel) {
      // Only while the link is cut: a popup whose opener is intact posts to it, never here.
      this.channel.onmessage = (event: MessageEvent) => {
        if (this.popup.closed) this.accept(event.data);
      };
    }
  }

  /** Sends the popup to the authorization request; resolves with the response URL. */
  navigate(url: URL, state: string): Promise<URL> {
    if (this.ended) return this.response;
    if (this.popup.closed) {
      // Still on this origin (not yet sent to the OP): here `closed` is true only when it is.
      this.fail(new AuthError('popup_closed', ngDevMode ? 'The sign-in popup was closed before the sign-in finished.' : ''));
    } else {
      this.state = state;
      this.navigated = true;
      this.popup.location.replace(url.href);
    }
    return this.response;
  }

  closePopup(): void {
    try {
      if (!this.popup.closed) this.popup.close();
    } catch {
      // a handle the browser already let go of
    }
  }

  /** Removes every listener and timer; a response from now on is ignored. */
  end(): void {
    this.fail(new AuthError('popup_closed', ngDevMode ? 'The popup sign-in was ended: by a new popup sign-in, a logout, or a sign-in or sign-out in another tab.' : ''));
  }

  private readonly onMessage = (event: MessageEvent): void => {
    if (event.origin !== this.appOrigin || event.source !== this.popup) return;
    this.accept(event.data);
  };

  private accept(data: unknown): void {
    const message = data as { type?: unknown; url?: unknown } | null;
    if (this.ended || this.state === null || message?.type !== POPUP_MESSAGE || typeof message.url !== 'string') return;
    let url: URL;
    try {
      url = new URL(message.url);
    } catch {
      return;
    }
    const expected = this.redirectUrl;
    if (url.origin !== this.appOrigin || url.pathname !== expected.pathname || url.searchParams.get('state') !== this.state) return;
    this.responded = true;
    this.removeListeners();
    this.resolveResponse(url);
  }

  private fail(error: AuthError): void {
    this.ended = true;
    this.removeListeners();
    this.rejectResponse(error);
  }

  private removeListeners(): void {
    this.clock.clearTimeout(this.timeoutTimer);
    this.window.removeEventListener('message', this.onMessage);
    this.channel?.close();
  }
}
