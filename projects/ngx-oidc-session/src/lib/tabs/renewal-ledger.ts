/**
 * When the newest session of an app and client was received, by any tab: a timestamp, never a
 * token. It lives in IndexedDB because IndexedDB is the one shared store whose reads are
 * ordered after the writes of a tab that already released the renewal lock. localStorage and
 * BroadcastChannel are not: Chromium hands a Web Lock to the next tab before another tab's
 * localStorage write or broadcast reaches it (they travel on separate IPC channels), and a tab
 * that decided on that stale view presented a refresh token that had just been rotated out.
 *
 * Every method resolves, never rejects: without IndexedDB (blocked by policy, or a failure)
 * reads give null and the tabs fall back to what the broadcast tells them.
 */
export class RenewalLedger {
  private database: Promise<IDBDatabase | null> | null = null;

  constructor(
    private readonly factory: IDBFactory | null,
    private readonly key: string,
  ) {}

  /** The newest session's receipt time, or null when unknown. */
  async read(): Promise<number | null> {
    const database = await this.open();
    if (!database) return null;
    try {
      const value = await request<unknown>(database.transaction(STORE, 'readonly').objectStore(STORE).get(this.key));
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    } catch {
      return null;
    }
  }

  /**
   * Records a session received at `receivedAt` unless a newer one is recorded. Resolves once
   * the write is committed, so that a tab taking the lock after this one sees it.
   */
  async write(receivedAt: number): Promise<void> {
    const database = await this.open();
    if (!database) return;
    try {
      const transaction = database.transaction(STORE, 'readwrite', { durability: 'relaxed' });
      const store = transaction.objectStore(STORE);
      const done = committed(transaction);
      const current = await request<unknown>(store.get(this.key));
      if (typeof current !== 'number' || !(current >= receivedAt)) store.put(receivedAt, this.key);
      await done;
    } catch {
      // the broadcast still tells the live tabs
    }
  }

  close(): void {
    void this.database?.then((database) => database?.close());
    this.database = null;
  }

  private open(): Promise<IDBDatabase | null> {
    this.database ??= new Promise((resolve) => {
      if (!this.factory) return resolve(null);
      try {
        const opening = this.factory.open(DATABASE, 1);
        opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
        opening.onsuccess = () => {
          const database = opening.result;
          // A newer version of the library upgrading the database: let it, and reopen later.
          database.onversionchange = () => {
            database.close();
            this.database = null;
          };
          resolve(database);
        };
        opening.onerror = () => resolve(null);
        opening.onblocked = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
    return this.database;
  }
}

// A database of its own: other stores of the library can change version without touching it.
const DATABASE = 'ngx-oidc-session-renewal-ledger';
const STORE = 'ledger';

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
