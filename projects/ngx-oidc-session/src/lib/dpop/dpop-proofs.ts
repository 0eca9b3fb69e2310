import type { HttpEvent, HttpHandlerFn, HttpRequest } from '@angular/common/http';
import { InjectionToken } from '@angular/core';
import type { Observable } from 'rxjs';

/**
 * The retries one request to a resource server has had, shared by the interceptor (the renewal)
 * and withDPoP() (the nonce): each kind at most once, so at most three sends and never a loop.
 */
export interface RequestRetries {
  /** The `use_dpop_nonce` retry (RFC 9449 9) was made, or is not to be made. */
  nonce: boolean;
  /** The `invalid_token` renewal and retry was made, or is not to be made. */
  renewal: boolean;
}

/**
 * What the interceptor and AuthService need from withDPoP() (RFC 9449): the start bundle holds
 * this token only, so that an app without withDPoP() ships none of the DPoP code. Provided per
 * auth instance (null for an instance without withDPoP()).
 */
export interface DPoPProofs {
  /**
   * A fresh DPoP proof JWT for one request to a resource server with this access token
   * (RFC 9449 4.2, 7.1): `htm`, `htu` without query and fragment, `ath`, `iat`, a unique `jti`,
   * and the nonce last remembered for the URL's origin. Signed with `dpopJkt`, the key this very
   * token is bound to (not the session's at the time of signing: the tab may have taken in
   * another sign-in meanwhile); rejects with an AuthError when that key is not available.
   */
  proof(method: string, url: string, accessToken: string, dpopJkt: string | undefined): Promise<string>;
  /**
   * Sends one request with this DPoP-bound access token (RFC 9449 7.1): `Authorization: DPoP`
   * and a new proof for its method and `url` (absolute). Remembers the `DPoP-Nonce` of every
   * answer, success or error, for the URL's origin. A 401 `use_dpop_nonce` challenge bringing a
   * nonce gets one retry with a new proof carrying it, unless `retries.nonce` says it was made; a
   * nonce challenge it does not retry is not the token's fault, so it marks the renewal spent too.
   * Other answers go to the caller as they came.
   */
  send(request: HttpRequest<unknown>, next: HttpHandlerFn, url: string, accessToken: string, dpopJkt: string | undefined, retries: RequestRetries): Observable<HttpEvent<unknown>>;
  /** Remembers the nonce a server gave in its `DPoP-Nonce` header (RFC 9449 8, 9) for the next proofs to its origin. */
  rememberNonce(url: string, nonce: string): void;
}

export const DPOP_PROOFS = new InjectionToken<DPoPProofs | null>('ngx-oidc-session DPoP proofs');
