import { Injectable, inject } from '@angular/core';
import { Observable, filter } from 'rxjs';
import type { AuthorizationServer } from 'oauth4webapi';
import { AuthEvent, AuthState, LoginOptions, LogoutOptions, LogoutResult } from './core/auth-state';
import { AUTH_CONFIG } from './core/config';
import { AuthError, isAuthError } from './core/errors';
import { isExpiring } from './core/renew-timing';
import { UserClaims } from './core/session';
import { DPOP_PROOFS } from './dpop/dpop-proofs';
import { PresentedToken, authorizationHeadersFor, matcherFor } from './http/token-headers';
import { DiscoveryCache } from './state/discovery-cache';
import { AuthBrowser } from './platform/browser';
import { POPUP_SIGN_IN } from './popup/popup-token';
import { AUTH_CLOCK } from './platform/clock';
import { ProtocolLoader } from './protocol/protocol-loader';
import { RenewScheduler } from './renew/renew-scheduler';
import { AuthEvents } from './state/auth-events';
import { SessionStore } from './state/session-store';
import { SignInAttempts, appPath, withoutResponseParams } from './state/sign-in-attempts';
import { START_UP_SIGN_IN } from './state/start-up-sign-in';
import { TabCoordinator } from './tabs/tab-coordinator';

/**
 * How long a new tab waits for a live tab that holds a session to hand it over. Answers take
 * milliseconds; the bound matters only for a tab that cannot answer (frozen in the background).
 */
const NEW_TAB_WAIT_MS = 3_000;
/** The wait without Web Locks, where a new tab cannot know whether any tab holds a session. */
const NEW_TAB_BLIND_WAIT_MS = 300;

/**
 * The app's entry point: the auth state as signals and observables, sign-in, sign-out and the
 * access token. Provided by provideAuth() / AuthModule.forRoot().
 */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly config = inject(AUTH_CONFIG);
  private readonly store = inject(SessionStore);
  private readonly protocol = inject(ProtocolLoader);
  private readonly attempts = inject(SignInAttempts);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly renewer = inject(RenewScheduler);
  private readonly tabs = inject(TabCoordinator);
  private readonly bus = inject(AuthEvents);
  /** withSilentSignIn(), when the app asked for it. */
  private readonly startUpSignIn = inject(START_UP_SIGN_IN, { optional: true });
  private readonly popup = inject(POPUP_SIGN_IN, { optional: true });
  /** withDPoP()'s proofs, when the app asked for DPoP. */
  private readonly dpop = inject(DPOP_PROOFS, { optional: true });
  private readonly discovery = inject(DiscoveryCache);
  private initialized: Promise<void> | null = null;

  /** The auth state; replays the current state to new subscribers. */
  readonly state$: Observable<AuthState> = this.store.authState$;
  readonly isAuthenticated$: Observable<boolean> = this.store.isAuthenticated$;
  readonly user$: Observable<UserClaims | null> = this.store.user$;
  /** Sign-in, sign-out, renewal and error events, as they happen (no replay). */
  readonly events$: Observable<AuthEvent> = this.bus.events$;
  /** The auth state as a signal, for templates and zoneless apps. */
  readonly state = this.store.authState;
  readonly isAuthenticated = this.store.isAuthenticated;
  readonly user = this.store.user;

  constructor() {
    if (this.config.renew.signInWhenSessionEnds && this.browser.isBrowser) {
      // Back to where the user was, once they signed in again.
      this.store.changes$.pipe(filter(({ cause }) => cause === 'ended' || cause === 'left-behind')).subscribe(() => void this.login().catch(() => undefined));
    }
  }

  /**
   * Decides the initial state: handles an authorization or logout callback in the URL, or
   * restores the stored session. Run once at app start by provideAuth(); safe to call again.
   */
  initialize(): Promise<void> {
    this.initialized ??= this.runInitialize().finally(() => this.protocol.prefetch());
    return this.initialized;
  }

  private async runInitialize(): Promise<void> {
    if (!this.browser.isBrowser) return; // the server never has a session; the state stays unknown
    if (ngDevMode && (this.config.logout !== undefined || this.config.tenantIssuer !== undefined)) {
      // Their checks live in the protocol chunk, so that apps without them do not ship them at
      // start; dev mode loads it to run them now, and refuses the start as resolveAuthConfig would.
      (await this.protocol.load()).client.checkProviderOptions();
    }
    const url = new URL(this.browser.href);
    if (this.attempts.takeLogoutState(url.searchParams.has('code') ? null : url.searchParams.get('state'))) {
      this.browser.replaceUrl(withoutResponseParams(url));
    }
    let refused: AuthError | null = null;
    if (this.isAuthorizationCallback(url)) {
      if (this.attempts.expects(url.searchParams.get('state'))) {
        await this.handleCallback(url);
        return;
      }
      // A callback of no sign-in of this tab: loaded again after sign-in (reload, history, a
      // pasted link) or crafted elsewhere. The code is not redeemed and the URL is cleaned;
      // the session, if there is one, stays as it is.
      this.browser.replaceUrl(withoutResponseParams(url));
      refused = new AuthError('state_mismatch', ngDevMode ? 'The authorization response matches no sign-in attempt started in this tab.' : '');
    }
    let session = this.store.load();
    if (!session && this.tabs.enabled) {
      // A new tab of a signed-in user: the live tabs hand over the session, no redirect.
      // Holder locks say whether any tab holds a session; without Web Locks, ask blind.
      const holders = await this.tabs.holderLocks();
      if (holders === null || holders.length > 0) {
        const handedOver = await this.tabs.requestSession(holders ? NEW_TAB_WAIT_MS : NEW_TAB_BLIND_WAIT_MS);
        // A renewal broadcast taken in while waiting is newer than any answer.
        session = this.store.session() ?? handedOver;
        if (session && session === handedOver) this.store.takeHandedOver(session);
      }
    }
    if (this.store.isAuthenticated()) return; // another tab's sign-in or renewal was taken in meanwhile
    if (!session && refused) {
      this.store.clear('sign-in-failed', refused);
      this.bus.emit({ type: 'error', at: this.clock.now(), error: refused });
      return;
    }
    // Not on a callback page (handled or refused above), nor back from this tab's logout (the
    // feature keeps a per-tab marker of it): only a page that opened with no session at all.
    if (!session && this.startUpSignIn) {
      await this.startUpSignIn.signIn();
      return;
    }
    if (!session || !isExpiring(session.expiresAt, session.receivedAt, this.clock.now())) {
      // No session, or a still valid one: decided with no request to the OP.
      this.store.restore();
      return;
    }
    try {
      // Expired but maybe renewable: renew before the app is told it is authenticated.
      await this.renewer.renew('start-up');
    } catch (error) {
      // Permanent: the renewer ended the session. Transient (OP unreachable): the session is
      // kept with the error shown, and the renewer retries; the user is not signed out.
      if (this.store.session()) this.store.fail(asAuthError(error));
    }
  }

  /**
   * Starts an interactive sign-in: the browser leaves for the OP and comes back to the
   * redirect URL. The returned promise settles only if the navigation fails to start.
   *
   * With `{ popup: true }` (and withPopupSignIn()) the sign-in runs in a popup window and the
   * page stays: the promise resolves once the user is signed in, and rejects with an AuthError
   * otherwise. Call it in a click handler, before any await, or the browser blocks the popup.
   */
  async login(options: LoginOptions = {}): Promise<void> {
    if (!this.browser.isBrowser) {
      throw new AuthError('not_in_browser', ngDevMode ? 'login() needs a browser; it was called during server-side rendering.' : '');
    }
    const returnUrl = this.safeReturnUrl(options.returnUrl);
    const params: Record<string, string> = { ...options.params };
    if (options.prompt) params['prompt'] = options.prompt;
    if (options.loginHint) params['login_hint'] = options.loginHint;
    if (options.acrValues) params['acr_values'] = options.acrValues;
    if (options.maxAge !== undefined) params['max_age'] = String(options.maxAge);
    if (options.popup) {
      if (!this.popup) {
        throw new AuthError('config_invalid', ngDevMode ? 'login({ popup: true }) needs the popup feature: provideAuth(config, withPopupSignIn()).' : '', false, { configKey: 'popup' });
      }
      // The popup opens synchronously, within this call: no await may come before it. The
      // feature reports its failures itself, once per attempt however many calls joined it.
      return this.popup.signIn(params);
    }
    try {
      await (await this.protocol.load()).signIn(params, returnUrl);
    } catch (error) {
      const authError = asAuthError(error);
      this.store.fail(authError);
      this.bus.emit({ type: 'error', at: this.clock.now(), error: authError });
      throw authError;
    }
  }

  /**
   * Signs out: revokes the refresh token (RFC 7009) when there is one, clears the session,
   * then sends the browser to the OP's end-session endpoint (RP-Initiated Logout 1.0).
   */
  async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    // Before anything else: a popup sign-in still on its way must not sign the user back in.
    this.popup?.cancel();
    const override = options.postLogoutRedirectUrl;
    if (override !== undefined && this.browser.isBrowser) {
      // Checked before anything is done, in production too: the OP sends the browser there.
      const origin = this.browser.origin;
      let target: URL | null = null;
      try {
        target = new URL(override, origin);
      } catch {
        // not a URL: refused below
      }
      if (target?.origin !== origin) {
        throw new AuthError('config_invalid', ngDevMode ? `logout({ postLogoutRedirectUrl }) must be a URL of this app (same origin ${origin}), e.g. "/signed-out".` : '', false, {
          configKey: 'postLogoutRedirectUrl',
        });
      }
    }
    const session = this.store.session();
    // No renewal nor silent sign-in started before this point may store its result.
    this.store.logouts++;
    this.renewer.stop();
    let error: AuthError | null = null;
    if (!options.localOnly && this.browser.isBrowser) {
      try {
        return await (await this.protocol.load()).logout(session, options);
      } catch (loadError) {
        error = asAuthError(loadError); // the protocol code is out of reach: sign out here at least
      }
    }
    // Here only: the other tabs follow, and take none of these token sets in again.
    this.store.clear('logout');
    const epoch = Math.max(session?.epoch ?? -1, this.tabs.announced()?.epoch ?? -1);
    if (epoch >= 0) this.tabs.postSignedOut({ epoch, chain: '', version: 0 }, true);
    this.bus.emit({ type: 'signed_out', at: this.clock.now(), reason: 'logout' });
    const reason = !this.browser.isBrowser ? 'not_in_browser' : options.localOnly ? 'local_only' : undefined;
    return { outcome: 'local', reason, refreshTokenRevoked: false, error };
  }

  /**
   * A valid access token: the current one, or a renewed one when it is about to expire.
   * Rejects with an AuthError (`no_session`, or the renewal's failure) when there is none.
   *
   * For a `Bearer` token (`state().tokenType`), send it as `Authorization: Bearer <token>`.
   * A `DPoP` token (withDPoP()) is bound to this browser's key: each request needs its own
   * proof as well, and the same token sent as a bearer token is refused (RFC 9449 7.1). Do
   * not build the headers from this value: use authorizationHeaders(), which returns both.
   */
  async getAccessToken(): Promise<string> {
    return (await this.ɵfreshTokens()).accessToken;
  }

  /**
   * Internal: getAccessToken()'s token, its type and key (for the interceptor and
   * authorizationHeaders()); never the refresh or ID token.
   */
  async ɵfreshTokens(): Promise<PresentedToken> {
    await this.initialize();
    let session = this.store.session();
    if (!session) throw new AuthError('no_session', ngDevMode ? 'There is no signed-in session.' : '');
    if (isExpiring(session.expiresAt, session.receivedAt, this.clock.now())) session = await this.renewer.renew('token-request');
    const { accessToken, tokenType, dpopJkt } = session;
    return { accessToken, tokenType, dpopJkt };
  }

  /**
   * The headers that authorize one request to one of `secureApis`, for code that does not go
   * through HttpClient (fetch, an SSE or WebSocket handshake through a server of the app):
   * `{ Authorization: 'Bearer <token>' }`, or with withDPoP() `{ Authorization: 'DPoP <token>',
   * DPoP: '<proof>' }`, a proof made for this method and URL only (RFC 9449 4.2). The token is
   * fresh, as getAccessToken()'s. Make the headers again for every request: a proof is good
   * for one request. Rejects with an AuthError: `url_not_allowed` for a URL outside
   * `secureApis` or one of the OP's (no token is given out for it), `no_session`, or a renewal's failure.
   *
   * ```ts
   * const headers = await auth.authorizationHeaders('GET', url);
   * let response = await fetch(url, { headers });
   * const nonce = response.headers.get('DPoP-Nonce');
   * if (nonce) auth.rememberDPoPNonce(url, nonce);
   * if (response.status === 401 && nonce && /use_dpop_nonce/.test(response.headers.get('WWW-Authenticate') ?? '')) {
   *   response = await fetch(url, { headers: await auth.authorizationHeaders('GET', url) }); // once
   * }
   * ```
   *
   * @param method the HTTP method, as given to fetch(): DELETE, GET, HEAD, OPTIONS, POST and PUT in any case
   *   (fetch() upper-cases them), any other exactly as sent; with withDPoP() upper-case (`PATCH`:
   *   `patch` is refused with `config_invalid`, the proof could not match it), and never one
   *   fetch() forbids (CONNECT, TRACE, TRACK: `config_invalid`)
   * @param url the request URL, absolute or relative to the page
   */
  async authorizationHeaders(method: string, url: string): Promise<{ Authorization: string; DPoP?: string }> {
    if (!this.browser.isBrowser) throw new AuthError('not_in_browser', ngDevMode ? 'authorizationHeaders() needs a browser.' : '');
    const absolute = this.allowedUrl(url, this.discovery.read());
    // The method as fetch() sends it (the Fetch standard's "normalize": DELETE, GET, HEAD,
    // OPTIONS, POST and PUT upper-cased, any other as given; withDPoP() refuses one not
    // upper-case then). One fetch() forbids (CONNECT, TRACE, TRACK) is refused, typed.
    let sent = '';
    try {
      sent = new Request(absolute, { method }).method;
    } catch {
      throw new AuthError('config_invalid', ngDevMode ? `authorizationHeaders(): fetch() does not send the method "${method}".` : '');
    }
    const tokens = await this.ɵfreshTokens();
    if (!this.discovery.read()) {
      // As the interceptor: the OP's endpoints outside its issuer path are learnt before a token leaves.
      this.allowedUrl(url, await (await this.protocol.load()).client.discover());
    }
    return authorizationHeadersFor(tokens, sent, () => absolute, this.dpop);
  }

  /**
   * Remembers the nonce a resource server sent in a `DPoP-Nonce` response header (RFC 9449 9),
   * so that the next proofs for its origin carry it; for requests made without HttpClient (the
   * interceptor does this itself). Does nothing without withDPoP(). Throws `url_not_allowed`
   * for a URL outside `secureApis`.
   */
  rememberDPoPNonce(url: string, nonce: string): void {
    if (!this.browser.isBrowser || !this.dpop) return;
    this.dpop.rememberNonce(this.allowedUrl(url, this.discovery.read()), nonce);
  }

  /** The absolute URL when the interceptor would send the token there (the same matcher), else `url_not_allowed`. */
  private allowedUrl(url: string, metadata: AuthorizationServer | null): string {
    if (!matcherFor(this.config, this.browser.origin, this.browser.baseUrl, metadata).matches(url)) {
      throw new AuthError('url_not_allowed', ngDevMode ? `${url} is not in secureApis, or is one of the OP's URLs: no token is given out for it.` : '');
    }
    return new URL(url, this.browser.baseUrl).href;
  }

  /** Forces a renewal now (shared with any renewal already in progress). */
  async renew(): Promise<void> {
    await this.initialize();
    await this.renewer.renew('forced');
  }

  private isAuthorizationCallback(url: URL): boolean {
    const redirect = new URL(this.config.redirectUrl);
    return (
      url.origin === redirect.origin &&
      url.pathname === redirect.pathname &&
      url.searchParams.has('state') &&
      (url.searchParams.has('code') || url.searchParams.has('error'))
    );
  }

  private async handleCallback(url: URL): Promise<void> {
    try {
      await (await this.protocol.load()).completeSignIn(url);
    } catch (error) {
      // The chunk did not load, or failed before it cleaned the address bar: no code stays there.
      const here = new URL(this.browser.href);
      if (here.searchParams.has('code') || here.searchParams.has('state')) this.browser.replaceUrl(withoutResponseParams(here));
      const authError = asAuthError(error);
      this.store.clear('sign-in-failed', authError);
      this.bus.emit({ type: 'error', at: this.clock.now(), error: authError });
    }
  }

  /**
   * Only same-origin, app-relative return URLs: anything else would be an open redirect. An
   * absolute URL of another origin is the app's mistake (`config_invalid`); a path that leaves
   * the app once normalized (`/.//evil.example`, also as the match guard decodes it) becomes `/`.
   */
  private safeReturnUrl(returnUrl: string | undefined): string {
    const origin = this.browser.origin;
    if (returnUrl === undefined) return withoutResponseParams(new URL(this.browser.href));
    let resolved: URL | null = null;
    try {
      resolved = new URL(returnUrl, origin);
    } catch {
      // not a URL at all: treated as a path that leads nowhere safe
    }
    if (/^[a-z][a-z\d+.-]*:/i.test(returnUrl) && resolved?.origin !== origin) {
      throw new AuthError('config_invalid', ngDevMode ? 'login({ returnUrl }) must be a URL of this app (same origin).' : '');
    }
    return resolved ? appPath(resolved, origin) : '/';
  }
}

function asAuthError(error: unknown): AuthError {
  return isAuthError(error) ? error : new AuthError('invalid_response', ngDevMode ? 'Sign-in failed.' : '');
}
