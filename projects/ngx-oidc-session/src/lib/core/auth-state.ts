import { AuthError } from './errors';
import { Authentication, UserClaims } from './session';

/**
 * `unknown` until the library has decided (at start, while a callback is handled or a stored
 * session is renewed); then `authenticated` or `unauthenticated`.
 */
export type AuthStatus = 'unknown' | 'authenticated' | 'unauthenticated';

export interface AuthState {
  readonly status: AuthStatus;
  /** Claims of the signed-in user (ID token, merged with userinfo when loaded). */
  readonly user: UserClaims | null;
  /** How the user authenticated (`acr`, `amr`, `auth_time` of the current ID token). */
  readonly authentication: Authentication | null;
  /** When the current access token expires, ms since the epoch. */
  readonly accessTokenExpiresAt: number | null;
  /**
   * How the access token is presented: `Bearer`, or `DPoP` (withDPoP(), RFC 9449: bound to this
   * browser's key, sent with a proof made for each request); null when not signed in.
   */
  readonly tokenType: 'Bearer' | 'DPoP' | null;
  /** The last failure, cleared by the next successful sign-in. */
  readonly error: AuthError | null;
}

export type RenewTrigger = 'timer' | 'wake-up' | 'token-request' | 'forced' | 'start-up';
export type FailureClass = 'transient' | 'permanent';
/**
 * Why a `signed_out` event came. `op_session_ended` (withSessionMonitor()): the user's session
 * at the OP ended (signed out there, in another app or tab, or another user signed in there),
 * as the OP's check_session iframe and a prompt=none check, or its front-channel logout, said.
 */
export type SignOutReason = 'logout' | 'session_ended' | 'other_tab' | 'op_session_ended';
/**
 * withSessionMonitor(): `monitoring`: the OP's check_session iframe answered `unchanged` for
 * this session in this browser, so a sign-out at the OP will be seen. `unavailable`: this browser
 * cannot watch the OP session (the OP offers no check_session iframe, or the iframe cannot read
 * the OP's cookies, as where third-party cookies are blocked): said once, and the user stays
 * signed in; the error (`session_monitor_unavailable`) tells why in dev mode.
 */
export type SessionMonitorStatus = 'monitoring' | 'unavailable';
/**
 * How the silent sign-in at start-up (withSilentSignIn) ended: `signed_in` by the OP's session
 * (a `signed_in` event follows too); `no_op_session`: the OP answered login_required,
 * interaction_required, consent_required or account_selection_required; `failed`: anything else
 * (timeout, OP unreachable, a response that failed its checks); `superseded`: a logout (in this
 * tab or another), another tab's sign-in, or the timeout came before the result could be
 * stored, which was discarded (its refresh token revoked). All but the first leave the user
 * unauthenticated unless another tab's session was taken in, with no redirect.
 */
export type SilentSignInOutcome = 'signed_in' | 'no_op_session' | 'failed' | 'superseded';

/** Everything that happens to the session, in order. Events never carry tokens. */
export type AuthEvent =
  | { readonly type: 'sign_in_started'; readonly at: number }
  | { readonly type: 'signed_in'; readonly at: number; readonly user: UserClaims }
  | { readonly type: 'signed_out'; readonly at: number; readonly reason: SignOutReason }
  | { readonly type: 'error'; readonly at: number; readonly error: AuthError }
  | { readonly type: 'renew_started'; readonly at: number; readonly trigger: RenewTrigger }
  | { readonly type: 'token_renewed'; readonly at: number; readonly expiresAt: number }
  | {
      readonly type: 'renew_failed';
      readonly at: number;
      readonly error: AuthError;
      readonly failureClass: FailureClass;
      /** Milliseconds until the next attempt, or null when no attempt follows. */
      readonly retryInMs: number | null;
    }
  | { readonly type: 'session_expired'; readonly at: number; readonly error: AuthError | null }
  | { readonly type: 'silent_sign_in'; readonly at: number; readonly outcome: SilentSignInOutcome; readonly error: AuthError | null }
  | { readonly type: 'session_monitor'; readonly at: number; readonly status: SessionMonitorStatus; readonly error: AuthError | null };

export type AuthEventType = AuthEvent['type'];

export interface LoginOptions {
  /** App-relative URL to return to after sign-in. Default: the current URL. */
  readonly returnUrl?: string;
  /** OIDC `prompt`, e.g. `login` to force re-authentication or `consent`. */
  readonly prompt?: string;
  readonly loginHint?: string;
  /**
   * OIDC `acr_values`: the Authentication Context Class References wanted, space-separated,
   * most preferred first. The OP may satisfy another one (OIDC Core 3.1.2.1): check
   * `state.authentication.acr` after the sign-in.
   */
  readonly acrValues?: string;
  /**
   * OIDC `max_age`, in seconds: the OP must authenticate the user again when their last
   * authentication is older. The library then requires the ID token's `auth_time` and checks
   * it (OIDC Core 3.1.2.1, 3.1.3.7 step 11); a token that fails is refused (`id_token_invalid`).
   */
  readonly maxAge?: number;
  /** Any other authorization request parameters for this sign-in. */
  readonly params?: Readonly<Record<string, string>>;
  /**
   * Sign in in a popup window, and stay on this page: login() then resolves once the user is
   * signed in, and rejects with an AuthError (`popup_blocked`, `popup_closed`, `timeout`, or the
   * failure of the response's checks) otherwise. Needs `provideAuth(config, withPopupSignIn())`;
   * call login() in a click handler, before any await, or the browser blocks the popup.
   * `returnUrl` does not apply: the page stays where it is.
   */
  readonly popup?: boolean;
}

export interface LogoutOptions {
  /** Clear the session here only: no revocation, no redirect to the OP. Default false. */
  readonly localOnly?: boolean;
  /**
   * Overrides config.postLogoutRedirectUrl for this logout: a URL of this app (same origin),
   * absolute or app-relative. Anything else makes logout() reject with `config_invalid`,
   * before it does anything.
   */
  readonly postLogoutRedirectUrl?: string;
}

/**
 * What logout did. `redirected`: the browser is on its way to the OP's end-session endpoint.
 * `local`: the session was cleared here only, because it was asked for or because the OP
 * has no end_session_endpoint (then the OP session may still be alive).
 * `end_session_endpoint_refused`: the logout endpoint (config.logout.endpoint or the
 * discovered one) is not on the origin of the OP's authorization endpoint; the browser was
 * not sent there, and `error` is `config_invalid` (configKey `logout.endpoint`, or
 * `end_session_endpoint` for the one discovery named).
 * `config_invalid`: another config value the logout needs was refused (a bad
 * config.tenantIssuer stops discovery), so the endpoint is not known; `error` names the key.
 */
export interface LogoutResult {
  readonly outcome: 'redirected' | 'local';
  readonly reason?: 'local_only' | 'no_end_session_endpoint' | 'not_in_browser'
    | 'end_session_endpoint_refused'
    | 'config_invalid';
  /** Whether the refresh token was revoked at the OP (RFC 7009). */
  readonly refreshTokenRevoked: boolean;
  /**
   * A revocation or discovery failure; the local session was cleared anyway. With withDPoP(),
   * `dpop_unavailable` when its keys could not be deleted (a later start-up sweeps them).
   */
  readonly error: AuthError | null;
}
