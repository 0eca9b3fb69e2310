import { SessionPosition } from '../core/session';

/**
 * The newest token set of an app and client (its position, never a token), or, with
 * `signedOut`, the last one before the user signed out.
 */
export interface LedgerEntry extends SessionPosition {
  readonly signedOut?: boolean;
}

/**
 * What a read found: the newest token set any tab recorded, `empty` when none did (no
 * renewal since sign-out, or a new browser profile), `unknown` when IndexedDB failed or did
 * not answer in time.
 */
export type LedgerRead = { readonly state: 'known'; readonly entry: LedgerEntry } | { readonly state: 'empty' } | { readonly state: 'unknown' };

/** How long one IndexedDB operation may take: it runs under the renewal lock of every tab. */
export const LEDGER_TIMEOUT_MS = 1_500;

/**
 * Which token set is the newest of this app and client: a sign-in chain id and a renewal
 * count, never a token. It lives in IndexedDB because IndexedDB is the one shared store whose
 * reads are ordered after the writes of a tab that already released the renewal lock.
 * localStorage and BroadcastChannel are not: Chromium hands a Web Lock to the next tab before
 * another tab's localStorage write or broadcast reaches it (they travel on separate IPC
 * channels), and a tab that decided on that stale view presented a refresh token that had
 * just been rotated out.
 *
 * Every method resolves, never rejects, and gives up after LEDGER_TIMEOUT_MS: a read that
 * fails says `unknown`, so that the caller can decide on other evidence instead of assuming
 * that no other tab renewed.
 */
export class RenewalLedger {
  private database: Promise<IDBDatabase | null> | null = null;

  /**
   * @param factory the page's IndexedDB, null where there is none
   * @param key one entry per app and client
   * @param setTimer calls back after the given milliseconds and returns a cancel function
   *   (the library's clock, outside the Angular zone)
   */
  constructor(
    private readonly factory: IDBFactory | null,
    private readonly key: string,
    private readonly setTimer: (callback: () => void, ms: number) => () => void,
  ) {}

  read(): Promise<LedgerRead> {
    return this.run<LedgerRead>('readonly', async (store) => {
      const value = await request<unknown>(store.get(this.key));
      if (value === undefined) return { state: 'empty' };
      return isEntry(value) ? { state: 'known', entry: value } : { state: 'unknown' };
    }, { state: 'unknown' });
  }

  /** Records the newest token set. Resolves once committed (or given up on): true when it was. */
  write(entry: LedgerEntry): Promise<boolean> {
    const { epoch, chain, version, signedOut } = entry;
    return this.run('readwrite', async (store) => {
      store.put(signedOut ? { epoch, chain, version, signedOut: true } : { epoch, chain, version }, this.key);
      return true;
    }, false);
  }

  close(): void {
    const database = this.database;
    this.database = null;
    void database?.then((open) => open?.close());
  }

  /**
   * One transaction, resolved with `work`'s result once the transaction completed, or with
   * `fallback` on any failure or after the timeout. A failure drops the connection, so that
   * the next call opens a new one (a connection can die, as Safari's "Connection to Indexed
   * Database server lost" shows).
   */
  private async run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => Promise<T>, fallback: T): Promise<T> {
    if (!this.factory) return fallback;
    let timedOut = false;
    const attempt = (async () => {
      const database = await this.open();
      if (!database || timedOut) return fallback;
      const transaction = database.transaction(STORE, mode, { durability: 'relaxed' });
      const done = committed(transaction);
      const result = await work(transaction.objectStore(STORE)).catch((error: unknown) => {
        done.catch(() => undefined);
        throw error;
      });
      await done;
      return result;
    })();
    let cancelTimer = () => undefined as void;
    const outcome = await Promise.race([
      attempt.catch(() => FAILED),
      new Promise<typeof FAILED>((resolve) => (cancelTimer = this.setTimer(() => resolve(FAILED), LEDGER_TIMEOUT_MS))),
    ]);
    cancelTimer();
    if (outcome === FAILED) {
      timedOut = true;
      attempt.catch(() => undefined);
      this.close();
      return fallback;
    }
    return outcome as T;
  }

  private open(): Promise<IDBDatabase | null> {
    this.database ??= new Promise((resolve) => {
      if (!this.factory) return resolve(null);
      try {
        const opening = this.factory.open(DATABASE, 1);
        opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
        opening.onsuccess = () => {
          const database = opening.result;
          // Another version of the library upgrading the database: let it, and reopen later.
          database.onversionchange = () => this.close();
          database.onclose = () => {
            if (this.database === current) this.database = null;
          };
          resolve(database);
        };
        opening.onerror = () => resolve(null);
        opening.onblocked = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
    const current = this.database;
    return current.then((database) => {
      // A failed open is not remembered: the next operation tries again.
      if (!database && this.database === current) this.database = null;
      return database;
    });
  }
}

// A database of its own: other stores of the library can change version without touching it.
const DATABASE = 'ngx-oidc-session-renewal-ledger';
const STORE = 'ledger';
const FAILED = Symbol('failed');

function isEntry(value: unknown): value is LedgerEntry {
  const record = value as Record<string, unknown> | null;
  const isCount = (count: unknown) => typeof count === 'number' && Number.isInteger(count) && count >= 0;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record['chain'] === 'string' &&
    isCount(record['epoch']) &&
    isCount(record['version']) &&
    (record['signedOut'] === undefined || record['signedOut'] === true)
  );
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error);
  });
}

function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}
