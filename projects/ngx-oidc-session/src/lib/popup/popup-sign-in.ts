import { NgZone, inject } from '@angular/core';
import { AUTH_CONFIG, checkAppUrl, resolveAppUrl } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { AuthFeature, authFeature } from '../provide-auth';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK, Clock, TimerHandle } from '../platform/clock';
import { ProtocolLoader } from '../protocol/protocol-loader';
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
/**
 * How long after the popup is seen closed a response may still come: its page posts the
 * response and then closes itself, and a BroadcastChannel message can arrive after the focus
 * the closing gives back to this window.
 */
export const CLOSED_GRACE_MS = 2_000;

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
   * 300, between 10 and 3600). Then login() rejects with `timeout` and the popup is closed.
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

/** One instance per auth instance (provided by the feature, never in root). */
class PopupSignIn implements PopupSignInStarter {
  private readonly config = inject(AUTH_CONFIG);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly protocol = inject(ProtocolLoader);
  private readonly zone = inject(NgZone);
  private readonly redirectUrl: string;
  private readonly timeoutMs: number;
  /** The attempt whose popup is open, and its outcome: a second login() joins it. */
  private current: { readonly attempt: PopupAttempt; readonly done: Promise<void> } | null = null;
  /** Ends an attempt whose popup was seen closed but may still answer (see run()). */
  private lingering: (() => void) | null = null;

  constructor(options: PopupSignInOptions) {
    const given = options.redirectUrl ?? this.config.renew.silentRenewUrl ?? '/silent-renew.html';
    const key = 'popup.redirectUrl';
    const origin = this.browser.isBrowser ? this.browser.origin : null;
    this.redirectUrl = resolveAppUrl(given, key, origin ?? 'http://server.invalid');
    if (origin !== null) {
      // Kept in production, as for the other callback pages: the code lands there.
      checkAppUrl(this.redirectUrl, key, origin, given);
      if (new URL(this.redirectUrl).pathname === new URL(this.config.redirectUrl).pathname) {
        // The app at redirectUrl would take the popup's response for a redirect sign-in of its own.
        throw new AuthError('config_invalid', ngDevMode ? `ngx-oidc-session: withPopupSignIn({ redirectUrl }) must be another page than redirectUrl: use the static page ng add generates, "/silent-renew.html".` : '', false, { configKey: key });
      }
    }
    const seconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (typeof seconds !== 'number' || !(seconds >= 10 && seconds <= 3600)) {
      throw new AuthError('config_invalid', ngDevMode ? `ngx-oidc-session: withPopupSignIn({ timeoutSeconds }) must be a number of seconds between 10 and 3600 (got ${String(seconds)}).` : '', false, { configKey: 'popup.timeoutSeconds' });
    }
    this.timeoutMs = seconds * 1000;
  }

  signIn(params: Record<string, string>): Promise<void> {
    const window = this.browser.window;
    if (!window) return Promise.reject(new AuthError('not_in_browser', ngDevMode ? 'Popup sign-in needs a browser.' : ''));
    const current = this.current;
    if (current && (current.attempt.responded || !current.attempt.popup.closed)) {
      // A second click while the popup is open (or its answer is being checked): bring it to
      // the front; one sign-in at a time, and both calls get its outcome.
      current.attempt.popup.focus();
      return current.done;
    }
    current?.attempt.seenClosed();
    this.lingering?.();
    // Before any await: browsers let a popup through only within the click's user activation.
    // It opens blank (same origin) and goes to the OP once the request is built.
    const popup = window.open('about:blank', '_blank', popupFeatures(window));
    if (!popup || popup.closed) {
      return Promise.reject(new AuthError('popup_blocked', ngDevMode ? 'The browser blocked the sign-in popup: call login({ popup: true }) in a click handler, before any await.' : ''));
    }
    // Its timers and listeners outside the Angular zone: a popup open for minutes must not keep
    // the app from being stable. The outcome reaches the app through its promise and the store.
    const attempt = this.zone.runOutsideAngular(() => new PopupAttempt(window, popup, this.browser.origin, new URL(this.redirectUrl), this.timeoutMs, this.clock));
    const done = this.run(attempt, params);
    this.current = { attempt, done };
    const settle = () => {
      if (this.current?.attempt === attempt) this.current = null;
    };
    done.then(settle, settle);
    return done;
  }

  private async run(attempt: PopupAttempt, params: Record<string, string>): Promise<void> {
    const signIn = this.protocol.load().then((onDemand) => onDemand.signInWithPopup(params, this.redirectUrl, (url, state) => attempt.navigate(url, state)));
    try {
      await Promise.race([signIn, attempt.closed]);
    } catch (error) {
      attempt.closePopup();
      if (isAuthError(error) && error.code === 'popup_closed' && attempt.navigated) {
        // Seen closed while at the OP. With a Cross-Origin-Opener-Policy there, the browser
        // reports the popup closed although the user may still be signing in: its response,
        // should it come (on the BroadcastChannel), still signs the user in, until the timeout.
        const end = () => attempt.end();
        this.lingering = end;
        void signIn.then(end, end).finally(() => {
          if (this.lingering === end) this.lingering = null;
        });
      } else {
        attempt.end();
      }
      throw error;
    }
    attempt.end();
  }
}

/** A popup of a sensible size, centred on the app's window. */
function popupFeatures(window: Window): string {
  const centre = (start: number, outer: number, size: number) => Math.max(0, Math.round((Number.isFinite(start) ? start : 0) + ((Number.isFinite(outer) ? outer : size) - size) / 2));
  const left = centre(window.screenX, window.outerWidth, POPUP_WIDTH);
  const top = centre(window.screenY, window.outerHeight, POPUP_HEIGHT);
  return `popup=yes,width=${POPUP_WIDTH},height=${POPUP_HEIGHT},left=${left},top=${top}`;
}

/**
 * One popup sign-in's window: where it is sent, the response it hands back, and whether the
 * user closed it. The response is taken only from this origin, only for this attempt's state
 * and redirect page, and only from this popup (MessageEvent.source) or from the channel.
 *
 * Closing is noticed without polling the popup (a cross-origin window): when the user is back
 * in this window (focus, the page becoming visible, a click or key press), `closed` is read
 * once. The overall timeout covers the rest.
 */
class PopupAttempt {
  navigated = false;
  /** The popup's page answered: the response is being checked, a close changes nothing. */
  responded = false;
  /** Rejects with `popup_closed` once the popup was seen closed and no response came. */
  readonly closed: Promise<never>;
  readonly response: Promise<URL>;
  private rejectClosed!: (error: AuthError) => void;
  private resolveResponse!: (url: URL) => void;
  private rejectResponse!: (error: AuthError) => void;
  private state: string | null = null;
  private graceTimer: TimerHandle | null = null;
  private readonly timeoutTimer: TimerHandle;
  private readonly channel: BroadcastChannel | null;
  private readonly backEvents: readonly [EventTarget, string][];

  constructor(
    private readonly window: Window,
    readonly popup: Window,
    private readonly appOrigin: string,
    private readonly redirectUrl: URL,
    timeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.closed = new Promise<never>((_, reject) => (this.rejectClosed = reject));
    this.response = new Promise<URL>((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    // Either may settle when nobody waits for it any more (a failure ended the attempt first).
    this.closed.catch(() => undefined);
    this.response.catch(() => undefined);
    // On timeout, run() closes the popup (as on any failure).
    this.timeoutTimer = clock.setTimeout(() => {
      this.fail(new AuthError('timeout', ngDevMode ? 'The popup sign-in did not finish in time.' : '', true));
    }, timeoutMs);
    this.backEvents = [
      [window, 'focus'],
      [window.document, 'visibilitychange'],
      [window, 'pointerdown'],
      [window, 'keydown'],
    ];
    for (const [target, type] of this.backEvents) target.addEventListener(type, this.userIsBack, true);
    window.addEventListener('message', this.onMessage);
    const Channel = (window as Window & typeof globalThis).BroadcastChannel;
    this.channel = typeof Channel === 'function' ? new Channel(POPUP_CHANNEL) : null;
    if (this.channel) this.channel.onmessage = (event: MessageEvent) => this.accept(event.data);
  }

  /** Sends the popup to the authorization request; resolves with the response URL. */
  navigate(url: URL, state: string): Promise<URL> {
    if (this.popup.closed) {
      // Still on this origin (not yet sent to the OP): `closed` is true only when it is.
      this.seenClosed();
    } else {
      this.state = state;
      this.navigated = true;
      this.popup.location.replace(url.href);
    }
    return this.response;
  }

  /** The user closed the popup (or a second login found it closed). */
  seenClosed(): void {
    if (this.responded) return;
    this.stopWatchingClose();
    this.rejectClosed(new AuthError('popup_closed', ngDevMode ? 'The sign-in popup was closed before the sign-in finished.' : ''));
    if (!this.navigated) this.fail(new AuthError('popup_closed', ''));
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
    this.fail(new AuthError('popup_closed', ''));
  }

  private readonly userIsBack = (): void => {
    if (this.responded || this.graceTimer !== null || !this.popup.closed) return;
    // A response may be on its way: its page posts it and then closes itself.
    this.graceTimer = this.clock.setTimeout(() => {
      this.graceTimer = null;
      if (!this.responded) this.seenClosed();
    }, CLOSED_GRACE_MS);
  };

  private readonly onMessage = (event: MessageEvent): void => {
    if (event.origin !== this.appOrigin || event.source !== this.popup) return;
    this.accept(event.data);
  };

  private accept(data: unknown): void {
    const message = data as { type?: unknown; url?: unknown } | null;
    if (this.state === null || message?.type !== POPUP_MESSAGE || typeof message.url !== 'string') return;
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
    this.removeListeners();
    this.rejectResponse(error);
  }

  private stopWatchingClose(): void {
    for (const [target, type] of this.backEvents) target.removeEventListener(type, this.userIsBack, true);
    if (this.graceTimer !== null) this.clock.clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private removeListeners(): void {
    this.stopWatchingClose();
    this.clock.clearTimeout(this.timeoutTimer);
    this.window.removeEventListener('message', this.onMessage);
    this.channel?.close();
  }
}
