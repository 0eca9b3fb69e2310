import { InjectionToken, inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { StorageChoice, TokenStorage } from '../core/token-storage';
import { AuthBrowser } from './browser';

/** Keeps the session for this page only: a reload signs the user out (or renews silently). */
export class MemoryTokenStorage implements TokenStorage {
  private readonly entries = new Map<string, string>();

  getItem(key: string): string | null {
    return this.entries.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.entries.set(key, value);
  }

  removeItem(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * Wraps a Web Storage area. Browsers throw from storage in some modes (Safari private
 * windows, a full quota, storage disabled by policy): then we keep the value in memory
 * instead of failing the sign-in, and `refusal` says why, for the one `error` event.
 */
export class WebTokenStorage implements TokenStorage {
  private readonly fallback = new MemoryTokenStorage();
  /** The first error the area threw on a write; null while every write went through. */
  refusal: unknown = null;

  constructor(private readonly area: Storage | undefined) {}

  getItem(key: string): string | null {
    try {
      return this.area?.getItem(key) ?? this.fallback.getItem(key);
    } catch {
      return this.fallback.getItem(key);
    }
  }

  setItem(key: string, value: string): void {
    try {
      if (!this.area) throw new DOMException('No Web Storage in this browser.', 'SecurityError');
      this.area.setItem(key, value);
      this.fallback.removeItem(key);
    } catch (error) {
      this.fallback.setItem(key, value);
      this.refusal ??= error;
      // The area still holds the value before this one (a spent refresh token after a
      // rotation): it must not outrank the one in memory.
      this.removeFromArea(key);
    }
  }

  removeItem(key: string): void {
    this.fallback.removeItem(key);
    this.removeFromArea(key);
  }

  private removeFromArea(key: string): void {
    try {
      this.area?.removeItem(key);
    } catch {
      // nothing stored there then
    }
  }
}

/** Web Storage areas are read lazily and only in a browser (server-side rendering has none). */
export function createTokenStorage(choice: StorageChoice, window: Window | null): TokenStorage {
  if (typeof choice === 'object') return choice;
  if (choice === 'memory' || !window) return new MemoryTokenStorage();
  const area = (() => {
    try {
      return choice === 'local' ? window.localStorage : window.sessionStorage;
    } catch {
      return undefined;
    }
  })();
  return new WebTokenStorage(area);
}

/** The storage chosen by config for the session and the discovery cache. */
export const TOKEN_STORAGE = new InjectionToken<TokenStorage>('ngx-oidc-session token storage', {
  providedIn: 'root',
  factory: () => createTokenStorage(inject(AUTH_CONFIG).storage, inject(AuthBrowser).window),
});

/**
 * Per-tab storage for sign-in attempts (state, nonce, PKCE verifier) that must survive the
 * redirect to the OP and back, whatever the session storage choice is.
 */
export const ATTEMPT_STORAGE = new InjectionToken<TokenStorage>('ngx-oidc-session attempt storage', {
  providedIn: 'root',
  factory: () => createTokenStorage('session', inject(AuthBrowser).window),
});
