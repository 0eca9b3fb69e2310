import { DestroyRef, Injectable, NgZone, inject } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthBrowser } from '../session/browser';
import { Session, validSession } from '../session/session';

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
 * tokens, sign-in and sign-out travel over a BroadcastChannel; a small ledger in localStorage
 * (a timestamp, never a token) tells a tab that another one renewed while it was not looking.
 *
 * Without Web Locks (old browsers) renewals are not serialised across tabs: the ledger and
 * the broadcast still make a tab that is late adopt the newer tokens, but two tabs that are due
 * at the very same moment may both renew, and with rotation the OP may then end the session.
 */
@Injectable({ providedIn: 'root' })
export class TabCoordinator {
  private readonly config = inject(AUTH_CONFIG);
  private readonly browser = inject(AuthBrowser);
  private readonly zone = inject(NgZone);
  private readonly owner = `${this.config.clientId}@${this.config.authority}`;
  private readonly lockName = `${this.config.storageNamespace}:renew`;
  private readonly ledgerKey = `${this.config.storageNamespace}:last-renewal`;
  private channel: BroadcastChannel | null = null;
  private handlers: TabHandlers | null = null;
  private readonly pending = new Map<string, (session: Session) => void>();
  /** The newest session another tab announced, for a tab that finds the ledger ahead of it. */
  private latestAnnounced: Session | null = null;

  /** Off on the server and when the app keeps its tabs isolated (config `tabs: 'isolated'`). */
  readonly enabled = this.browser.isBrowser && this.config.tabs === 'shared';

  constructor() {
    inject(DestroyRef).onDestroy(() => {
      this.channel?.close();
      this.channel = null;
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
    const locks = this.enabled ? this.browser.window?.navigator?.locks : undefined;
    if (!locks) return task();
    return locks.request(this.lockName, { mode: 'exclusive' }, task) as Promise<T>;
  }

  /** Tells the other tabs about a session this tab signed in or renewed. */
  announce(session: Session, renewed: boolean): void {
    if (renewed) this.writeLedger(session.receivedAt);
    this.post({ kind: 'session', session });
  }

  announceSignOut(): void {
    this.post({ kind: 'signed-out' });
  }

  /** When any tab last renewed, by the ledger; null when unknown. */
  lastRenewalAt(): number | null {
    if (!this.enabled) return null;
    try {
      const value = Number(this.browser.window?.localStorage?.getItem(this.ledgerKey));
      return Number.isFinite(value) && value > 0 ? value : null;
    } catch {
      return null;
    }
  }

  /** The newest session announced by another tab since this one started. */
  announced(): Session | null {
    return this.latestAnnounced;
  }

  /** Asks the live tabs for their session; resolves with the first answer, or null after `timeoutMs`. */
  requestSession(timeoutMs: number): Promise<Session | null> {
    const window = this.browser.window;
    if (!this.channel || !window) return Promise.resolve(null);
    const requestId = Array.from(window.crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('');
    return new Promise((resolve) => {
      // Real time on purpose: this waits for other tabs, not for the session's clock.
      const timer = window.setTimeout(() => {
        this.pending.delete(requestId);
        resolve(null);
      }, timeoutMs);
      this.pending.set(requestId, (session) => {
        window.clearTimeout(timer);
        this.pending.delete(requestId);
        resolve(session);
      });
      this.post({ kind: 'session-request', requestId });
    });
  }

  private post(message: TabMessage): void {
    this.channel?.postMessage({ format: FORMAT, owner: this.owner, ...message });
  }

  private writeLedger(receivedAt: number): void {
    try {
      this.browser.window?.localStorage?.setItem(this.ledgerKey, String(receivedAt));
    } catch {
      // no localStorage: tabs still learn of renewals from the broadcast
    }
  }

  /** Every incoming message is checked: another app's or client's, or a malformed one, is ignored. */
  private receive(data: unknown): void {
    const message = parseTabMessage(data, this.owner);
    if (!message || !this.handlers) return;
    switch (message.kind) {
      case 'session':
        if (!this.latestAnnounced || message.session.receivedAt >= this.latestAnnounced.receivedAt) this.latestAnnounced = message.session;
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
        this.pending.get(message.requestId)?.(message.session);
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
