import { SessionPosition } from '../core/session';

/**
 * What the tabs of an app and client know of its token sets, never a token:
 * - `newest`: the newest token set (a sign-in or a renewal);
 * - `chains`: the newest renewal count of each recent sign-in, so that a tab left behind on
 *   an older sign-in still learns that its refresh token was spent;
 * - `signedOutUpTo`: the epoch of the last logout: no token set of that epoch or before is
 *   renewed or taken in again.
 */
export interface LedgerRecord {
  readonly newest?: SessionPosition;
  /** The largest epoch ever recorded: it never goes back, also when `newest` does. */
  readonly maxEpoch?: number;
  readonly chains: Readonly<Record<string, number>>;
  readonly signedOutUpTo?: number;
}

/**
 * What a read found: the record, `empty` when nothing was recorded (a new browser profile), or
 * `unknown` when IndexedDB failed or did not answer in time.
 */
export type LedgerRead = { readonly state: 'known'; readonly record: LedgerRecord } | { readonly state: 'empty' } | { readonly state: 'unknown' };

/** How long one IndexedDB operation may take: it runs under the renewal lock of every tab. */
export const LEDGER_TIMEOUT_MS = 1_500;
/** How many sign-ins the record remembers the renewal count of. */
const CHAINS_KEPT = 8;

/**
 * The record of the tabs' token sets, in IndexedDB because IndexedDB is the one shared store
 * whose reads are ordered after the writes of a tab that already released the renewal lock.
 * localStorage and BroadcastChannel are not: Chromium hands a Web Lock to the next tab before
 * another tab's localStorage write or broadcast reaches it (they travel on separate IPC
 * channels), and a tab that decided on that stale view presented a refresh token that had
 * just been rotated out.
 *
 * Every method resolves, never rejects, and gives up after LEDGER_TIMEOUT_MS: a read that fails
 * says `unknown`, so that the caller decides on other evidence instead of assuming that no
 * other tab renewed; a failed connection is dropped and opened again next time.
 */
export class RenewalLedger {
  private database: Promise<IDBDatabase | null> | null = null;

  /**
   * @param factory the page's IndexedDB, null where there is none
   * @param key one record per app and client
   * @param setTimer calls back after the given milliseconds and returns a cancel function
   */
  constructor(
    private readonly factory: IDBFactory | null,
    private readonly key: string,
    private readonly setTimer: (callback: () => void, ms: number) => () => void,
  ) {}

  read(): Promise<LedgerRead> {
    return this.run<LedgerRead>(
      'readonly',
      async (store) => {
        const value = await request<unknown>(store.get(this.key));
        if (value === undefined) return { state: 'empty' };
        return isRecord(value) ? { state: 'known', record: value } : { state: 'unknown' };
      },
      { state: 'unknown' },
    );
  }

  /** Records `position` as the newest token set. Resolves true once committed. */
  recordNewest(position: SessionPosition): Promise<boolean> {
    return this.update((record) => {
      const chains = { ...record.chains };
      delete chains[position.chain]; // re-added last: the most recent sign-ins are kept
      chains[position.chain] = Math.max(position.version, record.chains[position.chain] ?? 0);
      const kept = Object.entries(chains).slice(-CHAINS_KEPT);
      return { ...record, newest: pick(position), maxEpoch: Math.max(position.epoch, record.maxEpoch ?? -1), chains: Object.fromEntries(kept) };
    });
  }

  /** Records a logout of every token set up to `epoch`. Resolves true once committed. */
  recordSignOut(epoch: number): Promise<boolean> {
    return this.update((record) => ({ ...record, signedOutUpTo: Math.max(epoch, record.signedOutUpTo ?? -1) }));
  }

  close(): void {
    const database = this.database;
    this.database = null;
    void database?.then((open) => open?.close());
  }

  /** Reads, changes and writes the record in one transaction: tabs never lose each other's writes. */
  private update(change: (record: LedgerRecord) => LedgerRecord): Promise<boolean> {
    return this.run(
      'readwrite',
      async (store) => {
        const value = await request<unknown>(store.get(this.key));
        store.put(change(isRecord(value) ? value : { chains: {} }), this.key);
        return true;
      },
      false,
    );
  }

  /**
   * One transaction, resolved with `work`'s result once the transaction completed, or with
   * `fallback` on any failure or after the timeout. A failure drops the connection.
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

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

function pick({ epoch, chain, version }: SessionPosition): SessionPosition {
  return { epoch, chain, version };
}

function isPosition(value: unknown): value is SessionPosition {
  const record = value as Record<string, unknown> | null;
  return typeof record === 'object' && record !== null && typeof record['chain'] === 'string' && isCount(record['epoch']) && isCount(record['version']);
}

function isRecord(value: unknown): value is LedgerRecord {
  const record = value as Record<string, unknown> | null;
  if (typeof record !== 'object' || record === null) return false;
  const chains = record['chains'] as Record<string, unknown> | null;
  return (
    (record['newest'] === undefined || isPosition(record['newest'])) &&
    typeof chains === 'object' &&
    chains !== null &&
    Object.values(chains).every(isCount) &&
    (record['signedOutUpTo'] === undefined || isCount(record['signedOutUpTo'])) &&
    (record['maxEpoch'] === undefined || isCount(record['maxEpoch']))
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
