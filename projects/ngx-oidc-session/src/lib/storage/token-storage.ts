/**
 * Where the session (tokens and claims) is kept. Synchronous like the Web Storage API so
 * that the session can be read at app start without a flash of the signed-out state.
 * Implementations must not throw for a missing key: `getItem` returns null.
 */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

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
 * instead of failing the sign-in.
 */
export class WebTokenStorage implements TokenStorage {
  private readonly fallback = new MemoryTokenStorage();

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
      if (!this.area) throw new Error('no storage');
      this.area.setItem(key, value);
      this.fallback.removeItem(key);
    } catch {
      this.fallback.setItem(key, value);
    }
  }

  removeItem(key: string): void {
    this.fallback.removeItem(key);
    try {
      this.area?.removeItem(key);
    } catch {
      // nothing stored there then
    }
  }
}

export type StorageChoice = 'session' | 'local' | 'memory' | TokenStorage;

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
