/*
 * The public surface of ngx-oidc-session. Everything not exported here is internal.
 */
export { provideAuth, withClock, withSilentSignIn, AuthModule } from './lib/provide-auth';
export type { SilentSignInOptions } from './lib/silent/silent-sign-in';
export type { AuthFeature, AuthFeatureKind } from './lib/provide-auth';
export { withPopupSignIn } from './lib/popup/popup-sign-in';
export type { PopupSignInOptions } from './lib/popup/popup-sign-in';
export { withDPoP } from './lib/dpop/with-dpop';
export type { AuthConfig, RenewConfig, RenewStrategy, PushedAuthorizationMode } from './lib/core/config';
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
