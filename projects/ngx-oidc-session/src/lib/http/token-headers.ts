import type { AuthorizationServer } from 'oauth4webapi';
import { ResolvedAuthConfig } from '../core/config';
import { AuthError } from '../core/errors';
import { Session } from '../core/session';
import { DPoPProofs } from '../dpop/dpop-proofs';
import { SecureUrlMatcher } from './secure-url-matcher';

/** The OP's URLs that never get a token: its issuer, and its endpoints once discovered. */
export function opUrlsOf(config: ResolvedAuthConfig, metadata: AuthorizationServer | null): string[] {
  return [
    config.authority,
    ...(metadata
      ? [metadata.token_endpoint, metadata.revocation_endpoint, metadata.introspection_endpoint, metadata.userinfo_endpoint, metadata.authorization_endpoint, metadata.end_session_endpoint, metadata.jwks_uri]
      : []),
  ].filter((url): url is string => typeof url === 'string');
}

/** The last matcher built per app (config object), with the page base and OP URLs it was built for. */
const matchers = new WeakMap<ResolvedAuthConfig, { key: string; matcher: SecureUrlMatcher }>();

/**
 * The allow-list matcher, with the OP's own endpoints excluded, shared by the interceptor and
 * AuthService.authorizationHeaders(). Built once and again only when the OP metadata changes:
 * parsing a dozen URLs per request cost more than all the rest of the interceptor (bench/:
 * interceptor overhead).
 */
export function matcherFor(config: ResolvedAuthConfig, appOrigin: string, baseUrl: string, metadata: AuthorizationServer | null): SecureUrlMatcher {
  const opUrls = opUrlsOf(config, metadata);
  // The base changes only with a navigation, and only in a page without <base href>.
  const key = JSON.stringify([appOrigin, baseUrl, config.secureApis, opUrls]);
  const cached = matchers.get(config);
  if (cached?.key === key) return cached.matcher;
  const matcher = new SecureUrlMatcher(config.secureApis, appOrigin, opUrls, baseUrl);
  matchers.set(config, { key, matcher });
  return matcher;
}

/** The headers that present an access token: `Authorization`, and for a DPoP-bound token its proof. */
export interface AuthorizationHeaders {
  Authorization: string;
  DPoP?: string;
}

/** What presents an access token: the token, its type and the key it is bound to (withDPoP()). */
export type PresentedToken = Pick<Session, 'accessToken' | 'tokenType' | 'dpopJkt'>;

/** Whether the token set's tokens are DPoP-bound (`token_type` compares case-insensitively, RFC 6749 7.1). */
export function isDPoPBound(session: Pick<Session, 'tokenType'>): boolean {
  return session.tokenType.toLowerCase() === 'dpop';
}

/**
 * The headers for one request with this token set: `Bearer <token>` (RFC 6750 2.1), or for a
 * DPoP-bound token `DPoP <token>` with a new proof for this method and absolute URL (RFC 9449
 * 7.1). Bearer headers come at once (no promise: the interceptor's common path stays
 * synchronous), DPoP ones once the proof is signed. A DPoP-bound token is never sent as a
 * bearer token: without the proofs of withDPoP() (which only a misconfigured injector can
 * lack) this throws `config_invalid`.
 *
 * @param url the absolute URL, read only for a DPoP-bound token (parsing it costs per request)
 */
export function authorizationHeadersFor(
  session: PresentedToken,
  method: string,
  url: () => string,
  proofs: DPoPProofs | null,
): AuthorizationHeaders | Promise<AuthorizationHeaders> {
  if (!isDPoPBound(session)) return { Authorization: `Bearer ${session.accessToken}` };
  if (!proofs) {
    throw new AuthError('config_invalid', ngDevMode ? 'The session holds a DPoP-bound token, but this auth instance has no withDPoP(): no proof can be made, and it is not sent as a bearer token.' : '', false, {
      configKey: 'withDPoP()',
    });
  }
  return proofs.proof(method, url(), session.accessToken, session.dpopJkt).then((proof) => ({ Authorization: `DPoP ${session.accessToken}`, DPoP: proof }));
}
