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

/** `session` (default, per tab), `local`, `memory`, or your own TokenStorage. */
export type StorageChoice = 'session' | 'local' | 'memory' | TokenStorage;
