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

/**
 * The API's DPoP nonce: one value at a time, replaced only by `rotate()` (at start and by the
 * test hook), so that a test sees exactly the challenges it caused. A real resource server would
 * also rotate it on a timer. `required` false lets proofs without it through (test hook).
 */
export function createApiNonce() {
  const nonce = {
    required: true,
    value: '',
    rotations: 0,
    rotate() {
      nonce.value = randomBytes(24).toString('base64url');
      nonce.rotations += 1;
      return nonce.value;
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

/**
 * The `jti`s of proofs accepted within the iat window, so that none is taken twice (RFC 9449
 * 11.1). A proof older than the window is refused by its `iat`, so older entries can go.
 */
export function createReplayCache(windowSeconds = IAT_WINDOW_SECONDS) {
  const seen = new Map();
  return {
    /** False when `jti` was seen within the window; records it otherwise. */
    take(jti, nowSeconds) {
      for (const [key, until] of seen) {
        if (until > nowSeconds) break; // insertion order is expiry order
        seen.delete(key);
      }
      if (seen.has(jti)) return false;
      seen.set(jti, nowSeconds + 2 * windowSeconds);
      return true;
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
 * not seen before. Resolves with the key's RFC 7638 thumbprint, for the token's `cnf.jkt`.
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
  if (nonce.required && payload.nonce !== nonce.value) {
    throw new DPoPCheckError('use_dpop_nonce', 'a DPoP proof with the current nonce is required', 'use_dpop_nonce');
  }
  if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > 256) {
    throw new DPoPCheckError('jti', 'the DPoP proof needs a jti');
  }
  if (!replay.take(payload.jti, now)) throw new DPoPCheckError('jti-replay', 'the DPoP proof was used before');
  return calculateJwkThumbprint(jwk, 'sha256');
}
