import { Injectable, inject, signal } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { TOKEN_STORAGE } from '../storage/storage-tokens';
import { Session, parseStoredSession, serializeSession } from './session';

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

  readonly session = this.current.asReadonly();

  /** Reads the stored session; a corrupt or foreign entry is removed and gives null. */
  load(): Session | null {
    const text = this.storage.getItem(this.key);
    const session = parseStoredSession(text, this.owner);
    if (text !== null && session === null) this.storage.removeItem(this.key);
    this.current.set(session);
    return session;
  }

  /** Re-reads storage without changing the in-memory session (another tab may have renewed). */
  peekStored(): Session | null {
    return parseStoredSession(this.storage.getItem(this.key), this.owner);
  }

  set(session: Session): void {
    this.storage.setItem(this.key, serializeSession(session, this.owner));
    this.current.set(session);
  }

  clear(): void {
    this.storage.removeItem(this.key);
    this.current.set(null);
  }
}
