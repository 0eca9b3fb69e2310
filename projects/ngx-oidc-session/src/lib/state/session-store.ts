import { Injectable, computed, inject, signal } from '@angular/core';
import { Observable, Subject, distinctUntilChanged, map } from 'rxjs';
import { AuthState } from '../core/auth-state';
import { AUTH_CONFIG } from '../core/config';
import { AuthError } from '../core/errors';
import { Session, SessionPosition, UserClaims, parseStoredSession, sameSession, serializeSession, supersedes, userClaimsOf, authenticationOf } from '../core/session';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK } from '../platform/clock';
import { TOKEN_STORAGE, WebTokenStorage, createTokenStorage } from '../platform/web-storage';
import type { DPoPSupport } from '../dpop/dpop-support';
import { AuthEvents } from './auth-events';

/**
 * Why this tab's session changed:
 * - `restored`: a stored (or handed-over) session, still valid, taken at start;
 * - `signed-in`, `renewed`: by this tab; `adopted`: another tab's sign-in or renewal;
 * - `logout`: this tab signed out; `other-tab`: another tab did; `ended`: the OP refused the
 *   session for good; `left-behind`: the other tabs renewed and this tab's tokens are spent;
 *   `sign-in-failed`: a callback that did not pass its checks.
 */
export type SessionChangeCause =
  | 'restored'
  | 'signed-in'
  | 'renewed'
  | 'adopted'
  | 'logout'
  | 'other-tab'
  | 'ended'
  | 'left-behind'
  | 'sign-in-failed';

export interface SessionChange {
  readonly session: Session | null;
  readonly cause: SessionChangeCause;
}

interface StoreState {
  readonly session: Session | null;
  /** False until start-up has decided (the auth status is `unknown` until then). */
  readonly decided: boolean;
  readonly error: AuthError | null;
}

/**
 * The one source of truth and the one writer of the session. The auth state is computed
 * from it; the observables are made from the signals; the renew timer and the other tabs
 * follow its changes. Only token sets that passed every check are written to it.
 */
@Injectable({ providedIn: 'root' })
export class SessionStore {
  private readonly config = inject(AUTH_CONFIG);
  private readonly storage = inject(TOKEN_STORAGE);
  private readonly key = `${this.config.storageNamespace}:session`;
  /** Written into every entry so that another app's or client's entry is never taken for ours. */
  private readonly owner = `${this.config.clientId}@${this.config.authority}`;
  private readonly state = signal<StoreState>({ session: null, decided: false, error: null });
  /**
   * The epoch of the last logout any tab of this browser made, kept in localStorage (a number,
   * never a token), so that a tab that missed the logout (discarded, restored, in the
   * back/forward cache) does not bring the session back from its own storage.
   */
  private readonly shared = createTokenStorage(this.config.tabs === 'shared' ? 'local' : 'memory', inject(AuthBrowser).window);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly events = inject(AuthEvents);
  private storageRefusalReported = false;
  private readonly signedOutKey = `${this.config.storageNamespace}:signed-out`;
  private signedOutUpTo = -1;
  /** Sign-ins the OP ended, with the last renewal count it refused. */
  private readonly ended = new Map<string, number>();
  private readonly changed = new Subject<SessionChange>();
  /** How many logouts this tab began (AuthService.logout() counts them): a silent sign-in started before one is discarded. */
  logouts = 0;
  private readonly written = new Subject<void>();
  /**
   * withDPoP() of this instance (RFC 9449), set by the feature when it is created; the protocol
   * chunk takes it from here. A hook rather than an import, so that an app without the feature
   * ships none of it.
   */
  dpop?: DPoPSupport;

  /** This tab's token set. */
  readonly session = computed(() => this.state().session);
  readonly authState = computed<AuthState>(() => {
    const { session, decided, error } = this.state();
    return {
      status: !decided ? 'unknown' : session ? 'authenticated' : 'unauthenticated',
      user: session ? userClaimsOf(session) : null,
      authentication: session ? authenticationOf(session) : null,
      accessTokenExpiresAt: session?.expiresAt ?? null,
      tokenType: session ? (session.tokenType.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer') : null,
      error,
    };
  });
  readonly isAuthenticated = computed(() => this.authState().status === 'authenticated');
  readonly user = computed<UserClaims | null>(() => this.authState().user);

  /** Every change of the session, synchronously, with its cause. */
  readonly changes$: Observable<SessionChange> = this.changed.asObservable();
  /** The auth state at once, then at every change (from the signal, synchronously). */
  readonly authState$: Observable<AuthState> = new Observable<AuthState>((subscriber) => {
    subscriber.next(this.authState());
    return this.written.subscribe(() => subscriber.next(this.authState()));
  }).pipe(distinctUntilChanged());
  readonly isAuthenticated$ = this.authState$.pipe(
    map((state) => state.status === 'authenticated'),
    distinctUntilChanged(),
  );
  readonly user$ = this.authState$.pipe(
    map((state) => state.user),
    distinctUntilChanged(),
  );

  /**
   * Reads the stored session for start-up, without deciding the auth state; a corrupt or
   * foreign entry is removed and gives null.
   */
  load(): Session | null {
    const text = this.storage.getItem(this.key);
    const stored = parseStoredSession(text, this.owner);
    const dead = !stored || this.isSignedOut(stored);
    // Only a session bound to the key withDPoP() found for it at start-up (none without the
    // feature): never a DPoP session without its key, nor a bearer session under withDPoP(). The
    // same test as fits() (which also applies allowedTenants), and for the very key withDPoP() checked.
    const session = !dead && stored.dpopJkt === this.dpop?.jkt && this.fits(stored) ? stored : null;
    // One that is not dead goes only at start-up and from storage no other tab writes: with
    // `local` it can be another tab's, of the other token mode or of a later sign-in with a key
    // this tab has not checked (a later load() comes from RenewScheduler). Left alone then.
    if (text !== null && !session && (dead || (!this.state().decided && this.config.storage !== 'local'))) this.storage.removeItem(this.key);
    this.write({ ...this.state(), session });
    return session;
  }

  /**
   * Whether a session of another tab may enter this tab (a broadcast, a handover at start-up or
   * under the renewal lock; load() tests the exact key instead): only one of this tab's token mode. Under withDPoP() a DPoP-bound session
   * (RFC 9449 5: token_type DPoP, compared case-insensitively) with its key's thumbprint; without
   * it only a bearer one, which this tab can present and refresh. Tabs of the other mode (an
   * earlier release, or a switch flipped since) keep theirs; sign-outs still reach every tab.
   */
  fits(session: Session): boolean {
    const bound = session.tokenType.toLowerCase() === 'dpop';
    // config.tenantIssuer.allowedTenants, applied again to a session signed in before it changed
    // (a deploy that drops a tenant): its `tid` was checked with the ID token's signature before
    // the session was stored, so the list is all that is compared here.
    const allowed = this.config.tenantIssuer?.allowedTenants;
    return (this.dpop ? bound && !!session.dpopJkt : !bound && !session.dpopJkt) && (!allowed || allowed.includes(session.idTokenClaims['tid'] as string));
  }

  /**
   * Remembers a sign-out: of every token set up to `position`'s epoch (a logout), or of
   * `position`'s sign-in up to its renewal count (the OP ended it). No such token set is taken
   * in or restored again.
   */
  recordSignOut(position: SessionPosition, everyone: boolean): void {
    if (!plausibleEpoch(position.epoch, this.clock.now())) return;
    if (everyone) {
      this.signedOutUpTo = Math.max(this.signedOutUpTo, position.epoch);
      if (this.signedOutUpTo > this.storedSignOut()) this.shared.setItem(this.signedOutKey, String(this.signedOutUpTo));
    } else {
      this.ended.set(position.chain, Math.max(position.version, this.ended.get(position.chain) ?? -1));
    }
  }

  /** Whether a sign-out this tab knows of ended this token set. */
  isSignedOut(position: SessionPosition): boolean {
    return position.epoch <= Math.max(this.signedOutUpTo, this.storedSignOut()) || position.version <= (this.ended.get(position.chain) ?? -1);
  }

  /** The epoch of the last logout this tab knows of, or -1. */
  lastSignOutEpoch(): number {
    return Math.max(this.signedOutUpTo, this.storedSignOut());
  }

  /** The marker in localStorage; a corrupt or implausible one is removed and ignored. */
  private storedSignOut(): number {
    const text = this.shared.getItem(this.signedOutKey);
    if (text === null) return -1;
    const value = Number(text);
    if (Number.isInteger(value) && plausibleEpoch(value, this.clock.now())) return value;
    this.shared.removeItem(this.signedOutKey);
    return -1;
  }

  /** Re-reads storage without changing this tab's session (with `local`, another tab may have written). */
  peekStored(): Session | null {
    return parseStoredSession(this.storage.getItem(this.key), this.owner);
  }

  /**
   * Takes a session another tab handed over at start-up, without deciding the auth state yet:
   * one of this tab's token mode (TabCoordinator.requestSession takes no other, see fits()).
   */
  takeHandedOver(session: Session): void {
    this.storage.setItem(this.key, serializeSession(session, this.owner));
    this.write({ ...this.state(), session });
  }

  /** Start-up decided: the session loaded or handed over stays (or there is none). */
  restore(): void {
    const session = this.state().session;
    this.write({ ...this.state(), decided: true });
    if (session) this.changed.next({ session, cause: 'restored' });
  }

  /**
   * A token set that passed every check: this tab's sign-in or renewal, or another tab's (one of
   * this tab's token mode: TabCoordinator.takeOver, the one way in for those, checks fits()).
   */
  set(session: Session, cause: 'signed-in' | 'renewed' | 'adopted'): void {
    this.storage.setItem(this.key, serializeSession(session, this.owner));
    this.write({ session, decided: true, error: null });
    this.changed.next({ session, cause });
    this.reportRefusedStorage();
  }

  /**
   * The browser refused the write (full, disabled): the session goes on in memory for this
   * page, and the app hears why once (a reload will not find it).
   */
  private reportRefusedStorage(): void {
    if (this.storageRefusalReported || !(this.storage instanceof WebTokenStorage) || this.storage.refusal === null) return;
    this.storageRefusalReported = true;
    const cause = this.storage.refusal instanceof DOMException ? this.storage.refusal.name : 'unknown';
    const message = ngDevMode
      ? `The browser refused to store the session (${cause}): it is kept in memory for this page only. A reload or a new tab gets it from another open tab, or signs in again.`
      : '';
    this.events.emit({ type: 'error', at: this.clock.now(), error: new AuthError('storage_unavailable', message) });
  }

  /**
   * No more session in this tab. A tab left behind leaves shared storage alone when it
   * already holds another tab's newer token set (`storage: 'local'`).
   */
  clear(cause: Exclude<SessionChangeCause, 'restored' | 'signed-in' | 'renewed' | 'adopted'>, error: AuthError | null = null): void {
    const mine = this.state().session;
    const stored = cause === 'left-behind' ? this.peekStored() : null;
    if (!stored || !mine || sameSession(stored, mine) || !supersedes(stored, mine)) this.storage.removeItem(this.key);
    this.write({ session: null, decided: true, error });
    this.changed.next({ session: null, cause });
  }

  /** Reports a failure in the auth state; the session (if any) stays. Decides a start-up. */
  fail(error: AuthError): void {
    this.write({ ...this.state(), decided: true, error });
  }

  private write(state: StoreState): void {
    this.state.set(state);
    this.written.next();
  }
}

/**
 * Epochs are counts or times in ms (sign-ins take the time as a floor). One far in the future
 * can only be corrupt or planted, and would sign out every later sign-in: it is ignored.
 */
export function plausibleEpoch(epoch: number, now: number): boolean {
  return epoch <= now + EPOCH_SLACK_MS;
}

const EPOCH_SLACK_MS = 24 * 60 * 60 * 1000;
