import { Injectable, inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { AUTH_CLOCK } from '../platform/clock';
import { ATTEMPT_STORAGE } from '../platform/web-storage';

/** A sign-in (or silent renew) attempt: what must be remembered until its response arrives. */
export interface AuthorizationAttempt {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export interface StoredAttempt extends AuthorizationAttempt {
  /** The app-relative URL to return to after sign-in. */
  readonly returnUrl: string;
  readonly createdAt: number;
}

/** A sign-in attempt older than this is stale: its callback is refused. */
const ATTEMPT_MAX_AGE_MS = 30 * 60 * 1000;

/**
 * The sign-in attempt in progress and the state of a logout at the OP: what must survive the
 * round trip to the OP, kept per tab (sessionStorage), each entry used once.
 */
@Injectable({ providedIn: 'root' })
export class SignInAttempts {
  private readonly storage = inject(ATTEMPT_STORAGE);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly namespace = inject(AUTH_CONFIG).storageNamespace;
  private readonly attemptKey = `${this.namespace}:sign-in`;
  private readonly logoutKey = `${this.namespace}:sign-out`;

  save(attempt: AuthorizationAttempt, returnUrl: string): void {
    const stored: StoredAttempt = { ...attempt, returnUrl, createdAt: this.clock.now() };
    this.storage.setItem(this.attemptKey, JSON.stringify(stored));
  }

  /** The attempt in progress, removed whatever happens next; null when none, stale or malformed. */
  take(): StoredAttempt | null {
    const text = this.storage.getItem(this.attemptKey);
    this.storage.removeItem(this.attemptKey);
    try {
      const attempt = JSON.parse(text ?? 'null') as Partial<StoredAttempt> | null;
      const fresh = typeof attempt?.createdAt === 'number' && this.clock.now() - attempt.createdAt < ATTEMPT_MAX_AGE_MS;
      const complete = (['state', 'nonce', 'codeVerifier', 'redirectUri', 'returnUrl'] as const).every((field) => typeof attempt?.[field] === 'string');
      return fresh && complete ? (attempt as StoredAttempt) : null;
    } catch {
      return null;
    }
  }

  saveLogoutState(state: string): void {
    this.storage.setItem(this.logoutKey, state);
  }

  /** Whether `state` is the one our logout sent to the OP; a match is used up. */
  takeLogoutState(state: string | null): boolean {
    const expected = this.storage.getItem(this.logoutKey);
    if (expected === null || state !== expected) return false;
    this.storage.removeItem(this.logoutKey);
    return true;
  }
}
