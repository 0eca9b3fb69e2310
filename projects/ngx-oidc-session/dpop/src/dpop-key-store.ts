// withDPoP() (RFC 9449): the key pairs in IndexedDB and oauth4webapi's DPoP handle for each. The
// lazy chunk of the ngx-oidc-session/dpop entry point (loaded by with-dpop.ts with import()):
// never in the start bundle, and in no build of an app that does not import that entry point.
import * as oauth from 'oauth4webapi';
// Types only: the error class comes from withDPoP() (options.error), so that this module needs
// nothing of the start bundle, wherever it is bundled.
import type { AuthError, AuthErrorCode, ɵDPoPKeys as DPoPKeys } from 'ngx-oidc-session';

/**
 * The two oauth4webapi handles of one key: `op` for the OP's endpoints (it keeps the OP's nonces
 * from its answers, RFC 9449 8), `resource` for proofs to resource servers only (their nonces,
 * RFC 9449 9). Apart, so that an API's nonce never replaces the OP's in a proof to the OP when
 * both share an origin (an OP proxied on the API's origin).
 */
interface KeyHandles {
  readonly op: oauth.DPoPHandle;
  readonly resource: oauth.DPoPHandle;
}

/** One key pair of one auth instance, as kept in IndexedDB (structured clone keeps CryptoKeys non-extractable). */
interface KeyRecord {
  readonly namespace: string;
  readonly jkt: string;
  readonly keyPair: CryptoKeyPair;
  readonly createdAt: number;
}

// A database of its own: the renewal ledger's can change version without touching it.
const DATABASE = 'ngx-oidc-session-dpop';
const STORE = 'keys';

export interface DPoPKeyStoreOptions {
  readonly indexedDB: IDBFactory;
  /** config.storageNamespace: every record of this instance is keyed by it. */
  readonly namespace: string;
  readonly clientId: string;
  /** The nonce last remembered for a resource server's origin (RFC 9449 9), or undefined. */
  readonly nonceFor: (origin: string) => string | undefined;
  readonly now: () => number;
  /** Makes the AuthError to throw (the core's class, passed in: see the imports). */
  readonly error: (code: AuthErrorCode, message: string) => AuthError;
}

/**
 * The key pairs DPoP-bound tokens are bound to, one per sign-in, shared by the tabs of the
 * session through IndexedDB (records keyed by [namespace, jkt]), and the proofs made with them.
 * Every proof is made by oauth4webapi; nothing here signs by hand.
 */
export class DPoPKeyStore implements DPoPKeys {
  private database: Promise<IDBDatabase> | null = null;
  /** The handles of each key (see KeyHandles). */
  private readonly handles = new Map<string, Promise<KeyHandles>>();
  private readonly client: oauth.Client;

  constructor(private readonly options: DPoPKeyStoreOptions) {
    this.client = { client_id: options.clientId };
  }

  /**
   * A new key pair for a new sign-in, stored before its thumbprint (the `dpop_jkt`) is used.
   * The private key is made non-extractable: script in the page can sign with it while it runs
   * there, but can never take it away (RFC 9449 2, 11.1).
   */
  async create(): Promise<string> {
    let keyPair: CryptoKeyPair;
    try {
      keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    } catch {
      throw this.unavailable('This browser cannot make ECDSA P-256 keys (WebCrypto).');
    }
    const handles = this.newHandles(keyPair);
    const jkt = await handles.op.calculateThumbprint();
    const record: KeyRecord = { namespace: this.options.namespace, jkt, keyPair, createdAt: this.options.now() };
    await this.transact('readwrite', (store) => store.put(record));
    this.handles.set(jkt, Promise.resolve(handles));
    return jkt;
  }

  /** The handle of a stored key; rejects with `no_session` when the key is gone (signed out elsewhere). */
  handle(jkt: string): Promise<oauth.DPoPHandle> {
    return this.handlesOf(jkt).then((handles) => handles.op);
  }

  private handlesOf(jkt: string): Promise<KeyHandles> {
    let handle = this.handles.get(jkt);
    if (!handle) {
      handle = this.transact<KeyRecord | undefined>('readonly', (store) => store.get([this.options.namespace, jkt])).then((record) => {
        if (!record?.keyPair) throw this.options.error('no_session', ngDevMode ? "The DPoP key the session's tokens are bound to is gone from this browser (signed out in another tab?)." : '');
        return this.newHandles(record.keyPair);
      });
      this.handles.set(jkt, handle);
      handle.catch(() => this.handles.delete(jkt));
    }
    return handle;
  }

  async has(jkt: string): Promise<boolean> {
    return this.handle(jkt).then(
      () => true,
      () => false,
    );
  }

  /**
   * A proof for one request to a resource server (RFC 9449 4.2, 7.1), made by oauth4webapi's
   * own protected-resource request with a fetch that only captures the `DPoP` header and sends
   * nothing: htm, htu without query and fragment, ath, iat, a unique jti, and the origin's nonce.
   */
  async proof(jkt: string, method: string, url: string, accessToken: string): Promise<string> {
    const handle = (await this.handlesOf(jkt)).resource;
    const target = new URL(url);
    let proof: string | null = null;
    await oauth.protectedResourceRequest(accessToken, method, target, new Headers(), null, {
      DPoP: handle,
      [oauth.customFetch]: async (_url, init) => {
        proof = new Headers(init.headers).get('dpop');
        return new Response(null, { status: 204 });
      },
      // Only the proof's htu depends on the URL: nothing is sent, so http is no risk here.
      [oauth.allowInsecureRequests]: target.protocol === 'http:',
    });
    if (!proof) throw this.options.error('invalid_response', ngDevMode ? 'No DPoP proof was made.' : '');
    return proof;
  }

  /** Deletes one key (a sign-in that was not taken). */
  async delete(jkt: string): Promise<void> {
    this.handles.delete(jkt);
    await this.transact('readwrite', (store) => store.delete([this.options.namespace, jkt]));
  }

  /**
   * After a sign-in was committed, and in the sweep after start-up: deletes the keys of this
   * instance but those in `keep`, namely `drop` (the replaced session's) and those older than
   * `maxAgeMs`. A younger key may be that of a sign-in another tab has in progress, and stays.
   */
  async prune(keep: readonly (string | undefined)[], drop: string | undefined, maxAgeMs: number): Promise<void> {
    const before = this.options.now() - maxAgeMs;
    await this.deleteWhere((record) => !keep.includes(record.jkt) && (record.jkt === drop || record.createdAt < before));
  }

  /**
   * Deletes every key of this instance made up to `madeBy` (logout: a sign-in another tab
   * commits after the logout began keeps its key); resolves once the deletion is committed.
   */
  deleteAll(madeBy = Infinity): Promise<void> {
    return this.deleteWhere((record) => record.createdAt <= madeBy);
  }

  private async deleteWhere(doomed: (record: KeyRecord) => boolean): Promise<void> {
    const { namespace } = this.options;
    // [namespace] sorts before every [namespace, jkt], and an array after every string jkt.
    const range = IDBKeyRange.bound([namespace], [namespace, []]);
    const records = await this.transact<KeyRecord[]>('readonly', (store) => store.getAll(range));
    const jkts = records.filter(doomed).map((record) => record.jkt);
    for (const jkt of jkts) this.handles.delete(jkt);
    if (jkts.length) await this.transact('readwrite', (store) => jkts.map((jkt) => store.delete([namespace, jkt])).at(-1)!);
  }

  private unavailable(message: string): AuthError {
    return this.options.error('dpop_unavailable', ngDevMode ? `withDPoP(): ${message}` : '');
  }

  private newHandles(keyPair: CryptoKeyPair): KeyHandles {
    return {
      op: oauth.DPoP(this.client, keyPair),
      resource: oauth.DPoP(this.client, keyPair, {
        // RFC 9449 9: a resource server's nonce, by the origin of the URL the proof is for. Only
        // in proof(): the OP handle keeps the OP's nonces from its own answers.
        [oauth.modifyAssertion]: (_header, payload) => {
          const nonce = typeof payload['htu'] === 'string' ? this.options.nonceFor(new URL(payload['htu']).origin) : undefined;
          if (nonce !== undefined) payload['nonce'] = nonce;
        },
      }),
    };
  }

  /** Runs one request in a transaction; resolves with its result once the transaction is committed. */
  private async transact<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const database = await this.open();
    return new Promise<T>((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const request = run(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result as T);
      transaction.onerror = transaction.onabort = () => reject(this.unavailable('IndexedDB refused a DPoP key operation.'));
    });
  }

  private open(): Promise<IDBDatabase> {
    this.database ??= new Promise<IDBDatabase>((resolve, reject) => {
      const opening = this.options.indexedDB.open(DATABASE, 1);
      opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: ['namespace', 'jkt'] });
      opening.onsuccess = () => {
        const database = opening.result;
        database.onversionchange = () => {
          database.close();
          this.database = null;
        };
        resolve(database);
      };
      opening.onerror = opening.onblocked = () => reject(this.unavailable('IndexedDB could not be opened for the DPoP keys.'));
    }).catch((error: unknown) => {
      this.database = null; // tried again next time
      throw error;
    });
    return this.database;
  }
}

