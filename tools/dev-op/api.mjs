// The protected demo API and, in test mode, a "look-alike" API on a confusable origin.
import { API_CLIENT } from './config.mjs';
import { DPoPCheckError, PROOF_ALGORITHMS, checkProof, createApiNonce, createReplayCache, expectedHtu } from './dpop.mjs';
import { corsHeaders, preflightHeaders, readJson, sendJson } from './http-util.mjs';
import { ROUTES } from './provider.mjs';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const REALM = 'Bearer realm="demo-api"';
const INTROSPECTION_TIMEOUT_MS = 5000;

const invalidToken = (description) =>
  `${REALM}, error="invalid_token", error_description="${description}"`;

function bearerToken(header) {
  const match = /^Bearer +(\S*) *$/i.exec(header ?? '');
  return match ? match[1] : undefined;
}

/** The token of `Authorization: DPoP <token>` (RFC 9449 7.1), else undefined. */
function dpopToken(header) {
  const match = /^DPoP +(\S+) *$/i.exec(header ?? '');
  return match ? match[1] : undefined;
}

/** A DPoP challenge (RFC 9449 7.1): the scheme, the algorithms the API takes, and the error. */
const dpopChallenge = (error, description) =>
  `DPoP algs="${PROOF_ALGORITHMS.join(' ')}", error="${error}", error_description="${description}"`;

/**
 * Asks the OP about the token on every call, deliberately without caching: tests revoke tokens
 * and expect the very next API call to fail.
 */
async function introspect(issuer, token) {
  const credentials = Buffer.from(
    `${encodeURIComponent(API_CLIENT.id)}:${encodeURIComponent(API_CLIENT.secret)}`,
  ).toString('base64');
  const response = await fetch(`${issuer}${ROUTES.introspection}`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${credentials}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`introspection answered ${response.status}`);
  return response.json();
}

/** Access tokens introspect as Bearer or, bound to a key, DPoP; refresh tokens have no token_type. */
const isAccessToken = (claims) => claims.token_type === 'Bearer' || claims.token_type === 'DPoP';

/** Three base64url parts: a JWS in compact form (the OP's opaque tokens have no dot). */
const looksLikeJwt = (token) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

function pathOf(req) {
  return new URL(req.url, 'http://localhost').pathname;
}

/**
 * @param {object} params
 * @param {string} params.issuer
 * @param {string[]} params.appOrigins
 * @param {ReturnType<import('./test-hooks.mjs').createTestState>} [params.state] test mode only
 * @param {(line: string) => void} [params.log] request log, only when verbose
 */
export function createApiHandler({ issuer, partnerIssuer, apiUrl, appOrigins, state, log }) {
  const allowedOrigins = new Set(appOrigins);
  // In test mode the hooks switch and rotate the nonce; otherwise it is the API's own.
  const nonce = state?.dpop.apiNonce ?? createApiNonce();
  const replay = state?.dpop.apiReplay ?? createReplayCache();
  // Outside test mode the API's own nonce changes on a timer (RFC 9449 9); in test mode only the
  // hook changes it, so that an e2e test sees exactly the challenges it caused.
  if (!state) nonce.rotateEvery();

  const routes = {
    'GET /api/hello': (claims) => ({ message: `Hello, ${claims.sub}!`, ...basics(claims) }),
    'GET /api/profile': (claims) => ({
      ...basics(claims),
      clientId: claims.client_id,
      expiresIn: claims.exp - Math.floor(Date.now() / 1000),
    }),
    'POST /api/echo': (claims, body) => ({ ...basics(claims), received: body }),
    // The second OP's API (several OPs in one app): it takes the second OP's tokens only.
    'GET /partner-api/hello': (claims) => ({ message: `Hello from the partner API, ${claims.sub}!`, ...basics(claims), clientId: claims.client_id }),
  };
  /** The OP that issues the tokens an API path takes. */
  const issuerOf = (path) => (path.startsWith('/partner-api/') ? partnerIssuer : issuer);

  function basics(claims) {
    return { sub: claims.sub, scope: claims.scope, exp: claims.exp, serverTime: new Date().toISOString() };
  }

  async function handle(req, res) {
    const path = pathOf(req);
    const cors = corsHeaders(req.headers.origin, allowedOrigins, { exposeDPoPNonce: true });

    if (state && (path === '/__test/api-log' || path.startsWith('/__test/api-log/'))) {
      if (req.method === 'GET' && path === '/__test/api-log') return sendJson(res, 200, state.apiLog);
      if (req.method === 'POST' && path === '/__test/api-log/reset') {
        state.apiLog.length = 0;
        return sendJson(res, 200, state.apiLog);
      }
      return sendJson(res, 404, { error: 'not_found' });
    }

    if (req.method === 'OPTIONS') {
      res.writeHead(204, preflightHeaders(req.headers.origin, allowedOrigins));
      return res.end();
    }

    const outage = state?.outageFor('api');
    if (outage) {
      state.counters.outageRejected += 1;
      if (outage === 'reset') return req.socket.destroy();
      return sendJson(res, 503, { error: 'temporarily_unavailable' }, { ...cors, 'Retry-After': '1' });
    }

    const route = routes[`${req.method} ${path}`];
    if (!route) return sendJson(res, 404, { error: 'not_found' }, cors);

    const dpop = dpopToken(req.headers.authorization);
    if (dpop !== undefined) return answerWithDPoP(req, res, path, route, dpop, cors);

    const token = bearerToken(req.headers.authorization);
    if (token) res.scheme = 'Bearer';
    if (!token) {
      return sendJson(res, 401, { error: 'unauthorized', error_description: 'a Bearer access token is required' }, {
        ...cors,
        'WWW-Authenticate': REALM,
      });
    }

    const { claims, refused, format } = await accessTokenClaims(path, token);
    res.tokenFormat = format;
    if (!claims && !refused) return unreachable(res, cors);
    if (refused) {
      return sendJson(res, 401, { error: 'invalid_token', error_description: refused }, {
        ...cors,
        'WWW-Authenticate': invalidToken(refused),
      });
    }
    // A DPoP-bound token is worthless without its key (RFC 9449 7.2): as a bearer token it is
    // refused, whether the OP says so by its binding or by its type.
    if (claims.cnf?.jkt || String(claims.token_type).toLowerCase() === 'dpop') {
      res.dpopCheck = 'bound-token-as-bearer';
      const description = 'a DPoP-bound access token needs the DPoP scheme and a proof';
      return sendJson(res, 401, { error: 'invalid_token', error_description: description }, {
        ...cors,
        'WWW-Authenticate': dpopChallenge('invalid_token', description),
      });
    }
    return answer(req, res, route, claims, cors);
  }

  /**
   * The token's claims at its OP, or why it is refused: a refresh token is "active" too, but it
   * must never work as an access credential. Neither (the OP unreachable): answer 503.
   */
  async function accessTokenClaims(path, token) {
    if (looksLikeJwt(token)) return { ...(await jwtAccessTokenClaims(path, token)), format: 'jwt' };
    // An Auth0-style API (quirk audience 'auth0') validates JWTs and cannot introspect.
    if (state?.quirks.audience === 'auth0') return { refused: 'not a JWT access token for this API (the app sent no audience)', format: 'opaque' };
    return { ...(await introspectedClaims(path, token)), format: 'opaque' };
  }

  /** The OP's signing keys per issuer, fetched when first needed (jose refetches for an unknown kid). */
  const keySets = new Map();

  /**
   * A JWT access token (RFC 9068), as an API that validates them locally does: signed by a key
   * of its OP's JWKS, `typ` at+jwt, `iss` the OP, `aud` this API's identifier (its URL, the
   * `resource` it is issued for), not expired. Its claims then stand for introspection's.
   */
  async function jwtAccessTokenClaims(path, token) {
    const expectedIssuer = issuerOf(path);
    if (!keySets.has(expectedIssuer)) keySets.set(expectedIssuer, createRemoteJWKSet(new URL(`${expectedIssuer}${ROUTES.jwks}`)));
    try {
      const { payload } = await jwtVerify(token, keySets.get(expectedIssuer), { issuer: expectedIssuer, audience: apiUrl, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] });
      return { claims: { ...payload, active: true, token_type: payload.cnf?.jkt ? 'DPoP' : 'Bearer' } };
    } catch (error) {
      // The key set could not be fetched: the OP is unreachable, not the token bad.
      if (error instanceof TypeError || error?.code === 'ERR_JWKS_TIMEOUT') return {};
      return { refused: 'the JWT access token failed its checks (signature, typ, iss, aud or exp)' };
    }
  }

  async function introspectedClaims(path, token) {
    let claims;
    try {
      claims = await introspect(issuerOf(path), token);
    } catch {
      return {};
    }
    if (!claims.active) return { refused: 'the access token is expired, revoked or unknown' };
    if (!isAccessToken(claims)) return { refused: 'not an access token' };
    return { claims };
  }

  function unreachable(res, headers) {
    return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'the OpenID Provider is unreachable' }, headers);
  }

  /**
   * `Authorization: DPoP <token>`: the proof first (RFC 9449 4.3, with the API's nonce), then
   * the token at the OP, then the binding: the token's `cnf.jkt` must be the proof key's
   * thumbprint (RFC 9449 6.1, 7.1). Every answer carries the current nonce (RFC 9449 9).
   */
  async function answerWithDPoP(req, res, path, route, token, cors) {
    res.scheme = 'DPoP';
    const headers = { ...cors, 'DPoP-Nonce': nonce.value };
    const refuse = (check, error, description) => {
      res.dpopCheck = check;
      return sendJson(res, 401, { error, error_description: description }, {
        ...headers,
        'WWW-Authenticate': dpopChallenge(error, description),
      });
    };
    const refuseProof = (error) => {
      if (!(error instanceof DPoPCheckError)) throw error;
      return refuse(error.check, error.challenge, error.message);
    };
    let proof;
    try {
      proof = await checkProof({
        proofs: req.headersDistinct.dpop ?? [],
        method: req.method,
        htu: expectedHtu(apiUrl, req.url),
        accessToken: token,
        nonce,
        replay,
      });
    } catch (error) {
      return refuseProof(error);
    }

    const { claims, refused } = await accessTokenClaims(path, token);
    if (!claims && !refused) return unreachable(res, headers);
    if (refused) return refuse('token', 'invalid_token', refused);
    if (!claims.cnf?.jkt) return refuse('not-bound', 'invalid_token', 'the access token is not DPoP-bound');
    if (claims.cnf.jkt !== proof.thumbprint) return refuse('cnf-jkt', 'invalid_token', 'the DPoP proof key is not the key the access token is bound to');
    // Only now is the jti recorded: a proof refused above leaves nothing in the replay cache.
    try {
      proof.accept(Math.floor(Date.now() / 1000));
    } catch (error) {
      return refuseProof(error);
    }
    res.dpopCheck = 'ok';
    return answer(req, res, route, claims, headers);
  }

  async function answer(req, res, route, claims, cors) {
    let body;
    if (req.method === 'POST') {
      try {
        body = await readJson(req);
      } catch (error) {
        return sendJson(res, error.status ?? 400, { error: 'invalid_request', error_description: error.message }, cors);
      }
    }
    // Which client's token this API took (a client id, never the token), for the test log.
    res.clientId = claims.client_id;
    return sendJson(res, 200, route(claims, body), cors);
  }

  return (req, res) => {
    const path = pathOf(req);
    const hadAuthorization = req.headers.authorization !== undefined;
    const hadDPoPProof = req.headers.dpop !== undefined;
    res.on('finish', () => {
      // Only the fact that a header arrived is kept, never the token itself.
      if (state && req.method !== 'OPTIONS' && !path.startsWith('/__test/')) {
        // scheme: the Authorization scheme the API took (Bearer, DPoP) or null; dpop: how the
        // DPoP checks ended (see README), only when they ran. Never a token or a proof.
        const entry = { method: req.method, path, hadAuthorization, status: res.statusCode, scheme: res.scheme ?? null, hadDPoPProof };
        if (res.dpopCheck !== undefined) entry.dpop = res.dpopCheck;
        // How the Bearer token the API took was checked: `jwt` (locally, RFC 9068) or `opaque` (introspection).
        if (res.tokenFormat !== undefined) entry.tokenFormat = res.tokenFormat;
        state.record(state.apiLog, res.clientId === undefined ? entry : { ...entry, clientId: res.clientId });
      }
      log?.(`[api] ${req.method} ${path} ${res.statusCode}`);
    });
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: error.message });
      else res.destroy();
    });
  };
}

/**
 * Answers like an API but sits on an origin that merely starts with the real API's origin. An
 * HTTP interceptor must never attach tokens here; the log proves whether one did.
 */
export function createLookalikeHandler({ appOrigins, state, log }) {
  const allowedOrigins = new Set(appOrigins);

  const summary = () => ({
    requests: state.lookalikeLog.length,
    withAuthorization: state.lookalikeLog.filter((entry) => entry.hadAuthorization).length,
    withDPoPProof: state.lookalikeLog.filter((entry) => entry.hadDPoPProof).length,
    log: state.lookalikeLog,
  });

  return (req, res) => {
    const path = pathOf(req);
    const hadAuthorization = req.headers.authorization !== undefined;
    const hadDPoPProof = req.headers.dpop !== undefined;
    res.on('finish', () => log?.(`[look-alike] ${req.method} ${path} ${res.statusCode}`));

    if (req.method === 'GET' && path === '/__test/lookalike-log') return sendJson(res, 200, summary());
    if (req.method === 'POST' && path === '/__test/lookalike-log/reset') {
      state.lookalikeLog.length = 0;
      return sendJson(res, 200, summary());
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, preflightHeaders(req.headers.origin, allowedOrigins));
      return res.end();
    }
    if (!path.startsWith('/api/')) return sendJson(res, 404, { error: 'not_found' });

    state.record(state.lookalikeLog, { method: req.method, path, hadAuthorization, hadDPoPProof });
    // Drain any body so keep-alive connections stay usable.
    req.resume();
    return sendJson(
      res,
      200,
      { message: 'look-alike API (not the demo API)', hadAuthorization },
      corsHeaders(req.headers.origin, allowedOrigins),
    );
  };
}
