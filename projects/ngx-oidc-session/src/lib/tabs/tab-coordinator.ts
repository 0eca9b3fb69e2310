import { DestroyRef, Injectable, NgZone, inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { Session, SessionPosition, supersedes, userClaimsOf, validSession } from '../core/session';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK } from '../platform/clock';
import { AuthEvents } from '../state/auth-events';
import { SessionStore, plausibleEpoch } from '../state/session-store';

/**
 * What one tab tells the others. Sessions travel only between tabs of this app and client.
 * A sign-out names the sign-in it ends: `everyone` for a user's logout (every tab signs out),
 * otherwise only the tabs on that sign-in (the OP refused it) follow.
 */
export type TabMessage =
  | { readonly kind: 'session'; readonly session: Session }
  | { readonly kind: 'signed-out'; readonly position: SessionPosition; readonly everyone: boolean }
  | { readonly kind: 'session-request'; readonly requestId: string }
  | { readonly kind: 'session-response'; readonly requestId: string; readonly session: Session };

const FORMAT = 2;

/**
 * Coordinates the tabs of one app and client, in every page:
 * - renewals run under an exclusive Web Lock, so that with refresh-token rotation no two tabs
 *   ever present the same refresh token (see TabHandover for what happens under it);
 * - renewed tokens, sign-in and sign-out travel over a BroadcastChannel, and a tab takes a
 *   token set only if it supersedes its own and was not signed out;
 * - each tab holds a shared Web Lock named for the token set it holds, so that a tab can tell
 *   whether a live tab holds a given token set, and a new tab whether any tab holds a session.
 *
 * Without Web Locks (old browsers) renewals are not serialised across tabs: the ledger and
 * the broadcast still make a tab that is late adopt the newer tokens, but two tabs that are due
 * at the very same moment may both renew, and with rotation the OP may then end the session.
 */
@Injectable({ providedIn: 'root' })
export class TabCoordinator {
  private readonly config = inject(AUTH_CONFIG);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly zone = inject(NgZone);
  private readonly store = inject(SessionStore);
  private readonly events = inject(AuthEvents);
  private readonly owner = `${this.config.clientId}@${this.config.authority}`;
  private readonly lockName = `${this.config.storageNamespace}:renew`;
  private readonly holderPrefix = `${this.config.storageNamespace}:holder:`;
  private channel: BroadcastChannel | null = null;
  /** Requests for a token set in progress: `take` offers one, `finish` gives up. */
  private readonly waiters = new Set<{ take(session: Session, answerTo?: string): void; finish(session: null): void }>();
  /** The newest token set another tab announced, for a tab under the lock to find. */
  private latestAnnounced: Session | null = null;
  /** The holder lock this tab holds (or is acquiring), and how to let it go. */
  private holder: { readonly name: string; readonly granted: Promise<void>; readonly release: () => void } | null = null;
  /** While the page is hidden for the back/forward cache it holds no lock. */
  private pageHidden = false;
  /** exclusive()'s tasks in this page where there is no Web Lock. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Off on the server and when the app keeps its tabs isolated (config `tabs: 'isolated'`). */
  readonly enabled = this.browser.isBrowser && this.config.tabs === 'shared';

  constructor() {
    const window = this.browser.window as (Window & typeof globalThis) | null;
    // A page that holds a Web Lock cannot enter the back/forward cache: let go while hidden.
    const onPageHide = () => {
      this.pageHidden = true;
      void this.holdSession(null);
    };
    const onPageShow = () => {
      this.pageHidden = false;
      this.dropIfSignedOut();
      void this.holdSession(this.store.session());
    };
    // A logout in another tab while this page was frozen or cached: its marker is in storage.
    const onStorage = (event: StorageEvent) => {
      if (event.key === null || event.key.endsWith(':signed-out')) this.dropIfSignedOut();
    };
    const onVisible = () => {
      if (window?.document.visibilityState === 'visible') this.dropIfSignedOut();
    };
    const changes = this.store.changes$.subscribe(({ session }) => {
      void this.holdSession(session);
      // Signed out: nobody waits any longer for a token set (a renewal under the lock included).
      if (!session) for (const waiter of [...this.waiters]) waiter.finish(null);
    });
    if (this.enabled && window) {
      window.addEventListener('pagehide', onPageHide);
      window.addEventListener('pageshow', onPageShow);
      window.addEventListener('storage', onStorage);
      window.document.addEventListener('visibilitychange', onVisible);
      if (typeof window.BroadcastChannel === 'function') {
        // The default instance keeps the channel name of earlier versions, so that old and new
        // tabs still exchange sessions during a deploy; a named instance's channel is named after
        // its storage namespace, so that two instances of one OP and client never share one.
        this.channel = new window.BroadcastChannel(this.config.instanceName ? this.config.storageNamespace : `ngx-oidc-session:${this.owner}`);
        this.zone.runOutsideAngular(() => {
          this.channel!.onmessage = (event: MessageEvent) => this.receive(event.data);
        });
      }
    }
    inject(DestroyRef).onDestroy(() => {
      changes.unsubscribe();
      window?.removeEventListener('pagehide', onPageHide);
      window?.removeEventListener('pageshow', onPageShow);
      window?.removeEventListener('storage', onStorage);
      window?.document.removeEventListener('visibilitychange', onVisible);
      this.channel?.close();
      this.channel = null;
      void this.holdSession(null);
    });
  }

  /**
   * Runs `task` while holding the renewal lock shared by every tab of this app and client.
   * Without Web Locks (or with isolated tabs), after the tasks this page queued before it: a
   * renewal and a session check in one page must never cancel each other's iframe.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const locks = this.locks();
    if (locks) return locks.request(this.lockName, { mode: 'exclusive' }, task) as Promise<T>;
    // The queue is the last task: the next one starts once it settled, resolved or rejected.
    return (this.queue = this.queue.then(task, task)) as Promise<T>;
  }

  /** Tells the other tabs about a token set this tab signed in with or renewed. */
  postSession(session: Session): void {
    this.post({ kind: 'session', session });
  }

  /**
   * Tells the other tabs that the session ended: every tab for a logout, else the tabs on
   * `position`'s sign-in. This tab takes none of those token sets in again either.
   */
  postSignedOut(position: SessionPosition, everyone: boolean): void {
    this.store.recordSignOut(position, everyone);
    this.post({ kind: 'signed-out', position: { epoch: position.epoch, chain: position.chain, version: position.version }, everyone });
  }

  /** The newest token set announced by another tab since this one started. */
  announced(): Session | null {
    return this.latestAnnounced;
  }

  /** Whether a sign-out this tab knows of ended this token set. */
  signedOut(position: SessionPosition): boolean {
    return this.store.isSignedOut(position);
  }

  /**
   * The names of the holder locks the live tabs hold or wait for, each a token set's position
   * after `holderPrefix`; null where Web Locks are missing.
   */
  async holderLocks(): Promise<string[] | null> {
    const locks = this.locks();
    if (!locks) return null;
    try {
      const { held = [], pending = [] } = await locks.query();
      return [...held, ...pending].map(({ name = '' }) => name).filter((name) => name.startsWith(this.holderPrefix)).map((name) => name.slice(this.holderPrefix.length));
    } catch {
      return null;
    }
  }

  /**
   * Holds the holder lock named for `session` (none for null), letting go of the previous one.
   * Resolves once it is granted (at once while the page is hidden: it then holds none).
   */
  holdSession(session: Session | null): Promise<void> {
    const locks = this.locks();
    const name = session && !this.pageHidden ? `${this.holderPrefix}${session.epoch}:${session.chain}:${session.version}` : null;
    if (this.holder?.name === name) return this.holder?.granted ?? Promise.resolve();
    const previous = this.holder;
    this.holder = null;
    if (locks && name) {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let granted!: () => void;
      const grant = new Promise<void>((resolve) => (granted = resolve));
      locks
        .request(name, { mode: 'shared' }, () => {
          granted();
          return held;
        })
        .catch(() => granted());
      this.holder = { name, granted: grant, release };
    }
    previous?.release();
    return this.holder?.granted ?? Promise.resolve();
  }

  /**
   * Asks the live tabs for their token set. Resolves with the first one `accept`s (an answer,
   * or a broadcast of another tab), or with null after `timeoutMs`. By default only one of this
   * tab's token mode (SessionStore.fits).
   */
  requestSession(timeoutMs: number, accept = (session: Session) => this.store.fits(session)): Promise<Session | null> {
    const window = this.browser.window;
    if (!this.channel || !window) return Promise.resolve(null);
    const requestId = Array.from(window.crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('');
    return new Promise((resolve) => {
      const waiter = {
        finish: (session: Session | null) => {
          this.clock.clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(session);
        },
        take: (session: Session, answerTo?: string) => {
          if ((answerTo === undefined || answerTo === requestId) && !this.signedOut(session) && accept(session)) waiter.finish(session);
        },
      };
      const timer = this.zone.runOutsideAngular(() => this.clock.setTimeout(() => waiter.finish(null), timeoutMs));
      this.waiters.add(waiter);
      this.post({ kind: 'session-request', requestId });
    });
  }

  private locks(): LockManager | undefined {
    return this.enabled ? this.browser.window?.navigator?.locks : undefined;
  }

  private post(message: TabMessage): void {
    this.channel?.postMessage({ format: FORMAT, owner: this.owner, ...message });
  }


  /** Every incoming message is checked: another app's or client's, or a malformed one, is ignored. */
  private receive(data: unknown): void {
    const message = parseTabMessage(data, this.owner);
    if (!message) return;
    switch (message.kind) {
      case 'session':
        if (this.signedOut(message.session)) return; // a late broadcast must not undo a sign-out
        if (supersedes(message.session, this.latestAnnounced)) this.latestAnnounced = message.session;
        for (const waiter of [...this.waiters]) waiter.take(message.session);
        this.adopt(message.session);
        break;
      case 'signed-out': {
        this.store.recordSignOut(message.position, message.everyone);
        if (this.latestAnnounced && this.signedOut(this.latestAnnounced)) this.latestAnnounced = null;
        this.dropIfSignedOut();
        break;
      }
      case 'session-request': {
        // Only a tab that has decided answers: one still starting may hold a spent token set.
        const session = this.store.isAuthenticated() ? this.store.session() : null;
        if (session && !this.signedOut(session)) this.post({ kind: 'session-response', requestId: message.requestId, session });
        break;
      }
      case 'session-response':
        for (const waiter of [...this.waiters]) waiter.take(message.session, message.requestId);
        break;
    }
  }

  /** Signs this tab out when a logout it did not hear of (frozen, cached) ended its session. */
  private dropIfSignedOut(): void {
    const mine = this.store.session();
    if (!mine || !this.signedOut(mine)) return;
    this.store.clear('other-tab');
    this.events.emit({ type: 'signed_out', at: this.clock.now(), reason: 'other_tab' });
  }

  /** Another tab signed in or renewed: this tab takes its token set if it supersedes its own. */
  private adopt(session: Session): void {
    // A position far in the future is planted or corrupt: it would outrank every sign-in.
    if (!plausibleEpoch(session.epoch, this.clock.now()) || !supersedes(session, this.store.session())) return;
    this.takeOver(session);
  }

  /**
   * Takes another tab's token set. Another user's is this user's sign-out followed by that
   * user's sign-in, with both events, so that an app that keeps per-user data drops it: never
   * a silent switch of user.
   */
  takeOver(session: Session): void {
    // Never one of a tab of the other token mode (bearer next to withDPoP(), or the reverse): that
    // tab keeps its session, this one its own (SessionStore.fits). Checked before anything changes.
    if (!this.store.fits(session)) return;
    const mine = this.store.isAuthenticated() ? this.store.session() : null;
    if (mine && mine.idTokenClaims.sub !== session.idTokenClaims.sub) {
      this.store.clear('other-tab');
      this.events.emit({ type: 'signed_out', at: this.clock.now(), reason: 'other_tab' });
    }
    const wasSignedIn = this.store.isAuthenticated();
    this.store.set(session, 'adopted');
    if (!wasSignedIn) this.events.emit({ type: 'signed_in', at: this.clock.now(), user: userClaimsOf(session) });
  }
}

/** Validates a message from the channel; null for anything unexpected. */
export function parseTabMessage(data: unknown, owner: string): TabMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const record = data as Record<string, unknown>;
  if (record['format'] !== FORMAT || record['owner'] !== owner) return null;
  const requestId = typeof record['requestId'] === 'string' && record['requestId'].length > 0 ? record['requestId'] : null;
  switch (record['kind']) {
    case 'session': {
      const session = validSession(record['session']);
      return session ? { kind: 'session', session } : null;
    }
    case 'signed-out': {
      const position = record['position'] as Record<string, unknown> | null;
      const count = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 0;
      if (typeof position !== 'object' || position === null || typeof position['chain'] !== 'string' || !count(position['epoch']) || !count(position['version'])) return null;
      return { kind: 'signed-out', position: position as unknown as SessionPosition, everyone: record['everyone'] === true };
    }
    case 'session-request':
      return requestId ? { kind: 'session-request', requestId } : null;
    case 'session-response': {
      const session = validSession(record['session']);
      return session && requestId ? { kind: 'session-response', requestId, session } : null;
    }
    default:
      return null;
  }
}
