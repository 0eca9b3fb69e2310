/**
 * Every failure the library reports is an `AuthError` with a stable `code`, explained in the
 * README's errors reference. Messages and `details` never carry token material (no tokens,
 * codes, verifiers or raw response bodies), so an app may log them as they are.
 */
export type AuthErrorCode =
  /** The AuthConfig given to provideAuth is wrong or contradictory. */
  | 'config_invalid'
  /** The OP's discovery document could not be fetched or is not acceptable. */
  | 'discovery_failed'
  /** The discovery document names another issuer than the configured authority. */
  | 'issuer_mismatch'
  /** The authorization response's `state` matches no sign-in attempt started in this browser. */
  | 'state_mismatch'
  /**
   * The authorization response arrived at another URL than the redirect_uri its request named
   * (RFC 9700 4.4.2: a mix-up attack, or another instance's redirect URL); its code is not redeemed.
   */
  | 'callback_url_mismatch'
  /** The authorization response's `iss` (RFC 9207) is missing or names another issuer. */
  | 'iss_mismatch'
  /** The OP answered the authorization request with an error (access_denied, login_required, ...). */
  | 'authorization_error'
  /** The token endpoint refused the request (invalid_grant, ...). */
  | 'token_error'
  /** The ID token failed a check of OIDC Core 3.1.3.7 / 12.2 (signature, iss, aud, exp, nonce, ...). */
  | 'id_token_invalid'
  /** The userinfo response's `sub` is not the ID token's `sub` (OIDC Core 5.3.4). */
  | 'userinfo_sub_mismatch'
  /** The OP sent a response this library cannot accept (malformed, wrong content type, ...). */
  | 'invalid_response'
  /** The OP could not be reached, or answered with a server error. Retryable. */
  | 'network_error'
  /** A renewal did not finish in time (iframe timeout, request timeout). Retryable. */
  | 'timeout'
  /** There is no session (or no longer one) to take a token from. */
  | 'no_session'
  /**
   * AuthService.authorizationHeaders() or rememberDPoPNonce() for a URL outside `secureApis`, or
   * one of the OP's: the same allow-list as the interceptor's, so no token is given out for it.
   */
  | 'url_not_allowed'
  /**
   * Another tab renewed the shared session and no open tab handed over its tokens: this tab's
   * refresh token is spent, so this tab's session ends (the other tabs keep theirs).
   */
  | 'stale_session'
  /** The operation needs a browser (called during server-side rendering). */
  | 'not_in_browser'
  /** Token revocation at logout failed; the local session was cleared anyway. */
  | 'revocation_failed'
  /**
   * The browser refused to store the session (storage full or disabled): it is kept in memory
   * for this page only. Reported once, in an `error` event; the session goes on.
   */
  | 'storage_unavailable'
  /**
   * login({ popup: true }): the browser refused to open the popup (a popup blocker; login was
   * not called in a click handler, or after an await that outlasted the click's activation).
   */
  | 'popup_blocked'
  /** login({ popup: true }): the popup was closed before the sign-in finished. */
  | 'popup_closed'
  /**
   * login({ popup: true }) while a popup sign-in with other parameters is in progress in this
   * tab: nothing was started. The one in progress goes on.
   */
  | 'sign_in_in_progress'
  /**
   * withDPoP(): this page cannot keep the key DPoP-bound tokens need (no IndexedDB, no WebCrypto
   * ECDSA P-256, or not a secure context). The app starts unauthenticated and login() rejects;
   * there is no fallback to bearer tokens.
   */
  | 'dpop_unavailable'
  /**
   * config.tenantIssuer with allowedTenants: the ID token (or the authorization response's `iss`)
   * names a tenant that is not in the list. Nothing is stored.
   */
  | 'tenant_not_allowed'
  /**
   * withSessionMonitor(): this browser cannot watch the session at the OP (no check_session
   * iframe, one on another origin than the OP's authorization endpoint, or an iframe that cannot
   * read the OP's cookies, as where third-party cookies are blocked). Reported once, in a
   * `session_monitor` event; the session goes on, and the renewals still end it when the OP refuses.
   */
  | 'session_monitor_unavailable';

/** What is safe to expose about a failure: protocol error codes, never token material. */
export interface AuthErrorDetails {
  /** OAuth `error` value from the OP, e.g. `invalid_grant`, `login_required`. */
  readonly oauthError?: string;
  /** OAuth `error_description` from the OP. */
  readonly oauthErrorDescription?: string;
  /** HTTP status of the response that failed, when there was one. */
  readonly status?: number;
  /** The config key at fault, for `config_invalid`. */
  readonly configKey?: string;
  /** The withName() name of the instance whose config is at fault, for `config_invalid` of a named instance. */
  readonly instance?: string;
  /** For `id_token_invalid`: the OP signed in another user than the session's (OIDC Core 12.2), not a token that failed a check. */
  readonly differentUser?: boolean;
}

export class AuthError extends Error {
  override readonly name = 'AuthError';

  /**
   * @param message an explanation for developers. The library passes it in dev mode only
   *   (`ngDevMode`), as Angular's own errors do: production builds keep the code, `details`
   *   and `retryable`, and the message is then `ngx-oidc-session: <code>`.
   */
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    /** True when trying the same thing again later may succeed (network, 5xx, timeout). */
    readonly retryable = false,
    readonly details: AuthErrorDetails = {},
  ) {
    super(message || `ngx-oidc-session: ${code}`);
  }
}

export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError;
}
