// Test-mode instrumentation: request counters, simulated outages, one-shot tampering with
// protocol responses, and bulk invalidation of grants, tokens and sessions. None of this is
// installed unless the environment runs in test mode, so /__test/* is a 404 otherwise.
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { TTL_KEYS, positiveInteger } from './config.mjs';
import { ROUTES } from './provider.mjs';
import { corsHeaders, readJson } from './http-util.mjs';
import { createApiNonce, createReplayCache } from './dpop.mjs';

const COUNTER_NAMES = [
  'authorize',
  'authorizeNone',
  'tokenAuthorizationCode',
  'tokenRefresh',
  'tokenRefreshFailed',
  'refreshTokenReuse',
  'revocation',
  'endSession',
  'endSessionConfirmed',
  'endSessionDeclined',
  'userinfo',
  'discovery',
  'jwks',
  'introspection',
  'par',
  'outageRejected',
  // DPoP (RFC 9449) at the token endpoint: requests that carried a proof, per grant type, and
  // the use_dpop_nonce challenges the OP answered there.
  'tokenAuthorizationCodeWithDPoP',
  'tokenRefreshWithDPoP',
  'tokenDPoPNonceChallenges',
];

export const OP_ENDPOINTS = [
  'discovery',
  'jwks',
  'authorize',
  'interaction',
  'token',
  'userinfo',
  'revocation',
  'introspection',
  'end_session',
  'par',
];
// "api" is the demo API; "all" is every OP endpoint above (not the API).
export const OUTAGE_ENDPOINTS = [...OP_ENDPOINTS, 'api', 'all'];
export const TAMPER_KINDS = ['state', 'iss', 'nonce', 'userinfo-sub'];
/**
 * How an endpoint that is "down" answers. `503` and `reset` are an unavailable OP; the others
 * are what captive portals, proxies and WAFs put in its place: an HTML page, truncated JSON, a
 * 200 without `access_token`, and redirects (to the redirect sink on this OP, which records
 * whatever reaches it).
 */
export const OUTAGE_MODES = ['503', 'reset', 'html', 'truncated-json', 'no-access-token', 'redirect-302', 'redirect-307'];
export const REDIRECT_SINK_PATH = '/__test/redirect-sink';
export const SIGNING_KEY_MODES = ['rotate', 'unpublished', 'original'];
/**
 * How the OP offers pushed authorization requests (RFC 9126): `offered` (the default) in its
 * discovery document; `off`: not advertised, and the endpoint answers 404; `required`:
 * advertised with require_pushed_authorization_requests, and a plain authorization request
 * (without request_uri) is refused.
 */
export const PAR_MODES = ['offered', 'off', 'required'];

const TAMPERED_ISSUER = 'https://tampered-issuer.example';
const LOG_LIMIT = 1000;

class HookError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const zeroCounters = () => Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0]));

/** State shared by the OP, the API and the look-alike server of one environment. */
export function createTestState(ttl) {
  const initialTtl = { ...ttl };
  const state = {
    ttl,
    counters: zeroCounters(),
    outage: undefined,
    tampers: new Set(),
    /**
     * OP behaviours that last until reset: `omitExpiresIn` (token responses without expires_in),
     * `par` (offered, off or required), `coopSameOrigin` (`Cross-Origin-Opener-Policy: same-origin`
     * on the OP's HTML pages, as some OPs send: it cuts a sign-in popup's link to the window that
     * opened it), `bearerTokenType` (token responses say `token_type: Bearer`, even for a
     * DPoP-bound token: an OP that ignores the proof, as a withDPoP() client must refuse).
     */
    /** Provider quirks the OP reproduces (POST /__test/quirks), one key per quirk; /reset puts them back. */
    quirks: {
      omitExpiresIn: false,
      par: 'offered',
      coopSameOrigin: false,
      bearerTokenType: false,
      frontchannelLogout: false,
      checkSessionIframe: true,
    },
    /**
     * The authorization requests the OP got, per client, names of parameters only (values could
     * be secrets), with `prompt`: `pushed` (at the PAR endpoint) and `authorize` (at the
     * authorization endpoint; `pushed: true` when it came with a request_uri of a pushed one).
     */
    authorizationLog: { pushed: [], authorize: [] },
    /** The parameters of pushed requests by their request_uri, to count the authorize requests that use them. */
    pushedByUri: new Map(),
    /** Endpoints whose requests wait at the OP until released (a renewal kept in flight). */
    hold: { endpoints: new Set(), waiting: [], watchers: [], heldTotal: 0 },
    apiLog: [],
    lookalikeLog: [],
    /**
     * DPoP switches: `opNonceRequired` (the OP's token, PAR and userinfo endpoints demand their
     * nonce), the API's nonce (`apiNonce.required`, `rotate()`) and its jti replay cache.
     */
    dpop: { opNonceRequired: true, apiNonce: createApiNonce(), apiReplay: createReplayCache() },
    /** Requests at the token, PAR and userinfo endpoints: whether a DPoP proof came, and the outcome (never a value). */
    dpopLog: [],
    /** What reached the redirect sink: method and which secrets the body held, never their values. */
    redirectSinkLog: [],
    /**
     * Signing-key rotation, layered over oidc-provider (whose key store is fixed at start):
     * `published` are extra keys the JWKS lists after the provider's own, `signing` the key
     * ID tokens from the token endpoint are signed with instead of the provider's (null: the
     * provider's own).
     */
    keys: { published: [], signing: null, all: new Map() },

    /** The active outage's mode when `endpoint` is down now, else undefined. */
    outageFor(endpoint) {
      const { outage } = state;
      if (!outage) return undefined;
      if (Date.now() >= outage.until) {
        state.outage = undefined;
        return undefined;
      }
      const down =
        outage.endpoints.has(endpoint) ||
        (outage.endpoints.has('all') && OP_ENDPOINTS.includes(endpoint));
      return down ? outage.mode : undefined;
    },

    outageStatus() {
      const active = state.outage && Date.now() < state.outage.until;
      if (!active) return { active: false };
      return {
        active: true,
        endpoints: [...state.outage.endpoints],
        mode: state.outage.mode,
        remainingMs: state.outage.until - Date.now(),
      };
    },

    takeTamper(kind) {
      return state.tampers.delete(kind);
    },

    record(log, entry) {
      log.push(entry);
      if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
    },

    resetTtl() {
      Object.assign(state.ttl, initialTtl);
    },

    /** Resolves when the request may go on: at once, or when the hold is released. */
    holdIfArmed(endpoint) {
      const { hold } = state;
      if (!hold.endpoints.has(endpoint)) return undefined;
      hold.heldTotal += 1;
      const released = new Promise((resolve) => hold.waiting.push(resolve));
      state.notifyHoldWatchers();
      return released;
    },

    holdStatus() {
      const { hold } = state;
      return { endpoints: [...hold.endpoints], waiting: hold.waiting.length, heldTotal: hold.heldTotal };
    },

    notifyHoldWatchers() {
      const { hold } = state;
      hold.watchers = hold.watchers.filter((watcher) => !watcher());
    },

    /** Resolves once at least `count` requests are waiting, or rejects after `timeoutMs`. */
    whenHeld(count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          state.hold.watchers = state.hold.watchers.filter((watcher) => watcher !== check);
          reject(new HookError(408, `fewer than ${count} requests were held within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (state.hold.waiting.length < count) return false;
          clearTimeout(timer);
          resolve(state.holdStatus());
          return true;
        };
        if (!check()) state.hold.watchers.push(check);
      });
    },

    releaseHold() {
      const { hold } = state;
      hold.endpoints.clear();
      for (const resolve of hold.waiting.splice(0)) resolve();
    },

    resetAll() {
      state.releaseHold();
      state.hold.heldTotal = 0;
      state.counters = zeroCounters();
      state.outage = undefined;
      state.tampers.clear();
      state.quirks.omitExpiresIn = false;
      state.quirks.par = 'offered';
      state.authorizationLog = { pushed: [], authorize: [] };
      state.pushedByUri.clear();
      state.quirks.coopSameOrigin = false;
      state.quirks.bearerTokenType = false;
      state.quirks.frontchannelLogout = false;
      state.quirks.checkSessionIframe = true;
      state.apiLog.length = 0;
      state.lookalikeLog.length = 0;
      state.redirectSinkLog.length = 0;
      state.dpop.opNonceRequired = true;
      state.dpop.apiNonce.reset();
      state.dpopLog.length = 0;
      state.keys = { published: [], signing: null, all: new Map() };
      state.resetTtl();
    },

    /** A new RS256 key: signs from now on, published next to the old keys unless `unpublished`. */
    changeSigningKey(mode) {
      if (mode === 'original') {
        state.keys.signing = null;
      } else {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const kid = `test-${mode}-${randomBytes(6).toString('base64url')}`;
        const key = { kid, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
        state.keys.all.set(kid, key);
        if (mode === 'rotate') state.keys.published.push(key);
        state.keys.signing = key;
      }
      return state.signingKeyStatus();
    },

    signingKeyStatus() {
      return { signingKid: state.keys.signing?.kid ?? null, publishedTestKids: state.keys.published.map((key) => key.kid) };
    },

    dpopStatus() {
      const { dpop } = state;
      return { opNonceRequired: dpop.opNonceRequired, apiNonceRequired: dpop.apiNonce.required, apiNonceRotations: dpop.apiNonce.rotations };
    },

  };
  return state;
}

function endpointOf(path) {
  if (path.startsWith('/.well-known/')) return 'discovery';
  if (path === ROUTES.jwks) return 'jwks';
  if (path === ROUTES.authorization || path.startsWith(`${ROUTES.authorization}/`)) return 'authorize';
  if (path.startsWith('/interaction/')) return 'interaction';
  if (path === ROUTES.token) return 'token';
  if (path === ROUTES.revocation) return 'revocation';
  if (path === ROUTES.introspection) return 'introspection';
  if (path === ROUTES.userinfo) return 'userinfo';
  if (path === ROUTES.end_session || path.startsWith(`${ROUTES.end_session}/`)) return 'end_session';
  if (path === ROUTES.pushed_authorization_request) return 'par';
  return undefined;
}

function parseOutage(body) {
  const endpoints = body.endpoints ?? (body.endpoint ? [body.endpoint] : undefined);
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new HookError(400, `"endpoints" must be a non-empty array of ${OUTAGE_ENDPOINTS.join(', ')}`);
  }
  for (const endpoint of endpoints) {
    if (!OUTAGE_ENDPOINTS.includes(endpoint)) {
      throw new HookError(400, `unknown endpoint ${JSON.stringify(endpoint)}; use ${OUTAGE_ENDPOINTS.join(', ')}`);
    }
  }
  const mode = String(body.mode ?? '503');
  if (!OUTAGE_MODES.includes(mode)) throw new HookError(400, `"mode" must be one of ${OUTAGE_MODES.join(', ')}`);
  let durationMs = body.durationMs ?? 30_000;
  try {
    durationMs = positiveInteger(durationMs, 'durationMs');
  } catch (error) {
    throw new HookError(400, error.message);
  }
  return { endpoints: new Set(endpoints), mode, until: Date.now() + durationMs };
}

function parseTtl(body) {
  const unknown = Object.keys(body).filter((key) => key !== 'reset' && !TTL_KEYS.includes(key));
  if (unknown.length) {
    throw new HookError(400, `unknown setting ${unknown.join(', ')}; use ${TTL_KEYS.join(', ')} or reset`);
  }
  const changes = {};
  for (const key of TTL_KEYS) {
    if (body[key] === undefined) continue;
    try {
      changes[key] = positiveInteger(body[key], key);
    } catch (error) {
      throw new HookError(400, error.message);
    }
  }
  return changes;
}

/** The authorization response carried by a redirect, or undefined for redirects within the OP. */
function authorizationResponse(location, issuer) {
  if (!location) return undefined;
  const url = new URL(location, issuer);
  if (url.origin === new URL(issuer).origin) return undefined;
  const fragment = new URLSearchParams(url.hash.slice(1));
  const inFragment = ['code', 'error', 'iss'].some((name) => fragment.has(name));
  const params = inFragment ? fragment : new URLSearchParams(url.search);
  const write = () => {
    if (inFragment) url.hash = params.toString();
    else url.search = params.toString();
    return url.href;
  };
  return { params, write };
}

/**
 * Koa middleware for the OP: answers /__test/* and applies counters, outages and tampering to
 * the provider's own routes. Runs before oidc-provider's router (installed with provider.use).
 */
export function opTestMiddleware({ state, issuer, appOrigins, store, provider }) {
  const allowedOrigins = new Set(appOrigins);

  provider.on('grant.error', (ctx, error) => {
    if (error?.error_detail === 'refresh token already used') state.counters.refreshTokenReuse += 1;
  });
  provider.on('end_session.success', (ctx) => {
    if (ctx.oidc.params.logout) state.counters.endSessionConfirmed += 1;
    else state.counters.endSessionDeclined += 1;
  });

  const hooks = {
    'GET /__test/counters': () => state.counters,
    'POST /__test/counters/reset': () => {
      state.counters = zeroCounters();
      return state.counters;
    },
    'GET /__test/config': () => ({ ...state.ttl }),
    'POST /__test/config': (body) => {
      const changes = parseTtl(body);
      if (body.reset) state.resetTtl();
      Object.assign(state.ttl, changes);
      return { ...state.ttl };
    },
    'GET /__test/outage': () => state.outageStatus(),
    'POST /__test/outage': (body) => {
      state.outage = parseOutage(body);
      return state.outageStatus();
    },
    'DELETE /__test/outage': () => {
      state.outage = undefined;
      return state.outageStatus();
    },
    'POST /__test/hold': (body) => {
      const endpoints = body.endpoints;
      if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((endpoint) => !OP_ENDPOINTS.includes(endpoint))) {
        throw new HookError(400, `"endpoints" must be a non-empty array of ${OP_ENDPOINTS.join(', ')}`);
      }
      for (const endpoint of endpoints) state.hold.endpoints.add(endpoint);
      return state.holdStatus();
    },
    'GET /__test/hold': () => state.holdStatus(),
    'POST /__test/hold/wait': (body) => {
      let count;
      let timeoutMs;
      try {
        count = positiveInteger(body.count ?? 1, 'count');
        timeoutMs = positiveInteger(body.timeoutMs ?? 30_000, 'timeoutMs');
      } catch (error) {
        throw new HookError(400, error.message);
      }
      return state.whenHeld(count, timeoutMs);
    },
    'POST /__test/hold/release': () => {
      state.releaseHold();
      return state.holdStatus();
    },
    'GET /__test/redirect-sink/log': () => state.redirectSinkLog,
    'GET /__test/quirks': () => ({ ...state.quirks }),
    'POST /__test/quirks': (body) => {
      if (body.omitExpiresIn !== undefined && typeof body.omitExpiresIn !== 'boolean') throw new HookError(400, '"omitExpiresIn" must be a boolean');
      if (body.par !== undefined && !PAR_MODES.includes(body.par)) throw new HookError(400, `"par" must be one of ${PAR_MODES.join(', ')}`);
      if (body.omitExpiresIn !== undefined) state.quirks.omitExpiresIn = body.omitExpiresIn;
      if (body.par !== undefined) state.quirks.par = body.par;
      if (body.coopSameOrigin !== undefined && typeof body.coopSameOrigin !== 'boolean') throw new HookError(400, '"coopSameOrigin" must be a boolean');
      if (body.coopSameOrigin !== undefined) state.quirks.coopSameOrigin = body.coopSameOrigin;
      if (body.bearerTokenType !== undefined && typeof body.bearerTokenType !== 'boolean') throw new HookError(400, '"bearerTokenType" must be a boolean');
      if (body.bearerTokenType !== undefined) state.quirks.bearerTokenType = body.bearerTokenType;
      if (body.frontchannelLogout !== undefined && typeof body.frontchannelLogout !== 'boolean') throw new HookError(400, '"frontchannelLogout" must be a boolean');
      if (body.frontchannelLogout !== undefined) state.quirks.frontchannelLogout = body.frontchannelLogout;
      if (body.checkSessionIframe !== undefined && typeof body.checkSessionIframe !== 'boolean') throw new HookError(400, '"checkSessionIframe" must be a boolean');
      if (body.checkSessionIframe !== undefined) state.quirks.checkSessionIframe = body.checkSessionIframe;
      return { ...state.quirks };
    },
    'GET /__test/authorization-requests': () => state.authorizationLog,
    'POST /__test/authorization-requests/reset': () => {
      state.authorizationLog = { pushed: [], authorize: [] };
      return state.authorizationLog;
    },
    'GET /__test/tamper': () => ({ pending: [...state.tampers] }),
    'POST /__test/tamper': (body) => {
      if (!TAMPER_KINDS.includes(body.what)) {
        throw new HookError(400, `"what" must be one of ${TAMPER_KINDS.join(', ')}`);
      }
      state.tampers.add(body.what);
      return { pending: [...state.tampers] };
    },
    'DELETE /__test/tamper': () => {
      state.tampers.clear();
      return { pending: [] };
    },
    'GET /__test/dpop': () => state.dpopStatus(),
    'POST /__test/dpop': (body) => {
      for (const key of ['opNonceRequired', 'apiNonceRequired', 'rotateApiNonce']) {
        if (body[key] !== undefined && typeof body[key] !== 'boolean') throw new HookError(400, `"${key}" must be a boolean`);
      }
      const unknown = Object.keys(body).filter((key) => !['opNonceRequired', 'apiNonceRequired', 'rotateApiNonce'].includes(key));
      if (unknown.length) throw new HookError(400, `unknown setting ${unknown.join(', ')}; use opNonceRequired, apiNonceRequired, rotateApiNonce`);
      if (body.opNonceRequired !== undefined) state.dpop.opNonceRequired = body.opNonceRequired;
      if (body.apiNonceRequired !== undefined) state.dpop.apiNonce.required = body.apiNonceRequired;
      if (body.rotateApiNonce) state.dpop.apiNonce.rotate();
      return state.dpopStatus();
    },
    'GET /__test/dpop-log': () => state.dpopLog,
    'POST /__test/dpop-log/reset': () => {
      state.dpopLog.length = 0;
      return state.dpopLog;
    },
    'GET /__test/signing-key': () => state.signingKeyStatus(),
    'POST /__test/signing-key': (body) => {
      if (!SIGNING_KEY_MODES.includes(body.mode)) {
        throw new HookError(400, `"mode" must be one of ${SIGNING_KEY_MODES.join(', ')}`);
      }
      return state.changeSigningKey(body.mode);
    },
    'POST /__test/revoke-grants': (body) => {
      const result = { revokedGrants: store.clearGrants() };
      if (body.endSessions) result.endedSessions = store.clear('Session');
      return result;
    },
    'POST /__test/revoke-access-tokens': () => ({ revokedAccessTokens: store.clear('AccessToken') }),
    'POST /__test/end-sessions': () => ({ endedSessions: store.clear('Session') }),
    'POST /__test/reset': () => {
      state.resetAll();
      return { ok: true };
    },
  };

  async function answerHook(ctx) {
    const hook = hooks[`${ctx.method} ${ctx.path.replace(/\/$/, '')}`];
    try {
      if (!hook) throw new HookError(404, `no test hook ${ctx.method} ${ctx.path}`);
      const body = ctx.method === 'POST' ? await readJson(ctx.req) : {};
      ctx.body = await hook(body);
      ctx.status = 200;
    } catch (error) {
      ctx.status = error.status ?? 500;
      ctx.body = { error: error.message };
    }
    ctx.set('Cache-Control', 'no-store');
  }

  function rejectForOutage(ctx, mode) {
    state.counters.outageRejected += 1;
    if (mode === 'reset') {
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    // CORS headers stay, so a browser app sees the answer itself rather than an opaque failure.
    ctx.set(corsHeaders(ctx.get('Origin'), allowedOrigins));
    ctx.set('Cache-Control', 'no-store');
    switch (mode) {
      case 'html':
        ctx.status = 200;
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = '<!doctype html><title>Sign in to the Wi-Fi</title><p>Accept the terms to continue.</p>';
        return;
      case 'truncated-json':
        ctx.status = 200;
        ctx.type = 'application/json';
        ctx.body = '{"token_type":"Bearer","expires_in":300,"access_tok';
        return;
      case 'no-access-token':
        ctx.status = 200;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify({ token_type: 'Bearer', expires_in: 300 });
        return;
      case 'redirect-302':
      case 'redirect-307':
        ctx.status = mode === 'redirect-302' ? 302 : 307;
        ctx.set('Location', `${issuer}${REDIRECT_SINK_PATH}`);
        ctx.body = '';
        return;
      default:
        ctx.set('Retry-After', '1');
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable', error_description: 'simulated outage (dev OP test hook)' };
    }
  }

  /**
   * The target of the `redirect-*` outage modes: records what a client that follows redirects
   * would deliver there. Only whether a secret came, never the secret itself.
   */
  async function answerRedirectSink(ctx) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    state.record(state.redirectSinkLog, {
      method: ctx.method,
      hadBody: chunks.length > 0,
      hadRefreshToken: form.has('refresh_token'),
      hadCode: form.has('code'),
      hadCodeVerifier: form.has('code_verifier'),
      hadAuthorization: Boolean(ctx.get('Authorization')),
    });
    ctx.set(corsHeaders(ctx.get('Origin'), allowedOrigins));
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
    ctx.body = { received: true };
  }

  function countRequest(ctx, endpoint) {
    const { counters: c } = state;
    switch (endpoint) {
      case 'authorize':
        if (ctx.path === ROUTES.authorization) {
          // A request_uri stands for the parameters pushed before (RFC 9126 4).
          const pushed = typeof ctx.query.request_uri === 'string' ? state.pushedByUri.get(ctx.query.request_uri) : undefined;
          const prompt = String((pushed ? pushed.get('prompt') : ctx.query.prompt) ?? '');
          c.authorize += 1;
          if (prompt.split(' ').includes('none')) c.authorizeNone += 1;
          state.record(state.authorizationLog.authorize, {
            clientId: String(ctx.query.client_id ?? ''),
            params: Object.keys(ctx.query).sort(),
            pushed: Boolean(pushed),
            prompt: prompt || null,
          });
        }
        break;
      case 'end_session':
        if (ctx.path === ROUTES.end_session) c.endSession += 1;
        break;
      case 'discovery':
      case 'jwks':
      case 'revocation':
      case 'introspection':
      case 'userinfo':
        c[endpoint] += 1;
        break;
      default:
    }
  }

  function countTokenRequest(ctx) {
    const { counters: c } = state;
    // oidc-provider has parsed the form body by now; reading it here would consume the stream.
    const grantType = ctx.oidc?.params?.grant_type;
    const withProof = Boolean(ctx.get('DPoP'));
    if (grantType === 'authorization_code') {
      c.tokenAuthorizationCode += 1;
      if (withProof) c.tokenAuthorizationCodeWithDPoP += 1;
    }
    if (grantType === 'refresh_token') {
      c.tokenRefresh += 1;
      if (withProof) c.tokenRefreshWithDPoP += 1;
      if (ctx.status >= 400) c.tokenRefreshFailed += 1;
    }
    if (ctx.status === 400 && ctx.body?.error === 'use_dpop_nonce') c.tokenDPoPNonceChallenges += 1;
  }

  /**
   * One entry per request at the token, PAR and userinfo endpoints: whether it carried a DPoP
   * proof, the status, the OAuth error code and, for tokens, the token type issued. Never a
   * token, a proof or a nonce.
   */
  function recordDPoP(ctx, endpoint) {
    const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
    // userinfo refuses in WWW-Authenticate (RFC 6750 3, RFC 9449 7.1), not in a body.
    const challenge = /error="([^"]+)"/.exec(ctx.response.get('WWW-Authenticate') ?? '')?.[1];
    const entry = {
      endpoint,
      clientId: ctx.oidc?.client?.clientId ?? ctx.oidc?.params?.client_id ?? null,
      hadProof: Boolean(ctx.get('DPoP')),
      status: ctx.status,
      error: typeof body.error === 'string' ? body.error : challenge ?? null,
      nonceChallenged: ctx.status >= 400 && Boolean(ctx.response.get('DPoP-Nonce')) && (body.error ?? challenge) === 'use_dpop_nonce',
    };
    if (endpoint === 'token') {
      entry.grantType = ctx.oidc?.params?.grant_type ?? null;
      entry.tokenType = typeof body.token_type === 'string' ? body.token_type : null;
    }
    state.record(state.dpopLog, entry);
  }

  function tamperAuthorizationResponse(ctx) {
    if (ctx.status < 300 || ctx.status >= 400) return;
    const response = authorizationResponse(ctx.response.get('Location'), issuer);
    if (!response) return;
    const { params, write } = response;
    if (state.takeTamper('state')) {
      params.set('state', `tampered-${randomBytes(8).toString('base64url')}`);
    }
    if (state.takeTamper('iss')) {
      params.set('iss', TAMPERED_ISSUER);
    }
    const status = ctx.status;
    ctx.redirect(write());
    ctx.status = status;
  }

  function tamperNonce(ctx) {
    if (ctx.path !== ROUTES.authorization || ctx.query.nonce === undefined) return;
    if (!state.takeTamper('nonce')) return;
    const query = new URLSearchParams(ctx.querystring);
    query.set('nonce', `tampered-${randomBytes(8).toString('base64url')}`);
    ctx.querystring = query.toString();
  }

  /** RFC 6749 5.1 only RECOMMENDS expires_in: the token still expires at the configured TTL. */
  function omitExpiresIn(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || !('expires_in' in body)) return;
    const rest = { ...body };
    delete rest.expires_in;
    ctx.body = rest;
  }

  /** The OP of a withDPoP() client that answers as if no proof had come (token_type Bearer). */
  function sayBearer(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || typeof body.token_type !== 'string') return;
    ctx.body = { ...body, token_type: 'Bearer' };
  }

  function tamperUserinfo(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || typeof body.sub !== 'string') return;
    if (!state.takeTamper('userinfo-sub')) return;
    ctx.body = { ...body, sub: `${body.sub}-tampered` };
  }

  const base64url = (value) => Buffer.from(value).toString('base64url');
  const headerOf = (jwt) => {
    try {
      return JSON.parse(Buffer.from(String(jwt).split('.')[0], 'base64url').toString());
    } catch {
      return {};
    }
  };

  /** The ID token of a token response, signed again (same claims) with the test signing key. */
  function resignIdToken(ctx) {
    const key = state.keys.signing;
    const body = ctx.body;
    if (!key || ctx.status !== 200 || !body || typeof body !== 'object' || typeof body.id_token !== 'string') return;
    const payload = body.id_token.split('.')[1];
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid }));
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key.privateKey).toString('base64url');
    ctx.body = { ...body, id_token: `${header}.${payload}.${signature}` };
  }

  /** The JWKS with the published test keys after the provider's own (the old keys stay). */
  function publishTestKeys(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !state.keys.published.length || !body || !Array.isArray(body.keys)) return;
    ctx.body = { keys: [...body.keys, ...state.keys.published.map((key) => key.publicJwk)] };
  }

  /**
   * oidc-provider checks an id_token_hint against its own key store, which cannot learn the
   * test keys: a hint signed with one is left out (the OP's session cookie still identifies
   * the user, so prompt=none and logout work as with the hint).
   */
  function dropTestSignedHint(ctx) {
    const hint = ctx.query.id_token_hint;
    if (typeof hint !== 'string' || !state.keys.all.has(headerOf(hint).kid)) return;
    const query = new URLSearchParams(ctx.querystring);
    query.delete('id_token_hint');
    ctx.querystring = query.toString();
  }

  /**
   * A pushed authorization request: its form body is read here (and handed on to oidc-provider
   * as a fresh stream of the same length), so that it is recorded and the nonce and test-key hint rules apply to it
   * as they do to a plain authorization request.
   */
  async function takePushedRequest(ctx) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    state.counters.par += 1;
    if (form.has('nonce') && state.takeTamper('nonce')) form.set('nonce', `tampered-${randomBytes(8).toString('base64url')}`);
    const hint = form.get('id_token_hint');
    if (hint && state.keys.all.has(headerOf(hint).kid)) form.delete('id_token_hint');
    state.record(state.authorizationLog.pushed, {
      clientId: form.get('client_id') ?? '',
      params: [...new Set(form.keys())].sort(),
      prompt: form.get('prompt'),
    });
    const body = Buffer.from(form.toString(), 'utf8');
    // ctx.request (headers, content length) stays; only the stream oidc-provider reads is new.
    ctx.request.headers['content-length'] = String(body.length);
    ctx.req = Readable.from([body]);
    return form;
  }

  /** The pushed request's parameters by the request_uri the OP answered with (kept for a while). */
  function rememberPushedRequest(ctx, form) {
    const requestUri = ctx.status === 201 && ctx.body && typeof ctx.body === 'object' ? ctx.body.request_uri : undefined;
    if (typeof requestUri !== 'string') return;
    state.pushedByUri.set(requestUri, form);
    if (state.pushedByUri.size > LOG_LIMIT) state.pushedByUri.delete(state.pushedByUri.keys().next().value);
  }

  /** The discovery document as the quirks in force shape it (each quirk edits its own fields). */
  function adjustDiscovery(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || !('issuer' in body)) return;
    const rest = { ...body };
    if (state.quirks.par === 'off') {
      delete rest.pushed_authorization_request_endpoint;
      delete rest.require_pushed_authorization_requests;
    } else {
      rest.require_pushed_authorization_requests = state.quirks.par === 'required';
    }
    // An OP without OpenID Connect Session Management (session-management.mjs adds it).
    if (!state.quirks.checkSessionIframe) delete rest.check_session_iframe;
    ctx.body = rest;
  }

  function refuseUnpushed(ctx) {
    ctx.status = 400;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = '<!doctype html><title>Dev OP error</title><p>invalid_request: this OP requires pushed authorization requests (RFC 9126).</p>';
  }

  return async function testMode(ctx, next) {
    if (ctx.path === REDIRECT_SINK_PATH && ctx.method !== 'OPTIONS') return answerRedirectSink(ctx);
    if (ctx.path === '/__test' || ctx.path.startsWith('/__test/')) return answerHook(ctx);

    const endpoint = endpointOf(ctx.path);
    const preflight = ctx.method === 'OPTIONS';
    const outage = endpoint && state.outageFor(endpoint);
    // Preflights still succeed (but in reset mode), or the browser would report a CORS error instead.
    if (outage === 'reset' || (outage && !preflight)) return rejectForOutage(ctx, outage);
    if (preflight) return next();

    if (endpoint === 'par' && state.quirks.par === 'off') {
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
      return undefined;
    }
    if (endpoint === 'authorize' && ctx.path === ROUTES.authorization && state.quirks.par === 'required' && ctx.query.request_uri === undefined) {
      countRequest(ctx, endpoint);
      return refuseUnpushed(ctx);
    }
    const pushedForm = endpoint === 'par' && ctx.method === 'POST' && ctx.is('urlencoded') ? await takePushedRequest(ctx) : undefined;
    countRequest(ctx, endpoint);
    if (endpoint === 'authorize' && state.tampers.has('nonce')) tamperNonce(ctx);
    if ((endpoint === 'authorize' || endpoint === 'end_session') && state.keys.all.size) dropTestSignedHint(ctx);
    const held = endpoint && state.holdIfArmed(endpoint);
    if (held) await held;

    await next();

    if (endpoint === 'token') countTokenRequest(ctx);
    if (endpoint === 'token' || endpoint === 'par' || endpoint === 'userinfo') recordDPoP(ctx, endpoint);
    if (endpoint === 'token' && state.quirks.omitExpiresIn) omitExpiresIn(ctx);
    if (endpoint === 'token' && state.quirks.bearerTokenType) sayBearer(ctx);
    if (endpoint === 'token') resignIdToken(ctx);
    if (endpoint === 'jwks') publishTestKeys(ctx);
    if (endpoint === 'discovery') adjustDiscovery(ctx);
    if (pushedForm) rememberPushedRequest(ctx, pushedForm);
    if (endpoint === 'authorize' && (state.tampers.has('state') || state.tampers.has('iss'))) {
      tamperAuthorizationResponse(ctx);
    }
    if (endpoint === 'userinfo' && state.tampers.has('userinfo-sub')) tamperUserinfo(ctx);
    if (state.quirks.coopSameOrigin && /html/.test(ctx.response.type ?? '')) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    return undefined;
  };
}
