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
/**
 * What the OP does to the ID token of a refresh-token grant (OIDC Core 12.2), re-signed with a
 * published test key: `repeat-nonce` (oidc-provider's own behaviour, and Keycloak's up to 24:
 * the original nonce again, untouched), `omit-nonce` (Keycloak 25 and later), `other-nonce` and
 * `other-auth_time` (an auth_time an hour before the original one): the last two break 12.2.
 */
export const REFRESH_ID_TOKEN_MODES = ['repeat-nonce', 'omit-nonce', 'other-nonce', 'other-auth_time'];
/**
 * The revocation endpoint (RFC 7009, quirk `revocation`): `ok`; `absent` (Entra ID: not in
 * discovery, and the route answers 404); or `cors-blocked`: a request from a browser (one with
 * an Origin) is refused with 403 and no Access-Control-Allow-Origin, and nothing is revoked, as
 * Okta has answered apps whose origin it does not trust; preflights still pass.
 */
export const REVOCATION_MODES = ['ok', 'absent', 'cors-blocked'];
/**
 * How the token endpoint authenticates the public clients: `none` (as registered), or
 * `secret-required`: a code or refresh grant without client_secret gets 400 invalid_request
 * "client_secret is missing.", as Google answers for "Web application" clients.
 */
export const TOKEN_ENDPOINT_AUTH_MODES = ['none', 'secret-required'];
/**
 * The `iss` of every ID token the token endpoint issues: `as-issued`, or `scheme-less` (the
 * issuer's host and port without `http://`, as Google's legacy `accounts.google.com`), re-signed
 * with a published test key; a client that checks `iss` exactly must refuse it.
 */
export const ID_TOKEN_ISS_MODES = ['as-issued', 'scheme-less'];
/**
 * How the OP offers logout (quirk `endSession`): `rp-initiated` (the default, RP-Initiated
 * Logout 1.0 at the discovered end_session_endpoint); `absent` (no end_session_endpoint in
 * discovery, as Auth0 tenants without RP-initiated logout discovery, and Google); `auth0-v2`
 * (absent, plus Auth0's GET /v2/logout?client_id&returnTo); `cognito` (Amazon Cognito: discovery
 * names `<origin>/logout`, which takes client_id and logout_uri, not RP-initiated parameters).
 */
export const END_SESSION_MODES = ['rp-initiated', 'absent', 'auth0-v2', 'cognito'];
/** Vendor logout routes per endSession mode, and the parameter naming the return URL there. */
const VENDOR_LOGOUT = { 'auth0-v2': { path: '/v2/logout', returnParam: 'returnTo' }, cognito: { path: '/logout', returnParam: 'logout_uri' } };
/**
 * Access tokens for an API (quirk `audience`): `off` (the default; an `audience` parameter is
 * ignored, access tokens are opaque); `auth0` (as Auth0: `audience` on an authorization or
 * pushed request names the API, whose access tokens are then JWTs with that `aud`, and the
 * demo API takes JWTs only).
 */
export const AUDIENCE_MODES = ['off', 'auth0'];
/**
 * A refresh that did not rotate (quirk `unrotatedRefreshToken`): `echoed` (the default,
 * oidc-provider's answer: the same refresh token again) or `omitted` (Cognito's: no
 * refresh_token in the response; the client keeps the one it has).
 */
export const UNROTATED_REFRESH_TOKEN_MODES = ['echoed', 'omitted'];

/** Whether the OP ends its session without asking (the vendor logout routes hand over to it). */
export function autoConfirmsLogout(state) {
  return state.quirks.endSession in VENDOR_LOGOUT;
}
/**
 * How the OP's issuer differs from its authority (quirk `issuer`). `tenant-template`: Microsoft
 * Entra ID's tenants. Discovery at `/organizations/v2.0` (and `/common/v2.0`) names the issuer
 * template `<op>/{tenantid}/v2.0`, discovery at `/<tenant A>/v2.0` tenant A's concrete issuer
 * `<op>/<tenant A>/v2.0`; every ID token is signed again (with a published test key) with that
 * concrete issuer and `tid` = tenant A, and authorization responses carry it as `iss`.
 * `trailing-slash`: discovery at `/realms/dev` names `<op>/realms/dev/` (Keycloak spelled with
 * a slash), which an authority without it must refuse.
 */
export const ISSUER_MODES = ['normal', 'tenant-template', 'trailing-slash'];
/** The tenants of the `tenant-template` quirk: users sign in to A; B is another tenant, for the tampers. */
export const ENTRA_TENANTS = Object.freeze({ a: '5b1f7c3e-2d4a-4e6b-9c8d-0a1b2c3d4e5f', b: 'c0ffee00-1234-4abc-8def-0123456789ab' });
/**
 * One-shot tampers of the `tenant-template` quirk (POST /__test/tenant-tamper), on the next ID
 * token from the token endpoint (code or refresh grant), or the next authorization response:
 * `tid-other-tenant` (tid B, iss A), `tid-common` (tid and iss with "common"), `tid-upper-case`
 * (A in upper case, in tid and iss), `tenant-b` (tid and iss of B), `iss-other-host` (A's issuer
 * on 127.0.0.1), `response-iss-tenant-b` (the authorization response's iss is B's issuer).
 */
export const TENANT_TAMPERS = ['tid-other-tenant', 'tid-common', 'tid-upper-case', 'tenant-b', 'iss-other-host', 'response-iss-tenant-b'];

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
      refreshIdToken: 'repeat-nonce',
      revocation: 'ok',
      tokenEndpointAuth: 'none',
      idTokenIss: 'as-issued',
      endSession: 'rp-initiated',
      audience: 'off',
      unrotatedRefreshToken: 'echoed',
      issuer: 'normal',
      // Entra ID's SPA refresh tokens: a fixed life (seconds) for the public clients' refresh tokens, not extended by rotation; null: the usual TTL.
      spaRefreshLifetime: null,
      frontchannelLogout: false,
      checkSessionIframe: true,
    },
    /** Requests at the vendor logout routes (endSession auth0-v2, cognito): path, parameter names and status, never values. */
    vendorLogoutLog: [],
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
      state.quirks.refreshIdToken = 'repeat-nonce';
      state.quirks.revocation = 'ok';
      state.quirks.tokenEndpointAuth = 'none';
      state.quirks.idTokenIss = 'as-issued';
      state.quirks.endSession = 'rp-initiated';
      state.quirks.audience = 'off';
      state.quirks.unrotatedRefreshToken = 'echoed';
      state.vendorLogoutLog.length = 0;
      state.quirks.issuer = 'normal';
      state.quirks.spaRefreshLifetime = null;
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
      if (body.refreshIdToken !== undefined && !REFRESH_ID_TOKEN_MODES.includes(body.refreshIdToken)) throw new HookError(400, `"refreshIdToken" must be one of ${REFRESH_ID_TOKEN_MODES.join(', ')}`);
      if (body.refreshIdToken !== undefined) state.quirks.refreshIdToken = body.refreshIdToken;
      // Published now, before the app fetches the key set at sign-in, not at the first refresh.
      if (body.refreshIdToken !== undefined && body.refreshIdToken !== 'repeat-nonce') quirkIdTokenKey();
      if (body.revocation !== undefined && !REVOCATION_MODES.includes(body.revocation)) throw new HookError(400, `"revocation" must be one of ${REVOCATION_MODES.join(', ')}`);
      if (body.revocation !== undefined) state.quirks.revocation = body.revocation;
      if (body.tokenEndpointAuth !== undefined && !TOKEN_ENDPOINT_AUTH_MODES.includes(body.tokenEndpointAuth)) throw new HookError(400, `"tokenEndpointAuth" must be one of ${TOKEN_ENDPOINT_AUTH_MODES.join(', ')}`);
      if (body.tokenEndpointAuth !== undefined) state.quirks.tokenEndpointAuth = body.tokenEndpointAuth;
      if (body.idTokenIss !== undefined && !ID_TOKEN_ISS_MODES.includes(body.idTokenIss)) throw new HookError(400, `"idTokenIss" must be one of ${ID_TOKEN_ISS_MODES.join(', ')}`);
      if (body.idTokenIss !== undefined) state.quirks.idTokenIss = body.idTokenIss;
      if (body.idTokenIss === 'scheme-less') quirkIdTokenKey();
      if (body.endSession !== undefined && !END_SESSION_MODES.includes(body.endSession)) throw new HookError(400, `"endSession" must be one of ${END_SESSION_MODES.join(', ')}`);
      if (body.endSession !== undefined) state.quirks.endSession = body.endSession;
      if (body.audience !== undefined && !AUDIENCE_MODES.includes(body.audience)) throw new HookError(400, `"audience" must be one of ${AUDIENCE_MODES.join(', ')}`);
      if (body.audience !== undefined) state.quirks.audience = body.audience;
      if (body.unrotatedRefreshToken !== undefined && !UNROTATED_REFRESH_TOKEN_MODES.includes(body.unrotatedRefreshToken)) throw new HookError(400, `"unrotatedRefreshToken" must be one of ${UNROTATED_REFRESH_TOKEN_MODES.join(', ')}`);
      if (body.unrotatedRefreshToken !== undefined) state.quirks.unrotatedRefreshToken = body.unrotatedRefreshToken;
      if (body.issuer !== undefined && !ISSUER_MODES.includes(body.issuer)) throw new HookError(400, `"issuer" must be one of ${ISSUER_MODES.join(', ')}`);
      if (body.issuer !== undefined) state.quirks.issuer = body.issuer;
      if (body.spaRefreshLifetime !== undefined && body.spaRefreshLifetime !== null && !(Number.isInteger(body.spaRefreshLifetime) && body.spaRefreshLifetime > 0)) throw new HookError(400, '"spaRefreshLifetime" must be a positive number of seconds or null');
      if (body.spaRefreshLifetime !== undefined) state.quirks.spaRefreshLifetime = body.spaRefreshLifetime;
      if (body.frontchannelLogout !== undefined && typeof body.frontchannelLogout !== 'boolean') throw new HookError(400, '"frontchannelLogout" must be a boolean');
      if (body.frontchannelLogout !== undefined) state.quirks.frontchannelLogout = body.frontchannelLogout;
      if (body.checkSessionIframe !== undefined && typeof body.checkSessionIframe !== 'boolean') throw new HookError(400, '"checkSessionIframe" must be a boolean');
      if (body.checkSessionIframe !== undefined) state.quirks.checkSessionIframe = body.checkSessionIframe;
      return { ...state.quirks };
    },
    'GET /__test/vendor-logout-requests': () => state.vendorLogoutLog,
    'POST /__test/tenant-tamper': (body) => {
      if (!TENANT_TAMPERS.includes(body.what)) throw new HookError(400, `"what" must be one of ${TENANT_TAMPERS.join(', ')}`);
      state.tampers.add(body.what);
      return { pending: [...state.tampers] };
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
    'GET /__test/refresh-tokens': () => usableRefreshTokens(),
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
    if (state.quirks.audience === 'auth0') audienceToResource(form);
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

  /** A refresh response that repeats the presented refresh token leaves it out (RFC 6749 6: the new one is OPTIONAL). */
  function omitUnrotatedRefreshToken(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || ctx.oidc?.params?.grant_type !== 'refresh_token') return;
    if (body.refresh_token !== ctx.oidc.params.refresh_token) return;
    const rest = { ...body };
    delete rest.refresh_token;
    ctx.body = rest;
  }

  /** Auth0's `audience` is RFC 8707's `resource` at oidc-provider (quirk audience 'auth0'). */
  function audienceToResource(params) {
    if (!params.has('audience')) return;
    params.set('resource', params.get('audience'));
    params.delete('audience');
  }

  /**
   * A vendor logout endpoint (quirk endSession `auth0-v2`: GET /v2/logout with client_id and
   * returnTo; `cognito`: GET /logout with client_id and logout_uri). The client must be known
   * and the return URL one of its post_logout_redirect_uris, else a 400 page (RP-initiated
   * parameters at Cognito's /logout get one too). Then oidc-provider's own end_session ends the
   * OP session for real (auto-confirmed in these modes: autoConfirmsLogout) and sends the
   * browser to the return URL, without state.
   */
  async function answerVendorLogout(ctx, { returnParam }) {
    const clientId = typeof ctx.query.client_id === 'string' ? ctx.query.client_id : '';
    const returnTo = typeof ctx.query[returnParam] === 'string' ? ctx.query[returnParam] : '';
    const client = clientId ? await provider.Client.find(clientId) : undefined;
    const problem = !client
      ? 'client_id is missing or names no client'
      : !returnTo
        ? `${returnParam} is required${ctx.query.post_logout_redirect_uri === undefined ? '' : ' (post_logout_redirect_uri is not a parameter of this endpoint)'}`
        : !client.postLogoutRedirectUriAllowed(returnTo)
          ? `${returnParam} is not an allowed sign-out URL of this client`
          : null;
    state.record(state.vendorLogoutLog, { path: ctx.path, params: Object.keys(ctx.query).sort(), status: problem ? 400 : 302 });
    ctx.set('Cache-Control', 'no-store');
    if (problem) {
      ctx.status = 400;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = `<!doctype html><title>Dev OP error</title><h1>Logout failed</h1><p>invalid_request: ${problem.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}.</p>`;
      return;
    }
    ctx.redirect(`${ROUTES.end_session}?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: returnTo })}`);
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
    if (state.quirks.endSession === 'absent' || state.quirks.endSession === 'auth0-v2') delete rest.end_session_endpoint;
    if (state.quirks.endSession === 'cognito') rest.end_session_endpoint = `${issuer}${VENDOR_LOGOUT.cognito.path}`;
    // issuer: the issuer the discovery path in use announces (discoveryIssuerFor).
    if (ctx.state.discoveryIssuer) rest.issuer = ctx.state.discoveryIssuer;
    if (state.quirks.revocation === 'absent') delete rest.revocation_endpoint;
    // An OP without OpenID Connect Session Management (session-management.mjs adds it).
    if (!state.quirks.checkSessionIframe) delete rest.check_session_iframe;
    ctx.body = rest;
  }

  const tenantIssuer = (tid) => `${issuer}/${tid}/v2.0`;

  /**
   * The issuer a discovery path announces under the `issuer` quirk, or undefined for the OP's
   * own discovery path (and for every path when the quirk is off: those are then 404s).
   */
  function discoveryIssuerFor(path) {
    const [, prefix] = /^(.*)\/\.well-known\/openid-configuration$/.exec(path) ?? [];
    if (!prefix) return undefined;
    if (state.quirks.issuer === 'tenant-template') {
      if (prefix === '/organizations/v2.0' || prefix === '/common/v2.0') return tenantIssuer('{tenantid}');
      if (prefix === `/${ENTRA_TENANTS.a}/v2.0`) return tenantIssuer(ENTRA_TENANTS.a);
    }
    if (state.quirks.issuer === 'trailing-slash' && prefix === '/realms/dev') return `${issuer}/realms/dev/`;
    return undefined;
  }

  /**
   * `tenant-template`: the ID token of a token response as Entra ID would issue it for tenant A
   * (its concrete issuer and tid), or as a pending tenant tamper changes it; signed again with
   * the test signing key, which the JWKS publishes (a new one if none signs yet).
   */
  function tenantIdToken(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || typeof body.id_token !== 'string') return;
    const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
    let tid = ENTRA_TENANTS.a;
    let iss = tenantIssuer(tid);
    if (state.takeTamper('tid-other-tenant')) tid = ENTRA_TENANTS.b;
    else if (state.takeTamper('tid-common')) iss = tenantIssuer((tid = 'common'));
    else if (state.takeTamper('tid-upper-case')) iss = tenantIssuer((tid = tid.toUpperCase()));
    else if (state.takeTamper('tenant-b')) iss = tenantIssuer((tid = ENTRA_TENANTS.b));
    else if (state.takeTamper('iss-other-host')) iss = iss.replace('//localhost:', '//127.0.0.1:');
    if (!state.keys.signing) state.changeSigningKey('rotate');
    const key = state.keys.signing;
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid }));
    const payload = base64url(JSON.stringify({ ...claims, iss, tid }));
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key.privateKey).toString('base64url');
    ctx.body = { ...body, id_token: `${header}.${payload}.${signature}` };
  }

  /** `tenant-template`: the authorization response's iss (RFC 9207) is the tenant's concrete issuer. */
  function tenantResponseIss(ctx) {
    if (ctx.status < 300 || ctx.status >= 400) return;
    const response = authorizationResponse(ctx.response.get('Location'), issuer);
    if (!response || !response.params.has('iss')) return;
    response.params.set('iss', tenantIssuer(state.takeTamper('response-iss-tenant-b') ? ENTRA_TENANTS.b : ENTRA_TENANTS.a));
    const status = ctx.status;
    ctx.redirect(response.write());
    ctx.status = status;
  }

  function refuseUnpushed(ctx) {
    ctx.status = 400;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = '<!doctype html><title>Dev OP error</title><p>invalid_request: this OP requires pushed authorization requests (RFC 9126).</p>';
  }

  // Provider profiles (Keycloak, Okta, Google): refreshed ID tokens, revocation refused to a
  // browser, a token endpoint that wants a client secret, and the refresh tokens still usable.

  /** The published test key that signs the ID tokens the quirks changed (made once per reset). */
  function quirkIdTokenKey() {
    const existing = state.keys.published.find((key) => key.kid.startsWith('test-quirk-'));
    if (existing) return existing;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = `test-quirk-${randomBytes(6).toString('base64url')}`;
    const key = { kid, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
    state.keys.all.set(kid, key);
    state.keys.published.push(key);
    return key;
  }

  /**
   * The ID token of a token response as the quirks have it: `refreshIdToken` for a refresh
   * grant's (OIDC Core 12.2), `idTokenIss` for every one.
   */
  function changeIdToken(ctx) {
    const body = ctx.body;
    if (ctx.status !== 200 || !body || typeof body !== 'object' || typeof body.id_token !== 'string') return;
    const payloadIn = body.id_token.split('.')[1];
    const claims = JSON.parse(Buffer.from(payloadIn, 'base64url').toString());
    const refreshed = ctx.oidc?.params?.grant_type === 'refresh_token';
    if (refreshed && state.quirks.refreshIdToken === 'omit-nonce') delete claims.nonce;
    if (refreshed && state.quirks.refreshIdToken === 'other-nonce') claims.nonce = `other-${randomBytes(8).toString('base64url')}`;
    if (refreshed && state.quirks.refreshIdToken === 'other-auth_time') claims.auth_time = (claims.auth_time ?? claims.iat) - 3600;
    if (state.quirks.idTokenIss === 'scheme-less') claims.iss = new URL(claims.iss).host;
    const payload = base64url(JSON.stringify(claims));
    if (payload === payloadIn) return; // unchanged (a code grant's, under refreshIdToken only): the provider's own signature stays
    const key = quirkIdTokenKey();
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid }));
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key.privateKey).toString('base64url');
    ctx.body = { ...body, id_token: `${header}.${payload}.${signature}` };
  }

  /**
   * `revocation: 'cors-blocked'`: a browser's revocation request (it has an Origin) is refused
   * before oidc-provider sees it, so nothing is revoked, and without CORS headers, so the
   * browser's fetch rejects. Preflights never get here (they pass, as oidc-provider answers them).
   */
  function refuseRevocationFromBrowser(ctx) {
    ctx.set('Vary', 'Origin');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 403;
    ctx.body = { error: 'access_denied', error_description: 'this origin may not revoke tokens (dev OP quirk revocation: cors-blocked)' };
  }

  /**
   * `tokenEndpointAuth: 'secret-required'`: a code or refresh grant without client_secret (in
   * the body or Basic) gets Google's answer, readable by the app (CORS headers on). A request
   * with a secret goes on to oidc-provider, its form body handed on as a fresh stream.
   */
  async function requireClientSecret(ctx) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const form = new URLSearchParams(raw.toString('utf8'));
    const grant = form.get('grant_type');
    const withSecret = form.has('client_secret') || /^Basic /i.test(ctx.get('Authorization'));
    if ((grant === 'authorization_code' || grant === 'refresh_token') && !withSecret) {
      ctx.set(corsHeaders(ctx.get('Origin'), allowedOrigins));
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'client_secret is missing.' };
      return true;
    }
    ctx.req = Readable.from([raw]);
    return false;
  }

  /**
   * The refresh tokens the token endpoint would still take, per client: stored, not expired,
   * not consumed by a rotation, and their grant still there (oidc-provider's own checks). A
   * count only, never a token.
   */
  async function usableRefreshTokens() {
    const usable = {};
    for (const id of store.liveIds('RefreshToken')) {
      const token = await provider.RefreshToken.find(id);
      if (!token || token.consumed || !(await provider.Grant.find(token.grantId))) continue;
      usable[token.clientId] = (usable[token.clientId] ?? 0) + 1;
    }
    return { usable };
  }

  return async function testMode(ctx, next) {
    if (ctx.path === REDIRECT_SINK_PATH && ctx.method !== 'OPTIONS') return answerRedirectSink(ctx);
    if (ctx.path === '/__test' || ctx.path.startsWith('/__test/')) return answerHook(ctx);
    const vendorLogout = VENDOR_LOGOUT[state.quirks.endSession];
    if (vendorLogout && ctx.method === 'GET' && ctx.path === vendorLogout.path) return answerVendorLogout(ctx, vendorLogout);
    // issuer: another discovery path, served as the OP's own, with the issuer it announces.
    ctx.state.discoveryIssuer = discoveryIssuerFor(ctx.path);
    if (ctx.state.discoveryIssuer) ctx.path = '/.well-known/openid-configuration';

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
    if (endpoint === 'revocation' && state.quirks.revocation === 'absent') {
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
      return undefined;
    }
    if (endpoint === 'authorize' && ctx.path === ROUTES.authorization && state.quirks.par === 'required' && ctx.query.request_uri === undefined) {
      countRequest(ctx, endpoint);
      return refuseUnpushed(ctx);
    }
    if (endpoint === 'revocation' && state.quirks.revocation === 'cors-blocked' && ctx.get('Origin')) {
      countRequest(ctx, endpoint);
      return refuseRevocationFromBrowser(ctx);
    }
    if (endpoint === 'token' && state.quirks.tokenEndpointAuth === 'secret-required' && ctx.method === 'POST' && (await requireClientSecret(ctx))) return undefined;
    const pushedForm = endpoint === 'par' && ctx.method === 'POST' && ctx.is('urlencoded') ? await takePushedRequest(ctx) : undefined;
    countRequest(ctx, endpoint);
    if (endpoint === 'authorize' && ctx.path === ROUTES.authorization && state.quirks.audience === 'auth0' && ctx.query.audience !== undefined) {
      const query = new URLSearchParams(ctx.querystring);
      audienceToResource(query);
      ctx.querystring = query.toString();
    }
    if (endpoint === 'authorize' && state.tampers.has('nonce')) tamperNonce(ctx);
    if ((endpoint === 'authorize' || endpoint === 'end_session') && state.keys.all.size) dropTestSignedHint(ctx);
    const held = endpoint && state.holdIfArmed(endpoint);
    if (held) await held;

    await next();

    if (endpoint === 'token') countTokenRequest(ctx);
    if (endpoint === 'token' || endpoint === 'par' || endpoint === 'userinfo') recordDPoP(ctx, endpoint);
    if (endpoint === 'token' && state.quirks.omitExpiresIn) omitExpiresIn(ctx);
    if (endpoint === 'token' && state.quirks.bearerTokenType) sayBearer(ctx);
    if (endpoint === 'token' && (state.quirks.refreshIdToken !== 'repeat-nonce' || state.quirks.idTokenIss !== 'as-issued')) changeIdToken(ctx);
    if (endpoint === 'token' && state.quirks.unrotatedRefreshToken === 'omitted') omitUnrotatedRefreshToken(ctx);
    if (endpoint === 'token') resignIdToken(ctx);
    if (endpoint === 'token' && state.quirks.issuer === 'tenant-template') tenantIdToken(ctx);
    if (endpoint === 'jwks') publishTestKeys(ctx);
    if (endpoint === 'discovery') adjustDiscovery(ctx);
    if (pushedForm) rememberPushedRequest(ctx, pushedForm);
    if (endpoint === 'authorize' && state.quirks.issuer === 'tenant-template') tenantResponseIss(ctx);
    if (endpoint === 'authorize' && (state.tampers.has('state') || state.tampers.has('iss'))) {
      tamperAuthorizationResponse(ctx);
    }
    if (endpoint === 'userinfo' && state.tampers.has('userinfo-sub')) tamperUserinfo(ctx);
    if (state.quirks.coopSameOrigin && /html/.test(ctx.response.type ?? '')) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    return undefined;
  };
}
