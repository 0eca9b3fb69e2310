import { Injectable, inject, signal } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { TOKEN_STORAGE } from '../storage/storage-tokens';
import { Session, parseStoredSession, sameSession, serializeSession, supersedes } from './session';

/**
 * The one source of truth for the session. State, signals and events derive from it, and
 * only token sets that passed every check are written to it.
 */
@Injectable({ providedIn: 'root' })
export class SessionStore {
  private readonly config = inject(AUTH_CONFIG);
  private readonly storage = inject(TOKEN_STORAGE);
  private readonly key = `${this.config.storageNamespace}:session`;
  /** Written into every entry so that another app's or client's entry is never taken for ours. */
  private readonly owner = `${this.config.clientId}@${this.config.authority}`;
  private readonly current = signal<Session | null>(null);
  private readonly listeners: ((session: Session | null) => void)[] = [];

  readonly session = this.current.asReadonly();

  /** Calls `listener` synchronously after every change of this tab's session. */
  onChange(listener: (session: Session | null) => void): void {
    this.listeners.push(listener);
  }

  /** Reads the stored session; a corrupt or foreign entry is removed and gives null. */
  load(): Session | null {
    const text = this.storage.getItem(this.key);
    const session = parseStoredSession(text, this.owner);
    if (text !== null && session === null) this.storage.removeItem(this.key);
    this.publish(session);
    return session;
  }

  /** Re-reads storage without changing the in-memory session (another tab may have renewed). */
  peekStored(): Session | null {
    return parseStoredSession(this.storage.getItem(this.key), this.owner);
  }

  set(session: Session): void {
    this.storage.setItem(this.key, serializeSession(session, this.owner));
    this.publish(session);
  }

  clear(): void {
    this.storage.removeItem(this.key);
    this.publish(null);
  }

  /**
   * Forgets this tab's token set, but leaves shared storage alone when it already holds
   * another tab's newer one (`storage: 'local'`): a tab left behind must not delete them.
   */
  forget(): void {
    const stored = this.peekStored();
    const mine = this.current();
    if (!stored || !mine || !supersedes(stored, mine) || sameSession(stored, mine)) this.storage.removeItem(this.key);
    this.publish(null);
  }

  private publish(session: Session | null): void {
    this.current.set(session);
    for (const listener of this.listeners) listener(session);
  }
}
