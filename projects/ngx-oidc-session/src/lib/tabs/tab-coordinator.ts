import { DestroyRef, Injectable, NgZone, inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { Session, sameSession, supersedes, userClaimsOf, validSession } from '../core/session';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK } from '../platform/clock';
import { AuthEvents } from '../state/auth-events';
import { SessionStore } from '../state/session-store';
import { LedgerEntry, RenewalLedger } from './renewal-ledger';

/** What one tab tells the others. Sessions travel only between tabs of this app and client. */
export type TabMessage =
  | { readonly kind: 'session'; readonly session: Session }
  | { readonly kind: 'signed-out' }
  | { readonly kind: 'session-request'; readonly requestId: string }
  | { readonly kind: 'session-response'; readonly requestId: string; readonly session: Session };

const FORMAT = 1;

/**
 * Where a tab under the renewal lock stands against the other tabs:
 * - `current`: no tab holds newer tokens; renew from `session`;
 * - `handed-over`: another tab's newer token set, to adopt (or renew from, if due);
 * - `unavailable`: a live tab holds newer tokens of this sign-in but did not hand them over
 *   in time (frozen in the background): this tab's own refresh token is spent; try later;
 * - `spent`: newer tokens of this sign-in existed, but no live tab holds them any more: this
 *   tab's refresh token is spent for good.
 */
export type Standing =
  | { readonly kind: 'current'; readonly session: Session }
  | { readonly kind: 'handed-over'; readonly session: Session }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'spent' };

/** How long a tab under the lock waits for a live tab to hand over newer tokens. */
export const HANDOVER_WAIT_MS = 5_000;
/** How long it waits when no live tab is known to hold them (a broadcast may still be on its way). */
export const ARRIVING_WAIT_MS = 1_000;

/**
 * Coordinates the tabs of one app and client:
 * - renewals run under an exclusive Web Lock, so that with refresh-token rotation no two tabs
 *   ever present the same refresh token;
 * - renewed tokens, sign-in and sign-out travel over a BroadcastChannel;
 * - a ledger in IndexedDB (a sign-in id and a renewal count, never a token) tells the tab that
 *   takes the lock which token set is the newest, even when its broadcast has not arrived yet;
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
  private readonly waiters = new Set<(session: Session, answerTo?: string) => void>();
  /** The newest token set another tab announced, of the sign-in this tab knows last. */
  private latestAnnounced: Session | null = null;
  /** The holder lock this tab holds (or is acquiring), and how to let it go. */
  private holder: { readonly name: string; readonly granted: Promise<void>; readonly release: () => void } | null = null;

  /** Off on the server and when the app keeps its tabs isolated (config `tabs: 'isolated'`). */
  readonly enabled = this.browser.isBrowser && this.config.tabs === 'shared';
  private readonly ledger = new RenewalLedger(
    this.enabled ? (this.browser.window?.indexedDB ?? null) : null,
    this.config.storageNamespace,
    // Real time on purpose: a watchdog on IndexedDB, not a timing rule of the session.
    (callback, ms) => {
      const window = this.browser.window;
      const timer = this.zone.runOutsideAngular(() => window?.setTimeout(callback, ms));
      return () => window?.clearTimeout(timer);
    },
  );

  constructor() {
    const window = this.browser.window;
    // A page that holds a Web Lock cannot enter the back/forward cache: let go while hidden.
    const onPageHide = () => this.holdSession(null);
    const onPageShow = () => void this.holdSession(this.store.session());
    if (this.enabled && window) {
      window.addEventListener('pagehide', onPageHide);
      window.addEventListener('pageshow', onPageShow);
    }
    const changes = this.store.changes$.subscribe(({ session }) => void this.holdSession(session));
    this.listen();
    inject(DestroyRef).onDestroy(() => {
      changes.unsubscribe();
      window?.removeEventListener('pagehide', onPageHide);
      window?.removeEventListener('pageshow', onPageShow);
      this.channel?.close();
      this.channel = null;
      this.ledger.close();
      void this.holdSession(null);
    });
  }

  /** Takes in what the other tabs of this app and client announce. */
  private listen(): void {
    const window = this.browser.window as (Window & typeof globalThis) | null;
    if (!this.enabled || !window || typeof window.BroadcastChannel !== 'function' || this.channel) return;
    this.channel = new window.BroadcastChannel(`ngx-oidc-session:${this.owner}`);
    this.zone.runOutsideAngular(() => {
      this.channel!.onmessage = (event: MessageEvent) => this.receive(event.data);
    });
  }

  /**
   * Runs `task` while holding the renewal lock shared by every tab of this app and client.
   * Without Web Locks, runs it at once.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const locks = this.locks();
    if (!locks) return task();
    return locks.request(this.lockName, { mode: 'exclusive' }, task) as Promise<T>;
  }

  /**
   * Tells the other tabs about a token set this tab signed in with or renewed, and records it
   * as the newest. Called under the renewal lock; resolves once the ledger and this tab's
   * holder lock name it, so that the next tab to take the lock sees it.
   */
  async commit(session: Session): Promise<void> {
    this.post({ kind: 'session', session });
    if (!this.enabled) return;
    await Promise.all([this.ledger.write(session), this.holdSession(session)]);
  }

  /** Tells the other tabs that this tab signed out, and forgets the newest token set. */
  async announceSignOut(): Promise<void> {
    this.post({ kind: 'signed-out' });
    if (this.enabled) await this.ledger.clear();
  }

  /**
   * Under the renewal lock: whether `mine` is the newest token set of any tab, or which one is.
   * The ledger decides; where it cannot (IndexedDB failed, or nothing recorded), the holder
   * locks of the live tabs do. A newer token set is taken from this tab's own view, else asked
   * from the live tabs, waiting at most `patienceMs`.
   */
  async standing(mine: Session, patienceMs = HANDOVER_WAIT_MS): Promise<Standing> {
    if (!this.enabled) return { kind: 'current', session: mine };
    const [read, holders] = await Promise.all([this.ledger.read(), this.holders()]);
    const target: LedgerEntry | undefined =
      read.state === 'known'
        ? read.entry
        : (holders ?? []).filter((held) => held.chain === mine.chain).sort((a, b) => b.version - a.version)[0];
    if (!target || sameSession(target, mine) || (target.chain === mine.chain && target.version < mine.version)) {
      return { kind: 'current', session: mine };
    }
    const known = () => [this.store.session(), this.store.peekStored(), this.latestAnnounced].find((candidate) => candidate && sameSession(candidate, target));
    // Without holder locks to tell, assume a live tab has it and wait the longer time.
    const alive = holders === null || holders.some((held) => sameSession(held, target));
    const waitMs = Math.min(patienceMs, alive ? HANDOVER_WAIT_MS : ARRIVING_WAIT_MS);
    const found = known() ?? (await this.requestSession(waitMs, (session) => sameSession(session, target))) ?? known();
    if (found) return { kind: 'handed-over', session: found };
    // Another sign-in's tokens that no tab holds any more: this tab's own are not spent.
    if (target.chain !== mine.chain) return { kind: 'current', session: mine };
    return alive ? { kind: 'unavailable' } : { kind: 'spent' };
  }

  /** The newest token set announced by another tab since this one started. */
  announced(): Session | null {
    return this.latestAnnounced;
  }

  /**
   * Which token sets the live tabs hold (or are about to), by their holder locks; null where
   * Web Locks are missing.
   */
  async holders(): Promise<LedgerEntry[] | null> {
    const locks = this.locks();
    if (!locks) return null;
    try {
      const { held = [], pending = [] } = await locks.query();
      return [...held, ...pending].flatMap(({ name }) => {
        if (!name?.startsWith(this.holderPrefix)) return [];
        const rest = name.slice(this.holderPrefix.length);
        const separator = rest.lastIndexOf(':');
        const version = Number(rest.slice(separator + 1));
        return separator > 0 && Number.isInteger(version) ? [{ chain: rest.slice(0, separator), version }] : [];
      });
    } catch {
      return null;
    }
  }

  /**
   * Holds the holder lock named for `session` (none for null), letting go of the previous one.
   * Resolves once it is granted.
   */
  holdSession(session: Session | null): Promise<void> {
    const locks = this.locks();
    const name = session ? `${this.holderPrefix}${session.chain}:${session.version}` : null;
    if (this.holder?.name === name) return this.holder.granted;
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
   * or a broadcast of another tab), or with null after `timeoutMs`.
   */
  requestSession(timeoutMs: number, accept: (session: Session) => boolean = () => true): Promise<Session | null> {
    const window = this.browser.window;
    if (!this.channel || !window) return Promise.resolve(null);
    const requestId = Array.from(window.crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('');
    return new Promise((resolve) => {
      const finish = (session: Session | null) => {
        this.clock.clearTimeout(timer);
        this.waiters.delete(take);
        resolve(session);
      };
      const take = (session: Session, answerTo?: string) => {
        if ((answerTo === undefined || answerTo === requestId) && accept(session)) finish(session);
      };
      const timer = this.zone.runOutsideAngular(() => this.clock.setTimeout(() => finish(null), timeoutMs));
      this.waiters.add(take);
      this.post({ kind: 'session-request', requestId });
    });
  }

  /** Another tab signed in or renewed: this tab takes its token set if it supersedes its own. */
  private adopt(session: Session): void {
    if (!supersedes(session, this.store.session())) return;
    const wasSignedIn = this.store.isAuthenticated();
    this.store.set(session, 'adopted');
    if (!wasSignedIn) this.events.emit({ type: 'signed_in', at: this.clock.now(), user: userClaimsOf(session) });
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
        if (supersedes(message.session, this.latestAnnounced)) this.latestAnnounced = message.session;
        for (const waiter of [...this.waiters]) waiter(message.session);
        this.adopt(message.session);
        break;
      case 'signed-out':
        this.latestAnnounced = null;
        if (this.store.session() || this.store.isAuthenticated()) {
          this.store.clear('other-tab');
          this.events.emit({ type: 'signed_out', at: this.clock.now(), reason: 'other_tab' });
        }
        break;
      case 'session-request': {
        const session = this.store.session();
        if (session) this.post({ kind: 'session-response', requestId: message.requestId, session });
        break;
      }
      case 'session-response':
        for (const waiter of [...this.waiters]) waiter(message.session, message.requestId);
        break;
    }
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
    case 'signed-out':
      return { kind: 'signed-out' };
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
