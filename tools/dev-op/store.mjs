// In-memory storage for oidc-provider models. oidc-provider ships its own memory adapter, but
// that one is a size-bounded LRU we cannot enumerate; the test hooks need to find and drop every
// grant, access token or session at once, and long e2e runs must never lose entries to eviction.

// Entries outlive their own expiry a little so the provider can still tell "expired" from
// "unknown" (it looks expired refresh tokens up on purpose), as its own adapter does.
const GRACE_MS = 15_000;
const SWEEP_EVERY_MS = 60_000;

const GRANT_BOUND = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

export function createStore() {
  /** @type {Map<string, Map<string, { payload: object, expiresAt: number }>>} */
  const models = new Map();
  let lastSweep = Date.now();

  const table = (model) => {
    let entries = models.get(model);
    if (!entries) {
      entries = new Map();
      models.set(model, entries);
    }
    return entries;
  };

  const live = (entry) => (entry && entry.expiresAt > Date.now() ? entry : undefined);

  function sweep() {
    const now = Date.now();
    if (now - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = now;
    for (const entries of models.values()) {
      for (const [id, entry] of entries) {
        if (entry.expiresAt <= now) entries.delete(id);
      }
    }
  }

  function findWhere(model, predicate) {
    for (const entry of table(model).values()) {
      if (live(entry) && predicate(entry.payload)) return entry.payload;
    }
    return undefined;
  }

  /** Deletes every entry of `model` issued under the grant. */
  function dropByGrantId(model, grantId) {
    const entries = table(model);
    for (const [id, entry] of entries) {
      if (entry.payload.grantId === grantId) entries.delete(id);
    }
  }

  class DevAdapter {
    constructor(model) {
      this.model = model;
    }

    async upsert(id, payload, expiresIn) {
      sweep();
      const expiresAt =
        typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 + GRACE_MS : Infinity;
      table(this.model).set(id, { payload, expiresAt });
    }

    async find(id) {
      return live(table(this.model).get(id))?.payload;
    }

    async findByUid(uid) {
      return findWhere(this.model, (payload) => payload.uid === uid);
    }

    async findByUserCode(userCode) {
      return findWhere(this.model, (payload) => payload.userCode === userCode);
    }

    async consume(id) {
      const entry = live(table(this.model).get(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      table(this.model).delete(id);
    }

    async revokeByGrantId(grantId) {
      dropByGrantId(this.model, grantId);
    }
  }

  return {
    /** Adapter factory for the provider's `adapter` option. */
    adapter: (model) => new DevAdapter(model),

    /** Drops every stored entry of the given models; returns how many were dropped. */
    clear(...modelNames) {
      let dropped = 0;
      for (const model of modelNames) {
        const entries = table(model);
        for (const entry of entries.values()) if (live(entry)) dropped += 1;
        entries.clear();
      }
      return dropped;
    },

    /** The ids of the stored entries of `model` that have not expired (for the test hooks' look-ups). */
    liveIds(model) {
      return [...table(model)].filter(([, entry]) => live(entry)).map(([id]) => id);
    },

    /** Drops one grant and every token issued under it. */
    revokeGrant(grantId) {
      table('Grant').delete(grantId);
      for (const model of GRANT_BOUND) dropByGrantId(model, grantId);
    },

    /** Drops every grant together with every token that was issued under one. */
    clearGrants() {
      const grants = this.clear('Grant');
      for (const model of GRANT_BOUND) this.clear(model);
      return grants;
    },
  };
}
