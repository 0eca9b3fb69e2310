/** Claims of a validated ID token (OIDC Core 2). */
export interface IdTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nonce?: string;
  readonly auth_time?: number;
  readonly [claim: string]: unknown;
}

/** What the app learns about the signed-in user: ID token claims merged with userinfo. */
export interface UserClaims {
  readonly sub: string;
  readonly name?: string;
  readonly email?: string;
  readonly [claim: string]: unknown;
}

/**
 * How the user authenticated at the OP, from the current ID token (OIDC Core 2): what an app
 * checks after a step-up sign-in. `acr_values` is a voluntary request (OIDC Core 3.1.2.1):
 * the OP may authenticate the user otherwise, so compare `acr` (and `amr`) with what you need.
 */
export interface Authentication {
  /** `acr`: the Authentication Context Class Reference the authentication satisfied; null when the OP named none. */
  readonly acr: string | null;
  /** `amr`: the authentication methods used (`pwd`, `otp`, `hwk`, ...; RFC 8176); empty when the OP named none. */
  readonly amr: readonly string[];
  /** `auth_time`: when the user authenticated, in seconds since the epoch (as `login({ maxAge })`); null when absent. */
  readonly authTime: number | null;
}

export function authenticationOf(session: Session): Authentication {
  const { acr, amr, auth_time } = session.idTokenClaims;
  return {
    acr: typeof acr === 'string' ? acr : null,
    amr: Array.isArray(amr) ? amr.filter((method): method is string => typeof method === 'string') : [],
    authTime: typeof auth_time === 'number' ? auth_time : null,
  };
}

/** A token set that passed every check, as kept in storage. Internal: apps see AuthState. */
export interface Session {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Access-token expiry, ms since the epoch, by the local clock at receipt. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
  readonly idToken?: string;
  readonly idTokenClaims: IdTokenClaims;
  readonly userInfo?: Readonly<Record<string, unknown>>;
  readonly scope?: string;
  /** When this token set was received, ms since the epoch. */
  readonly receivedAt: number;
  /**
   * Where this token set stands among all the sessions of this app and client, so that tabs
   * order them without trusting the wall clock (which can be set back): `epoch` counts the
   * sign-ins (the ledger assigns it, under the renewal lock), `chain` is a random id of the
   * sign-in it descends from, and `version` counts the renewals since that sign-in.
   */
  readonly epoch: number;
  readonly chain: string;
  readonly version: number;
  /**
   * withDPoP(): the JWK SHA-256 thumbprint (RFC 7638) of the key the tokens are bound to, by
   * which every tab finds the key in IndexedDB. Not a secret.
   */
  readonly dpopJkt?: string;
  /**
   * The `session_state` of the authorization response this token set came from (OpenID Connect
   * Session Management 1.0 3), for withSessionMonitor(); kept across refreshes. Not a secret.
   * Not checked by validSession() (start-up bytes): withSessionMonitor() ignores one that is not a string.
   */
  readonly sessionState?: string;
}

/** The identity of a token set, without the tokens. */
export type SessionPosition = Pick<Session, 'epoch' | 'chain' | 'version'>;

/** Whether two token sets are the same renewal of the same sign-in. */
export function sameSession(a: SessionPosition, b: SessionPosition): boolean {
  return a.chain === b.chain && a.version === b.version;
}

/**
 * Whether `candidate` should replace `current`: a later sign-in, or a later renewal of the
 * same sign-in. Two different sign-ins of the same epoch (possible only when the ledger could
 * not be read) do not replace each other.
 */
export function supersedes(candidate: SessionPosition, current: SessionPosition | null): boolean {
  if (!current) return true;
  if (candidate.epoch !== current.epoch) return candidate.epoch > current.epoch;
  return candidate.chain === current.chain && candidate.version > current.version;
}

/** A random id for a new sign-in's chain of token sets. */
export function newChainId(): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'at_hash', 'c_hash', 'sid', 'auth_time', 'acr', 'amr', 'jti']);

export function userClaimsOf(session: Session): UserClaims {
  const fromIdToken = Object.fromEntries(Object.entries(session.idTokenClaims).filter(([name]) => !PROTOCOL_CLAIMS.has(name)));
  return { ...fromIdToken, ...(session.userInfo ?? {}), sub: session.idTokenClaims.sub } as UserClaims;
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isCount = (value: unknown): value is number => isNumber(value) && Number.isInteger(value) && value >= 0;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Storage format version: a stored entry of another version is discarded, never guessed at. */
export const SESSION_FORMAT = 1;

export function serializeSession(session: Session, owner: string): string {
  return JSON.stringify({ format: SESSION_FORMAT, owner, session });
}

/**
 * Reads a stored session back. Anything unexpected (corrupt JSON, another format, an entry
 * written for another authority or client, missing or mistyped fields) gives null: the entry
 * is discarded, never trusted and never a crash.
 */
export function parseStoredSession(text: string | null, owner: string): Session | null {
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(parsed) || parsed['format'] !== SESSION_FORMAT || parsed['owner'] !== owner) return null;
  return validSession(parsed['session']);
}

/** The value as a Session when it has every field with the right type, else null. */
export function validSession(session: unknown): Session | null {
  if (!isRecord(session)) return null;
  const claims = session['idTokenClaims'];
  if (
    !isString(session['accessToken']) ||
    !isString(session['tokenType']) ||
    !isNumber(session['expiresAt']) ||
    !isNumber(session['receivedAt']) ||
    (session['refreshToken'] !== undefined && !isString(session['refreshToken'])) ||
    (session['idToken'] !== undefined && !isString(session['idToken'])) ||
    (session['scope'] !== undefined && typeof session['scope'] !== 'string') ||
    (session['userInfo'] !== undefined && !isRecord(session['userInfo'])) ||
    !isRecord(claims) ||
    !isString(claims['sub']) ||
    !isString(claims['iss']) ||
    !isNumber(claims['exp']) ||
    !isNumber(claims['iat']) ||
    (session['chain'] !== undefined && !(isString(session['chain']) && isCount(session['epoch']) && isCount(session['version'])))
  ) {
    return null;
  }
  // A session stored by version 0.1 has no position: all of them are one chain, ordered by
  // receipt time, as 0.1 ordered them.
  if (session['chain'] === undefined) return { ...session, epoch: 0, chain: 'legacy', version: session['receivedAt'] } as unknown as Session;
  return session as unknown as Session;
}
