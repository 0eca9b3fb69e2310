import { InjectionToken } from '@angular/core';

/**
 * What the interceptor and AuthService need from withDPoP() (RFC 9449): the start bundle holds
 * this token only, so that an app without withDPoP() ships none of the DPoP code. Provided per
 * auth instance (null for an instance without withDPoP()).
 */
export interface DPoPProofs {
  /**
   * A fresh DPoP proof JWT for one request to a resource server with this access token
   * (RFC 9449 4.2, 7.1): `htm`, `htu` without query and fragment, `ath`, `iat`, a unique `jti`,
   * and the nonce last remembered for the URL's origin. Signed with the key the session's
   * tokens are bound to; rejects with an AuthError when that key is not available.
   */
  proof(method: string, url: string, accessToken: string): Promise<string>;
  /** Remembers the nonce a server gave in its `DPoP-Nonce` header (RFC 9449 8, 9) for the next proofs to its origin. */
  rememberNonce(url: string, nonce: string): void;
}

export const DPOP_PROOFS = new InjectionToken<DPoPProofs | null>('ngx-oidc-session DPoP proofs');
