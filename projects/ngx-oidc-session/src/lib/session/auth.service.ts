import { Injectable, inject } from '@angular/core';
import * as oauth from 'oauth4webapi';
import { Observable } from 'rxjs';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthError, isAuthError } from '../errors';
import { AuthorizationAttempt, OidcProtocol } from '../protocol/oidc-protocol';
import { ATTEMPT_STORAGE } from '../storage/storage-tokens';
import { AUTH_CLOCK } from '../time/clock';
import { AuthEvent, AuthState, LoginOptions, LogoutOptions, LogoutResult } from './auth-state';
import { AuthStateHub } from './auth-events';
import { AuthBrowser } from './browser';
import { Session, UserClaims, supersedes, userClaimsOf } from './session';
import { SessionStore } from './session-store';
import { RenewScheduler } from '../renew/renew-scheduler';
import { isExpiring } from '../renew/renew-timing';
import { TabCoordinator } from '../tabs/tab-coordinator';

interface StoredAttempt extends AuthorizationAttempt {
  readonly returnUrl: string;
  readonly createdAt: number;
}

/**
 * How long a new tab waits for a live tab that holds a session to hand it over. Answers take
 * milliseconds; the bound matters only for a tab that cannot answer (frozen in the background).
 */
const NEW_TAB_WAIT_MS = 3_000;
/** The wait without Web Locks, where a new tab cannot know whether any tab holds a session. */
const NEW_TAB_BLIND_WAIT_MS = 300;
/** How long a logout waits for another tab to hand over the newest refresh token to revoke. */
const LOGOUT_PATIENCE_MS = 1_000;
/** A sign-in attempt older than this is stale: its callback is refused. */
const ATTEMPT_MAX_AGE_MS = 30 * 60 * 1000;

/**
 * The app's entry point: the auth state as observables and signals, sign-in, sign-out and
 * the access token. Provided by provideAuth() / AuthModule.forRoot().
 */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly config = inject(AUTH_CONFIG);
  private readonly protocol = inject(OidcProtocol);
  private readonly store = inject(SessionStore);
  private readonly hub = inject(AuthStateHub);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly attempts = inject(ATTEMPT_STORAGE);
  private readonly renewer = inject(RenewScheduler);
  private readonly tabs = inject(TabCoordinator);
  private readonly attemptKey = `${this.config.storageNamespace}:sign-in`;
  private readonly logoutStateKey = `${this.config.storageNamespace}:sign-out`;
  private initialized: Promise<void> | null = null;

  /** The auth state; replays the current state to new subscribers. */
  readonly state$: Observable<AuthState> = this.hub.state$;
  readonly isAuthenticated$: Observable<boolean> = this.hub.isAuthenticated$;
  readonly user$: Observable<UserClaims | null> = this.hub.user$;
  /** Sign-in, sign-out, renewal and error events, as they happen (no replay). */
  readonly events$: Observable<AuthEvent> = this.hub.events$;
  /** The auth state as a signal, for templates and zoneless apps. */
  readonly state = this.hub.state;
  readonly isAuthenticated = this.hub.isAuthenticated;
  readonly user = this.hub.user;

  constructor() {
    this.renewer.attach({
      onRenewed: (session) => this.publishRenewed(session),
      onSessionEnded: (error) => this.endSession(error),
    });
    this.tabs.listen({
      onSession: (session) => this.takeSessionFromOtherTab(session),
      onSignedOut: () => this.signOutFromOtherTab(),
      currentSession: () => this.store.session(),
    });
  }

  /**
   * Decides the initial state: handles an authorization or logout callback in the URL, or
   * restores the stored session. Run once at app start by provideAuth(); safe to call again.
   */
  initialize(): Promise<void> {
    this.initialized ??= this.runInitialize();
    return this.initialized;
  }

  private async runInitialize(): Promise<void> {
    if (!this.browser.isBrowser) return; // the server never has a session; the state stays unknown
    const url = new URL(this.browser.href);
    this.handleLogoutReturn(url);
    if (this.isAuthorizationCallback(url)) {
      await this.handleCallback(url);
      return;
    }
    let session = this.store.load();
    if (!session && this.tabs.enabled) {
      // A new tab of a signed-in user: the live tabs hand over the session, no redirect.
      // Holder locks say whether any tab holds a session; without Web Locks, ask blind.
      const holders = await this.tabs.holders();
      if (holders === null || holders.length > 0) {
        const handedOver = await this.tabs.requestSession(holders ? NEW_TAB_WAIT_MS : NEW_TAB_BLIND_WAIT_MS);
        // A renewal broadcast taken in while waiting is newer than any answer.
        session = this.store.session() ?? handedOver;
        if (session && session === handedOver) this.store.set(session);
      }
    }
    if (!session) {
      this.hub.setState({ status: 'unauthenticated', user: null, accessTokenExpiresAt: null, error: null });
      return;
    }
    if (!isExpiring(session.expiresAt, session.receivedAt, this.clock.now())) {
      // A stored, still valid session: restored with no request to the OP.
      this.publish(session);
      return;
    }
    try {
      // Expired but maybe renewable: renew before the app is told it is authenticated.
      await this.renewer.renew('start-up');
    } catch (error) {
      // Permanent: the renewer ended the session. Transient (OP unreachable): the session is
      // kept with the error shown, and the renewer retries; the user is not signed out.
      const kept = this.store.session();
      if (kept) this.publish(kept, this.asAuthError(error));
    }
  }

  /**
   * Starts an interactive sign-in: the browser leaves for the OP and comes back to the
   * redirect URL. The returned promise settles only if the navigation fails to start.
   */
  async login(options: LoginOptions = {}): Promise<void> {
    if (!this.browser.isBrowser) {
      throw new AuthError('not_in_browser', 'login() needs a browser; it was called during server-side rendering.');
    }
    const returnUrl = this.safeReturnUrl(options.returnUrl);
    const params: Record<string, string> = { ...options.params };
    if (options.prompt) params['prompt'] = options.prompt;
    if (options.loginHint) params['login_hint'] = options.loginHint;
    if (options.acrValues) params['acr_values'] = options.acrValues;
    try {
      const { url, attempt } = await this.protocol.createAuthorizationRequest({ redirectUri: this.config.redirectUrl, params });
      const stored: StoredAttempt = { ...attempt, returnUrl, createdAt: this.clock.now() };
      this.attempts.setItem(this.attemptKey, JSON.stringify(stored));
      this.hub.emit({ type: 'sign_in_started', at: this.clock.now() });
      this.browser.navigate(url.href);
    } catch (error) {
      const authError = isAuthError(error) ? error : new AuthError('invalid_response', 'Sign-in could not start.');
      this.hub.fail(authError, this.clock.now(), this.hub.snapshot.status === 'authenticated' ? 'authenticated' : 'unauthenticated');
      throw authError;
    }
  }

  /**
   * Signs out: revokes the refresh token (RFC 7009) when there is one, clears the session,
   * then sends the browser to the OP's end-session endpoint (RP-Initiated Logout 1.0).
   */
  async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    const session = this.store.session();
    let error: AuthError | null = null;
    let refreshTokenRevoked = false;
    this.renewer.stop();
    if (!options.localOnly && session?.refreshToken && this.browser.isBrowser) {
      try {
        // The newest refresh token of any tab: a tab that is behind holds a spent one.
        const newest = await this.tabs.exclusive(async () => {
          const standing = await this.tabs.standing(session, LOGOUT_PATIENCE_MS);
          return 'session' in standing ? standing.session : session;
        });
        refreshTokenRevoked = await this.protocol.revoke(newest.refreshToken ?? session.refreshToken, 'refresh_token');
      } catch (revokeError) {
        error = isAuthError(revokeError) ? revokeError : new AuthError('revocation_failed', 'The refresh token could not be revoked.');
      }
    }
    this.store.clear();
    // A renewal that started while the refresh token was being revoked must not store its result.
    this.renewer.stop();
    await this.tabs.announceSignOut();
    this.hub.setState({ status: 'unauthenticated', user: null, accessTokenExpiresAt: null, error: null });
    this.hub.emit({ type: 'signed_out', at: this.clock.now(), reason: 'logout' });
    if (!this.browser.isBrowser) return { outcome: 'local', reason: 'not_in_browser', refreshTokenRevoked, error };
    if (options.localOnly) return { outcome: 'local', reason: 'local_only', refreshTokenRevoked, error };

    let endSession: URL | null = null;
    const state = oauth.generateRandomState();
    try {
      const postLogout = options.postLogoutRedirectUrl
        ? new URL(options.postLogoutRedirectUrl, this.browser.origin).href
        : this.config.postLogoutRedirectUrl;
      endSession = await this.protocol.endSessionUrl({ idTokenHint: session?.idToken, postLogoutRedirectUri: postLogout, state });
    } catch (discoveryError) {
      error ??= isAuthError(discoveryError) ? discoveryError : null;
    }
    if (!endSession) return { outcome: 'local', reason: 'no_end_session_endpoint', refreshTokenRevoked, error };
    this.attempts.setItem(this.logoutStateKey, state);
    this.browser.navigate(endSession.href);
    return { outcome: 'redirected', refreshTokenRevoked, error };
  }

  /**
   * A valid access token: the current one, or a renewed one when it is about to expire.
   * Rejects with an AuthError (`no_session`, or the renewal's failure) when there is none.
   */
  async getAccessToken(): Promise<string> {
    await this.initialize();
    const session = this.store.session();
    if (!session) throw new AuthError('no_session', 'There is no signed-in session.');
    if (!isExpiring(session.expiresAt, session.receivedAt, this.clock.now())) return session.accessToken;
    const renewed = await this.renewer.renew('token-request');
    return renewed.accessToken;
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
    const stored = this.takeAttempt();
    // Whatever happens next, code and state leave the address bar and the history entry.
    this.browser.replaceUrl(stored?.returnUrl ?? this.cleanUrl(url));
    try {
      if (!stored) {
        throw new AuthError('state_mismatch', 'The authorization response matches no sign-in attempt started in this browser.');
      }
      let session = await this.protocol.completeAuthorization(url, stored);
      if (this.config.loadUserInfo) {
        try {
          session = { ...session, userInfo: await this.protocol.fetchUserInfo(session) };
        } catch (userInfoError) {
          // The sign-in stands; the userinfo claims are discarded and the failure reported.
          this.hub.emit({ type: 'error', at: this.clock.now(), error: this.asAuthError(userInfoError) });
        }
      }
      const signedIn = session;
      // Under the renewal lock, like a renewal: the ledger must name this sign-in before any
      // tab renews the session it replaces.
      await this.tabs.exclusive(async () => {
        this.store.set(signedIn);
        this.publish(signedIn);
        await this.tabs.commit(signedIn);
      });
      this.hub.emit({ type: 'signed_in', at: this.clock.now(), user: userClaimsOf(signedIn) });
    } catch (error) {
      this.store.clear();
      this.hub.fail(this.asAuthError(error), this.clock.now());
    }
  }

  private takeAttempt(): StoredAttempt | null {
    const text = this.attempts.getItem(this.attemptKey);
    this.attempts.removeItem(this.attemptKey); // one use only, whatever the outcome
    try {
      const attempt = JSON.parse(text ?? 'null') as Partial<StoredAttempt> | null;
      const fresh = typeof attempt?.createdAt === 'number' && this.clock.now() - attempt.createdAt < ATTEMPT_MAX_AGE_MS;
      const complete = ['state', 'nonce', 'codeVerifier', 'redirectUri', 'returnUrl'].every(
        (field) => typeof attempt?.[field as keyof StoredAttempt] === 'string',
      );
      return fresh && complete ? (attempt as StoredAttempt) : null;
    } catch {
      return null;
    }
  }

  private handleLogoutReturn(url: URL): void {
    const expected = this.attempts.getItem(this.logoutStateKey);
    if (expected === null || url.searchParams.get('state') !== expected || url.searchParams.has('code')) return;
    this.attempts.removeItem(this.logoutStateKey);
    this.browser.replaceUrl(this.cleanUrl(url));
  }

  private cleanUrl(url: URL): string {
    const clean = new URL(url.href);
    for (const name of ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri']) {
      clean.searchParams.delete(name);
    }
    return clean.pathname + clean.search + clean.hash;
  }

  /** Only same-origin, app-relative return URLs: anything else would be an open redirect. */
  private safeReturnUrl(returnUrl: string | undefined): string {
    if (returnUrl === undefined) {
      const here = new URL(this.browser.href);
      return this.cleanUrl(here);
    }
    const resolved = new URL(returnUrl, this.browser.origin);
    if (resolved.origin !== this.browser.origin) {
      throw new AuthError('config_invalid', 'login({ returnUrl }) must be a URL of this app (same origin).');
    }
    return resolved.pathname + resolved.search + resolved.hash;
  }

  private publish(session: Session, error: AuthError | null = null): void {
    this.hub.setState({
      status: 'authenticated',
      user: userClaimsOf(session),
      accessTokenExpiresAt: session.expiresAt,
      error,
    });
    this.renewer.sessionChanged(session);
  }

  /** A renewal keeps the user claims the app already knows (userinfo is loaded at sign-in). */
  private publishRenewed(session: Session): void {
    this.hub.setState({ status: 'authenticated', user: userClaimsOf(session), accessTokenExpiresAt: session.expiresAt, error: null });
  }

  /** Another tab signed in or renewed: take its session if it supersedes ours. */
  private takeSessionFromOtherTab(session: Session): void {
    if (!supersedes(session, this.store.session())) return;
    const wasSignedIn = this.hub.snapshot.status === 'authenticated';
    this.renewer.adopt(session); // stores it, publishes it, and re-arms the timer
    if (!wasSignedIn) this.hub.emit({ type: 'signed_in', at: this.clock.now(), user: userClaimsOf(session) });
  }

  /** Another tab signed out: so does this one, without going to the OP itself. */
  private signOutFromOtherTab(): void {
    if (!this.store.session() && this.hub.snapshot.status !== 'authenticated') return;
    this.renewer.stop();
    this.store.clear();
    this.hub.setState({ status: 'unauthenticated', user: null, accessTokenExpiresAt: null, error: null });
    this.hub.emit({ type: 'signed_out', at: this.clock.now(), reason: 'other_tab' });
  }

  private endSession(error: AuthError | null): void {
    if (error?.code === 'stale_session') {
      // A tab left behind by the others' renewals ends alone: theirs is another matter.
      this.store.forget();
    } else {
      this.store.clear();
      void this.tabs.announceSignOut();
    }
    this.hub.setState({ status: 'unauthenticated', user: null, accessTokenExpiresAt: null, error });
    this.hub.emit({ type: 'session_expired', at: this.clock.now(), error });
    if (this.config.renew.signInWhenSessionEnds && this.browser.isBrowser) {
      // Back to where the user was, once they signed in again.
      this.login().catch(() => undefined);
    }
  }

  private asAuthError(error: unknown): AuthError {
    return isAuthError(error) ? error : new AuthError('invalid_response', 'Sign-in failed.');
  }
}
