// The protocol chunk's entry, loaded with import() by ProtocolLoader: everything a page needs
// only when it talks to the OP or hands tokens between tabs under the renewal lock.
import { LogoutOptions, LogoutResult, RenewTrigger } from '../core/auth-state';
import { AuthError, isAuthError } from '../core/errors';
import { classifyFailure, renewAt } from '../core/renew-timing';
import { Session, sameSession, supersedes, userClaimsOf } from '../core/session';
import { AuthBrowser } from '../platform/browser';
import { AuthEvents } from '../state/auth-events';
import { SessionStore } from '../state/session-store';
import { SignInAttempts, StoredAttempt, appPath, withoutResponseParams } from '../state/sign-in-attempts';
import { RenewalLedger } from '../tabs/renewal-ledger';
import { TabCoordinator } from '../tabs/tab-coordinator';
import { TabHandover } from '../tabs/tab-handover';
import { generateRandomState } from 'oauth4webapi';
import type { DPoPKeys } from '../dpop/dpop-support';
import { OidcClient, OidcClientContext } from './oidc-client';

/** A sign-in attempt older than this is stale: its callback is refused. */
const ATTEMPT_MAX_AGE_MS = 30 * 60 * 1000;
/** How long a logout waits for another tab to hand over the newest refresh token to revoke. */
const LOGOUT_PATIENCE_MS = 1_000;

export interface OnDemandContext extends OidcClientContext {
  /** Calls back after the given milliseconds of real time, outside the Angular zone; returns a cancel function. */
  readonly setTimer: (callback: () => void, ms: number) => () => void;
  readonly store: SessionStore;
  readonly tabs: TabCoordinator;
  readonly events: AuthEvents;
  readonly attempts: SignInAttempts;
  readonly browser: AuthBrowser;
}


/** How the renew scheduler follows one renewal: whether it still wants it, and when it is done. */
export interface RenewalRun {
  /** False once the session ended or was signed out meanwhile: no result may be stored. */
  current(): boolean;
  /** Called just before the result is stored: a trigger from then on starts a new renewal. */
  settle(): void;
}

export class OnDemand {
  readonly client: OidcClient;
  readonly handover: TabHandover;
  /**
   * A logout of this tab has begun and not yet chosen what to revoke: a renewal that finishes
   * meanwhile leaves its tokens to it. (Without Web Locks the logout does not wait for the
   * renewal, and may have chosen already: then the renewal revokes its tokens itself.)
   */
  private logoutPending = false;
  /** The token set a renewal received but did not store because this tab was signing out. */
  private discarded: Session | null = null;

  constructor(private readonly context: OnDemandContext) {
    this.client = new OidcClient({ ...context, dpop: context.store.dpop });
    // Real time on purpose: a watchdog on IndexedDB, not a timing rule of the session.
    const ledger = new RenewalLedger(context.tabs.enabled ? (context.window?.indexedDB ?? null) : null, context.config.storageNamespace, context.setTimer);
    this.handover = new TabHandover(context.tabs, context.store, ledger, () => context.clock.now());
  }

  /**
   * One renewal, under the lock shared by every tab: check, lock, check again, act. A tab
   * that gets the lock after another one renewed takes that tab's tokens instead of renewing.
   */
  renew(before: Session, trigger: RenewTrigger, run: RenewalRun): Promise<Session> {
    const { store, events, tabs, clock, config } = this.context;
    const stillWanted = () => {
      if (!run.current()) throw new AuthError('no_session', ngDevMode ? 'The session ended while it was being renewed.' : '');
    };
    const adopt = (session: Session) => {
      run.settle();
      tabs.takeOver(session);
      return session;
    };
    return tabs.exclusive(async () => {
      stillWanted();
      const standing = await this.handover.standing(store.session() ?? before);
      // Asking the other tabs can take a moment: a logout meanwhile must not be undone.
      stillWanted();
      switch (standing.kind) {
        case 'signed-out':
          store.clear('other-tab');
          events.emit({ type: 'signed_out', at: clock.now(), reason: 'other_tab' });
          throw new AuthError('no_session', ngDevMode ? 'The user signed out in another tab.' : '');
        case 'unavailable':
          throw new AuthError('timeout', ngDevMode ? 'Another tab holds newer tokens and has not handed them over yet; retrying later.' : '', true);
        case 'spent':
          throw new AuthError('stale_session', ngDevMode ? 'Another tab renewed the session, and no open tab holds the new tokens any more.' : '');
      }
      const newest = standing.session;
      const due = clock.now() >= renewAt(newest.expiresAt, newest.receivedAt, config.renew.leadTimeSeconds);
      if (!sameSession(newest, before) && !due) return adopt(newest);
      events.emit({ type: 'renew_started', at: clock.now(), trigger });
      let renewed: Session;
      try {
        renewed = newest.refreshToken && config.renew.strategy === 'refresh_token' ? await this.client.refresh(newest) : await this.client.silentRenew(newest);
      } catch (error) {
        // Another tab may have won a race this tab could not see (no Web Locks): the OP then
        // refuses this tab's refresh token, and the winner's tokens are the way forward.
        const winner = isAuthError(error) && classifyFailure(error) === 'permanent' ? await this.handover.standing(newest) : null;
        stillWanted();
        if (winner?.kind === 'handed-over' && supersedes(winner.session, newest)) return adopt(winner.session);
        throw error;
      }
      if (!run.current()) {
        // Signed out while the OP answered: its new refresh token must not stay valid. A logout
        // of this tab revokes it (and reports it); otherwise it is revoked here.
        if (this.logoutPending) this.discarded = renewed;
        else if (renewed.refreshToken !== newest.refreshToken) void this.client.revoke(renewed.refreshToken!, 'refresh_token').catch(() => undefined);
        stillWanted();
      }
      run.settle();
      store.set(renewed, 'renewed');
      events.emit({ type: 'token_renewed', at: clock.now(), expiresAt: renewed.expiresAt });
      // Still under the lock: the next tab to take it must find the ledger updated.
      await this.handover.commit(renewed);
      return renewed;
    });
  }

  /** Sends the browser to the OP for an interactive sign-in that returns to `returnUrl`. */
  async signIn(params: Record<string, string>, returnUrl: string): Promise<void> {
    const { attempts, events, clock, browser, config } = this.context;
    const { url, attempt } = await this.client.authorizationRequest({ redirectUri: config.redirectUrl, params });
    const stored: StoredAttempt = { ...attempt, returnUrl, createdAt: clock.now() };
    attempts.storage.setItem(attempts.attemptKey, JSON.stringify(stored));
    events.emit({ type: 'sign_in_started', at: clock.now() });
    browser.navigate(url.href);
  }

  /**
   * A sign-in in a popup window: the same authorization request as signIn(), with the popup's
   * page as redirect URI, handed to `exchange`, which navigates the popup there and resolves
   * with the response URL the popup's page sent back. The attempt stays in memory only: this
   * page lives for the whole round trip, so nothing is stored that could be left behind, and
   * the app's own callback handling never sees it. The response then takes the same path as a
   * redirect sign-in's (commitSignIn).
   *
   * The popup may answer minutes later: a sign-in or sign-out in any tab since the attempt
   * began, or the attempt's end (`wanted` false), makes its result refused under the lock.
   */
  async signInWithPopup(params: Record<string, string>, redirectUri: string, exchange: (url: URL, state: string) => Promise<URL>, wanted: () => boolean): Promise<void> {
    const { events, clock } = this.context;
    const before = await this.handover.lastEvents();
    const { url, attempt } = await this.client.authorizationRequest({ redirectUri, params });
    events.emit({ type: 'sign_in_started', at: clock.now() });
    const stillWanted = async () => {
      const now = await this.handover.lastEvents();
      return wanted() && now.signedOut <= before.signedOut && now.known <= before.known;
    };
    const session = await this.client.forgettingKeyOnFailure(attempt.dpopJkt, async () => this.client.completeAuthorization(await exchange(url, attempt.state), attempt));
    if (!(await this.commitSignIn(session, stillWanted))) {
      throw new AuthError('no_session', ngDevMode ? 'The popup sign-in was ended, or the user signed in or out elsewhere, before its response was checked: it was not taken.' : '');
    }
  }

  /**
   * Handles the authorization response the page was loaded with: checks, code exchange,
   * userinfo, then, under the renewal lock, the new sign-in's epoch, the store and the other
   * tabs. Code and state leave the address bar whatever happens.
   */
  async completeSignIn(responseUrl: URL): Promise<void> {
    const { browser } = this.context;
    const attempt = this.takeAttempt();
    // The stored return URL is checked again: storage written by another version or by hand
    // must not redirect elsewhere, nor make replaceState() throw.
    browser.replaceUrl(attempt ? appPath(new URL(attempt.returnUrl, browser.origin), browser.origin) : withoutResponseParams(responseUrl));
    if (!attempt) {
      throw new AuthError('state_mismatch', ngDevMode ? 'The authorization response matches no sign-in attempt started in this browser.' : '');
    }
    await this.commitSignIn(await this.client.forgettingKeyOnFailure(attempt.dpopJkt, () => this.client.completeAuthorization(responseUrl, attempt)));
  }

  /**
   * Silent sign-in at start-up: one prompt=none request in the hidden iframe. Resolves
   * `signed-in` when the OP's session signed the user in (committed as a sign-in); `skipped`,
   * with no request, when the last thing any tab recorded is a logout (see lastWasLogout); and
   * `superseded` when a logout (here or in another tab), another sign-in, or the caller giving
   * up (`wanted` false) came first: the result is discarded and its refresh token revoked.
   * Rejects with the OP's refusal (login_required, ...) or failure.
   */
  async silentSignIn(timeoutMs: number, wanted: () => boolean): Promise<'signed-in' | 'skipped' | 'superseded'> {
    const { store, tabs } = this.context;
    // Taken before the iframe starts: whatever is recorded after this came first.
    const before = await this.handover.lastEvents();
    // A logout that left the OP session alive (localOnly, an OP without end_session_endpoint)
    // stays in force for every tab until the next sign-in: a new or reloaded tab must not sign
    // the user in again, nor every other tab with it through its broadcast.
    if (tabs.enabled && before.signedOut >= 0 && before.signedOut >= before.known) return 'skipped';
    if (!wanted()) return 'superseded';
    const stillWanted = async () => {
      if (!wanted() || store.session()) return false;
      const now = await this.handover.lastEvents();
      return now.signedOut <= before.signedOut && now.known <= before.known;
    };
    return (await this.commitSignIn(await this.client.silentSignIn(timeoutMs), stillWanted)) ? 'signed-in' : 'superseded';
  }

  /**
   * A new sign-in's token set, checked: userinfo, then, under the renewal lock, the sign-in's
   * epoch, the store and the ledger the other tabs read, then the `signed_in` event. A silent
   * sign-in (`stillWanted`) gives way to anything recorded since it started (a logout here or in
   * another tab, another tab's sign-in, even one whose broadcast has not arrived: the ledger
   * already names it) and to a caller that gave up: false, and its grant's refresh token is
   * revoked rather than left valid and unused. An interactive sign-in (a step-up, another user)
   * always replaces the session.
   */
  private async commitSignIn(checked: Session, stillWanted?: () => Promise<boolean>): Promise<boolean> {
    const { store, events, clock, config, tabs } = this.context;
    let session = checked;
    if (config.loadUserInfo) {
      try {
        session = { ...session, userInfo: await this.client.fetchUserInfo(session) };
      } catch (error) {
        // The sign-in stands; the userinfo claims are discarded and the failure reported.
        events.emit({ type: 'error', at: clock.now(), error: isAuthError(error) ? error : new AuthError('invalid_response', '') });
      }
    }
    const signedIn = session;
    let replaced: string | undefined;
    const committed = await tabs.exclusive(async () => {
      if (stillWanted && !(await stillWanted())) return null;
      // A callback page has not loaded the stored session: the one it replaces is in storage.
      replaced = (store.session() ?? store.peekStored())?.dpopJkt;
      const withEpoch = { ...signedIn, epoch: await this.handover.nextEpoch() };
      store.set(withEpoch, 'signed-in');
      await this.handover.commit(withEpoch);
      return withEpoch;
    });
    // withDPoP(), outside the lock (IndexedDB is not waited for under it): a sign-in that was not
    // taken leaves no key; one that was removes the key it replaced and those of attempts too old
    // to be answered (a younger key may be another tab's sign-in in progress).
    const jkt = signedIn.dpopJkt;
    // With isolated tabs, an old key may be another tab's live session: only the replaced one goes.
    if (jkt) await this.tidyDPoPKeys((keys) => (committed ? keys.prune([jkt], replaced, config.tabs === 'isolated' ? Infinity : ATTEMPT_MAX_AGE_MS) : keys.delete(jkt)));
    if (!committed) {
      if (signedIn.refreshToken) void this.client.revoke(signedIn.refreshToken, 'refresh_token').catch(() => undefined);
      return false;
    }
    events.emit({ type: 'signed_in', at: clock.now(), user: userClaimsOf(committed) });
    return true;
  }

  /**
   * Signs out in every tab, revokes the newest refresh token (RFC 7009), then sends the
   * browser to the OP's logout endpoint (RP-Initiated Logout 1.0, or config.logout's dialect)
   * when it has one.
   */
  async logout(mine: Session | null, options: LogoutOptions): Promise<LogoutResult> {
    const { events, clock, browser, config, attempts } = this.context;
    this.logoutPending = true;
    let toRevoke: string[];
    try {
      toRevoke = await this.signOut(mine);
    } finally {
      this.logoutPending = false;
      this.discarded = null;
    }
    // withDPoP(): no key outlives the logout; done before logout() resolves or leaves the page.
    await this.client.dpop?.forgetAll();
    events.emit({ type: 'signed_out', at: clock.now(), reason: 'logout' });
    let error: AuthError | null = null;
    let refreshTokenRevoked = false;
    for (const [index, token] of toRevoke.entries()) {
      try {
        const revoked = await this.client.revoke(token, 'refresh_token');
        if (index === 0) refreshTokenRevoked = revoked; // the newest token's outcome is the one reported
      } catch (revokeError) {
        error ??= isAuthError(revokeError) ? revokeError : new AuthError('revocation_failed', '');
      }
    }
    let endSession: URL | null = null;
    let refused = false;
    let configRefused = false;
    const state = generateRandomState();
    try {
      const postLogout = options.postLogoutRedirectUrl ? new URL(options.postLogoutRedirectUrl, browser.origin).href : config.postLogoutRedirectUrl;
      endSession = await this.client.logoutUrl({ idTokenHint: mine?.idToken, postLogoutRedirectUri: postLogout, state });
    } catch (discoveryError) {
      const caught = isAuthError(discoveryError) ? discoveryError : null;
      // Refused: config.logout or the logout endpoint. Another config_invalid (a bad
      // tenantIssuer stops discovery) is not about the endpoint, and says so in its reason.
      const key = caught?.code === 'config_invalid' ? caught.details.configKey : undefined;
      refused = key === 'end_session_endpoint' || !!key?.startsWith('logout');
      configRefused = !!key;
      // The refused endpoint is what the app must fix: it is reported over a revocation failure.
      error = configRefused ? caught : (error ?? caught);
    }
    if (!endSession) {
      return { outcome: 'local', reason: refused ? 'end_session_endpoint_refused' : configRefused ? 'config_invalid' : 'no_end_session_endpoint', refreshTokenRevoked, error };
    }
    // Only RP-Initiated Logout sends a state back; the other dialects return without one, to a
    // page that finds no session and no response to handle.
    // (logoutUrl checked the dialect: one of the three, or absent for the default.)
    if ((config.logout?.dialect ?? 'rp-initiated') === 'rp-initiated') attempts.saveLogoutState(state);
    browser.navigate(endSession.href);
    return { outcome: 'redirected', refreshTokenRevoked, error };
  }

  /** Tidies withDPoP()'s keys; a failure (IndexedDB refused) leaves them for the next sign-in or logout. */
  private async tidyDPoPKeys(tidy: (keys: DPoPKeys) => Promise<void>): Promise<void> {
    await this.client.dpop
      ?.keys()
      .then(tidy)
      .catch(() => undefined);
  }

  /** The attempt in progress, removed whatever happens next; null when none, stale or malformed. */
  private takeAttempt(): StoredAttempt | null {
    const { attempts, clock } = this.context;
    const text = attempts.storage.getItem(attempts.attemptKey);
    attempts.storage.removeItem(attempts.attemptKey);
    try {
      const attempt = JSON.parse(text ?? 'null') as Partial<StoredAttempt> | null;
      const fresh = typeof attempt?.createdAt === 'number' && clock.now() - attempt.createdAt < ATTEMPT_MAX_AGE_MS;
      const complete = (['state', 'nonce', 'codeVerifier', 'redirectUri', 'returnUrl'] as const).every((field) => typeof attempt?.[field] === 'string');
      // A max_age that is not a number would skip the auth_time check: such an attempt is refused.
      const maxAgeOk = attempt?.maxAge === undefined || typeof attempt.maxAge === 'number';
      const dpopOk = attempt?.dpopJkt === undefined || typeof attempt.dpopJkt === 'string';
      return fresh && complete && maxAgeOk && dpopOk ? (attempt as StoredAttempt) : null;
    } catch {
      return null;
    }
  }

  /**
   * Ends the session in every tab, under the renewal lock so that no renewal runs between the
   * look at the newest tokens and the sign-out, and returns the refresh tokens to revoke: the
   * newest of any tab (a tab that is behind holds a spent one, and a renewal this tab just
   * discarded holds the newest), none when the newest is out of reach, and this tab's own when
   * it belongs to an older sign-in than the newest. Every token set up to the largest epoch any
   * tab knows of is signed out, also when this tab holds none.
   */
  private signOut(before: Session | null): Promise<string[]> {
    const { store } = this.context;
    return this.context.tabs.exclusive(async () => {
      const mine = this.discarded && supersedes(this.discarded, before) ? this.discarded : before;
      this.logoutPending = false; // chosen: a renewal that finishes from now on revokes its own tokens
      const standing = mine ? await this.handover.standing(mine, LOGOUT_PATIENCE_MS) : null;
      const newest = standing && 'session' in standing ? standing.session : null;
      const epoch = Math.max(await this.handover.knownEpoch(), mine?.epoch ?? -1, newest?.epoch ?? -1);
      store.clear('logout');
      if (epoch >= 0) await this.handover.signOutEveryone(epoch);
      const tokens = [newest?.refreshToken];
      if (mine && newest && newest.chain !== mine.chain) tokens.push(mine.refreshToken);
      return tokens.filter((token): token is string => typeof token === 'string');
    });
  }
}
