// DPoP proof checks of the demo API, a resource server (RFC 9449 4.3 and 7.1), and its server
// nonce (RFC 9449 9). JWS parsing, signature checks and thumbprints are jose's, not ours.
import { createHash, randomBytes } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify } from 'jose';

/** How far a proof's `iat` may be from the API's clock, each way (RFC 9449 11.1). */
export const IAT_WINDOW_SECONDS = 60;

/**
 * Asymmetric JWS algorithms only (RFC 9449 4.2: "MUST NOT be none or an identifier for a
 * symmetric algorithm"). Also what the API's `WWW-Authenticate` offers as `algs` (RFC 9449 7.1).
 */
export const PROOF_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519'];

/** JWK members that only a private (or symmetric) key has: a proof's `jwk` must have none. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A failed check; `check` names it for the API log, `challenge` is the WWW-Authenticate error. */
export class DPoPCheckError extends Error {
  constructor(check, description, challenge = 'invalid_dpop_proof') {
    super(description);
    this.check = check;
    this.challenge = challenge;
  }
}

/** Outside test mode the API's nonce changes this often (RFC 9449 9: the server decides). */
export const API_NONCE_ROTATION_MS = 60_000;
/** After a change on the timer the previous nonce is still taken this long (proofs already on the way). */
export const API_NONCE_GRACE_MS = 30_000;

/**
 * The API's DPoP nonce. In test mode one value at a time, replaced only by `rotate()` (at start
 * and by the test hook), so that a test sees exactly the challenges it caused. Outside test mode
 * the API also rotates it on a timer (`rotateEvery`), taking the previous value for a grace
 * period. `required` false lets proofs without it through (test hook).
 *
 * @param {{ now?: () => number }} [options] the clock, in ms (injected by the selftest)
 */
export function createApiNonce({ now = Date.now } = {}) {
  const nonce = {
    required: true,
    value: '',
    /** The value before the last timed rotation and until when (ms) it is still taken. */
    previous: null,
    previousUntil: 0,
    rotations: 0,
    /** A new value; with `graceMs` the old one is taken that much longer, else no more. */
    rotate({ graceMs = 0 } = {}) {
      nonce.previous = graceMs > 0 ? nonce.value : null;
      nonce.previousUntil = now() + graceMs;
      nonce.value = randomBytes(24).toString('base64url');
      nonce.rotations += 1;
      return nonce.value;
    },
    /** Whether a proof's `nonce` claim is the current value, or the previous one within its grace. */
    accepts(value) {
      return value === nonce.value || (nonce.previous !== null && value === nonce.previous && now() <= nonce.previousUntil);
    },
    /** Rotates every `intervalMs` with `graceMs` for the old value; returns how to stop. Never keeps the process alive. */
    rotateEvery(intervalMs = API_NONCE_ROTATION_MS, graceMs = API_NONCE_GRACE_MS) {
      const timer = setInterval(() => nonce.rotate({ graceMs }), intervalMs);
      timer.unref?.();
      return () => clearInterval(timer);
    },
    /** A new value, required, and the rotation count back to 0 (the count is of the hook's rotations). */
    reset() {
      nonce.required = true;
      nonce.rotate();
      nonce.rotations = 0;
    },
  };
  nonce.reset();
  return nonce;
}

/** How many jtis the API keeps at most; beyond that it refuses proofs rather than forget one. */
export const REPLAY_CACHE_MAX_ENTRIES = 10_000;

/**
 * The `jti`s of proofs the API accepted, each kept for as long as a proof with it could pass
 * the `iat` check (|now - iat| <= window, RFC 9449 11.1): until iat + window. A proof dated
 * ahead passes later than one dated now, so entries do not expire in insertion order.
 * Only proofs that were accepted (token and binding checked) are recorded, so that nobody can
 * fill the cache with proofs of their own keys; it is capped, and when it is full it refuses
 * new proofs rather than forget a jti that could still be replayed.
 */
export function createReplayCache({ windowSeconds = IAT_WINDOW_SECONDS, maxEntries = REPLAY_CACHE_MAX_ENTRIES } = {}) {
  const seen = new Map();
  const forgetPassed = (nowSeconds) => {
    for (const [jti, until] of seen) if (until < nowSeconds) seen.delete(jti);
  };
  return {
    /** Whether a proof with `jti` was accepted and could still pass the iat check. */
    has(jti, nowSeconds) {
      const until = seen.get(jti);
      return until !== undefined && until >= nowSeconds;
    },
    /**
     * Records an accepted proof's `jti` (checked and recorded in one step, so two requests with
     * one proof at once cannot both pass): `recorded`, `replayed`, or `full`.
     */
    record(jti, iat, nowSeconds) {
      forgetPassed(nowSeconds);
      if (seen.has(jti)) return 'replayed';
      if (seen.size >= maxEntries) return 'full';
      seen.set(jti, iat + windowSeconds);
      return 'recorded';
    },
    get size() {
      return seen.size;
    },
    clear: () => seen.clear(),
  };
}

const base64urlSha256 = (value) => createHash('sha256').update(value).digest('base64url');

/** The request URL as `htu` must name it: the API's public origin and the path, no query or fragment. */
export function expectedHtu(publicOrigin, requestUrl) {
  const url = new URL(requestUrl, publicOrigin);
  return `${new URL(publicOrigin).origin}${url.pathname}`;
}

/** `htu` compared after URL normalisation (RFC 9449 4.3 step 9: syntax-based, RFC 3986 6.2.2/6.2.3). */
function sameHtu(htu, expected) {
  if (typeof htu !== 'string') return false;
  const actual = URL.parse(htu);
  if (!actual) return false;
  actual.search = '';
  actual.hash = '';
  return actual.href === new URL(expected).href;
}

/**
 * Checks one DPoP proof for a request to the API (RFC 9449 4.3), in this order: exactly one
 * proof; `typ`, `alg`, a public `jwk`; the signature with that `jwk`; `htm`, `htu`, `iat`,
 * `ath`; the API's nonce (`use_dpop_nonce` when it is missing or not the current one); `jti`
 * not seen before. Resolves with the key's RFC 7638 thumbprint, for the token's `cnf.jkt`, and
 * `accept()`, which records the jti: call it only once the token and its binding passed.
 *
 * @param {object} params
 * @param {string[]} params.proofs every `DPoP` header value that came
 * @param {string} params.method
 * @param {string} params.htu the URL the proof must name (expectedHtu)
 * @param {string} params.accessToken
 * @param {ReturnType<typeof createApiNonce>} params.nonce
 * @param {ReturnType<typeof createReplayCache>} params.replay
 * @param {number} [params.now] seconds
 */
export async function checkProof({ proofs, method, htu, accessToken, nonce, replay, now = Math.floor(Date.now() / 1000) }) {
  // RFC 9449 4.3 step 1: exactly one DPoP header field. A comma cannot occur in a compact JWS,
  // so a value with one is several headers that a proxy folded into one.
  if (proofs.length !== 1 || !proofs[0] || proofs[0].includes(',')) {
    throw new DPoPCheckError('proof-count', 'exactly one DPoP proof header is required');
  }
  const [proof] = proofs;
  let header;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DPoPCheckError('malformed', 'the DPoP proof is not a JWS');
  }
  if (header.typ !== 'dpop+jwt') throw new DPoPCheckError('typ', 'the DPoP proof typ must be dpop+jwt');
  if (!PROOF_ALGORITHMS.includes(header.alg)) throw new DPoPCheckError('alg', 'the DPoP proof alg must be an asymmetric algorithm');
  const jwk = header.jwk;
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk) || PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    throw new DPoPCheckError('jwk', 'the DPoP proof jwk must be a public key');
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { algorithms: PROOF_ALGORITHMS, typ: 'dpop+jwt' }));
  } catch {
    throw new DPoPCheckError('signature', 'the DPoP proof signature does not verify with its jwk');
  }
  if (payload.htm !== method) throw new DPoPCheckError('htm', 'the DPoP proof htm does not match the request method');
  if (!sameHtu(payload.htu, htu)) throw new DPoPCheckError('htu', 'the DPoP proof htu does not match the request URL');
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > IAT_WINDOW_SECONDS) {
    throw new DPoPCheckError('iat', 'the DPoP proof iat is outside the accepted window');
  }
  if (typeof payload.ath !== 'string' || payload.ath !== base64urlSha256(accessToken)) {
    throw new DPoPCheckError('ath', 'the DPoP proof ath does not match the access token');
  }
  if (nonce.required && !nonce.accepts(payload.nonce)) {
    throw new DPoPCheckError('use_dpop_nonce', 'a DPoP proof with the current nonce is required', 'use_dpop_nonce');
  }
  if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > 256) {
    throw new DPoPCheckError('jti', 'the DPoP proof needs a jti');
  }
  if (replay.has(payload.jti, now)) throw new DPoPCheckError('jti-replay', 'the DPoP proof was used before');
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    thumbprint,
    /**
     * Once the token and its binding passed: records the jti (RFC 9449 11.1), or throws when
     * another request took this proof meanwhile or the cache is full.
     */
    accept(acceptedAt = now) {
      const outcome = replay.record(payload.jti, payload.iat, acceptedAt);
      if (outcome === 'replayed') throw new DPoPCheckError('jti-replay', 'the DPoP proof was used before');
      if (outcome === 'full') throw new DPoPCheckError('jti-cache-full', 'the API takes no more DPoP proofs for now; retry shortly');
    },
  };
}
