import { DestroyRef, Injectable, NgZone, inject } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthBrowser } from '../session/browser';
import { Session, validSession } from '../session/session';
import { AUTH_CLOCK } from '../time/clock';
import { RenewalLedger } from './renewal-ledger';

/** What one tab tells the others. Sessions travel only between tabs of this app and client. */
export type TabMessage =
  | { readonly kind: 'session'; readonly session: Session }
  | { readonly kind: 'signed-out' }
  | { readonly kind: 'session-request'; readonly requestId: string }
  | { readonly kind: 'session-response'; readonly requestId: string; readonly session: Session };

export interface TabHandlers {
  /** Another tab signed in or renewed. */
  onSession(session: Session): void;
  /** Another tab signed out. */
  onSignedOut(): void;
  /** Another tab asks for the current session (a new tab, or one that woke up). */
  currentSession(): Session | null;
}

const FORMAT = 1;

/**
 * Coordinates the tabs of one app and client: renewals run under an exclusive Web Lock, so
 * that with refresh-token rotation no two tabs ever present the same refresh token; renewed
 * tokens, sign-in and sign-out travel over a BroadcastChannel; a ledger in IndexedDB (a
 * timestamp, never a token) tells the tab that takes the lock whether another tab holds newer
 * tokens, even when that tab's broadcast has not arrived yet; a shared "session holder" lock
 * tells a new tab whether any live tab can hand it a session.
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
  private readonly owner = `${this.config.clientId}@${this.config.authority}`;
  private readonly lockName = `${this.config.storageNamespace}:renew`;
  private readonly holderLockName = `${this.config.storageNamespace}:session-holder`;
  private channel: BroadcastChannel | null = null;
  private handlers: TabHandlers | null = null;
  private readonly waiters = new Set<(session: Session, answerTo?: string) => void>();
  /** The newest session another tab announced, for a tab that finds the ledger ahead of it. */
  private latestAnnounced: Session | null = null;
  /** Releases this tab's share of the session-holder lock; null while it holds no session. */
  private releaseHolderLock: (() => void) | null = null;

  /** Off on the server and when the app keeps its tabs isolated (config `tabs: 'isolated'`). */
  readonly enabled = this.browser.isBrowser && this.config.tabs === 'shared';
  private readonly ledger = new RenewalLedger(this.enabled ? (this.browser.window?.indexedDB ?? null) : null, this.config.storageNamespace);

  constructor() {
    inject(DestroyRef).onDestroy(() => {
      this.channel?.close();
      this.channel = null;
      this.ledger.close();
      this.setSessionHolder(false);
    });
  }

  listen(handlers: TabHandlers): void {
    this.handlers = handlers;
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
   * Tells the other tabs about a session this tab signed in or renewed. Resolves once the
   * ledger records it: a renewal awaits this before it releases the lock.
   */
  async announce(session: Session): Promise<void> {
    this.post({ kind: 'session', session });
    if (this.enabled) await this.ledger.write(session.receivedAt);
  }

  announceSignOut(): void {
    this.post({ kind: 'signed-out' });
  }

  /**
   * When the newest session of any tab was received, by the ledger; null when unknown. Read
   * under the renewal lock, it includes every renewal of a tab that held the lock before.
   */
  newestSessionAt(): Promise<number | null> {
    return this.enabled ? this.ledger.read() : Promise.resolve(null);
  }

  /** The newest session announced by another tab since this one started. */
  announced(): Session | null {
    return this.latestAnnounced;
  }

  /**
   * Holds a share of the "session holder" lock while this tab has a session to hand over,
   * so that a new tab knows whether asking is worth waiting for.
   */
  setSessionHolder(holds: boolean): void {
    if (!holds) {
      this.releaseHolderLock?.();
      this.releaseHolderLock = null;
      return;
    }
    const locks = this.locks();
    if (!locks || this.releaseHolderLock) return;
    const held = new Promise<void>((resolve) => (this.releaseHolderLock = resolve));
    locks.request(this.holderLockName, { mode: 'shared' }, () => held).catch(() => undefined);
  }

  /** Whether another live tab holds a session: true, false, or null when it cannot be known. */
  async otherTabHoldsSession(): Promise<boolean | null> {
    const locks = this.locks();
    if (!locks || !this.channel) return this.channel ? null : false;
    try {
      const { held } = await locks.query();
      return (held ?? []).some((lock) => lock.name === this.holderLockName);
    } catch {
      return null;
    }
  }

  /**
   * Asks the live tabs for their session. Resolves with the first session received at or
   * after `atLeast` (an answer, or a broadcast of another tab), or after `timeoutMs` with the
   * newest one that came (null when none did). Without `atLeast`, the first answer wins.
   */
  requestSession(timeoutMs: number, atLeast = 0): Promise<Session | null> {
    const window = this.browser.window;
    if (!this.channel || !window) return Promise.resolve(null);
    const requestId = Array.from(window.crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('');
    return new Promise((resolve) => {
      let newest: Session | null = null;
      const finish = (session: Session | null) => {
        this.clock.clearTimeout(timer);
        this.waiters.delete(take);
        resolve(session);
      };
      const take = (session: Session, answer?: string) => {
        if (answer !== undefined && answer !== requestId) return;
        if (!newest || session.receivedAt > newest.receivedAt) newest = session;
        if (session.receivedAt >= atLeast) finish(session);
      };
      const timer = this.clock.setTimeout(() => finish(newest), timeoutMs);
      this.waiters.add(take);
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
    if (!message || !this.handlers) return;
    switch (message.kind) {
      case 'session':
        if (!this.latestAnnounced || message.session.receivedAt >= this.latestAnnounced.receivedAt) this.latestAnnounced = message.session;
        for (const waiter of [...this.waiters]) waiter(message.session);
        this.handlers.onSession(message.session);
        break;
      case 'signed-out':
        this.latestAnnounced = null;
        this.handlers.onSignedOut();
        break;
      case 'session-request': {
        const session = this.handlers.currentSession();
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
