/*
 * The public surface of ngx-oidc-session. Everything not exported here is internal.
 */
export { provideAuth, withClock, withSilentSignIn, AuthModule } from './lib/provide-auth';
export type { SilentSignInOptions } from './lib/silent/silent-sign-in';
export type { AuthFeature, AuthFeatureKind } from './lib/provide-auth';
export { withPopupSignIn } from './lib/popup/popup-sign-in';
export type { PopupSignInOptions } from './lib/popup/popup-sign-in';
export type { AuthConfig, RenewConfig, RenewStrategy, PushedAuthorizationMode } from './lib/core/config';
export type { LogoutConfig, LogoutDialect } from './lib/core/config';
export { AuthService } from './lib/auth.service';
export type {
  AuthState,
  AuthStatus,
  AuthEvent,
  AuthEventType,
  RenewTrigger,
  FailureClass,
  SignOutReason,
  SilentSignInOutcome,
  SessionMonitorStatus,
  LoginOptions,
  LogoutOptions,
  LogoutResult,
} from './lib/core/auth-state';
export type { UserClaims, IdTokenClaims, Authentication } from './lib/core/session';
export { AuthError, isAuthError } from './lib/core/errors';
export type { AuthErrorCode, AuthErrorDetails } from './lib/core/errors';
export { MemoryTokenStorage } from './lib/platform/web-storage';
export type { TokenStorage } from './lib/core/token-storage';
export type { Clock, TimerHandle } from './lib/platform/clock';
export { authGuard, authMatchGuard } from './lib/router/auth.guard';
export { authGuardFor, authMatchGuardFor } from './lib/router/auth.guard';
export { withName, injectAuth } from './lib/multi/named-instances';
export { authInterceptor, AuthInterceptor, AUTH_TOKEN, withoutAuthToken } from './lib/http/auth-interceptor';
export type { AuthTokenPolicy } from './lib/http/auth-interceptor';

// Internals that the secondary entry point ngx-oidc-session/dpop (withDPoP()) needs. Not public:
// the ɵ prefix (Angular's convention) says they may change in any release; apps must not use them.
export { authFeature as ɵauthFeature } from './lib/provide-auth';
export { AUTH_CONFIG as ɵAUTH_CONFIG } from './lib/core/config';
export { AUTH_CLOCK as ɵAUTH_CLOCK } from './lib/platform/clock';
export { AuthBrowser as ɵAuthBrowser } from './lib/platform/browser';
export { SessionStore as ɵSessionStore } from './lib/state/session-store';
export { TabCoordinator as ɵTabCoordinator } from './lib/tabs/tab-coordinator';
export { DPOP_PROOFS as ɵDPOP_PROOFS } from './lib/dpop/dpop-proofs';
export type { DPoPProofs as ɵDPoPProofs, RequestRetries as ɵRequestRetries } from './lib/dpop/dpop-proofs';
export type { DPoPSupport as ɵDPoPSupport, DPoPKeys as ɵDPoPKeys } from './lib/dpop/dpop-support';
// And those the secondary entry point ngx-oidc-session/session-monitor (withSessionMonitor()) needs.
export { AuthEvents as ɵAuthEvents } from './lib/state/auth-events';
export { ProtocolLoader as ɵProtocolLoader } from './lib/protocol/protocol-loader';
export { backoffDelayMs as ɵbackoffDelayMs } from './lib/core/renew-timing';
export type { Session as ɵSession } from './lib/core/session';
