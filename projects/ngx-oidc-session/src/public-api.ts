/*
 * The public surface of ngx-oidc-session. Everything not exported here is internal.
 */
export { provideAuth, withClock, AuthModule } from './lib/provide-auth';
export type { AuthFeature, AuthFeatureKind } from './lib/provide-auth';
export type { AuthConfig, RenewConfig, RenewStrategy } from './lib/config/auth-config';
export { AuthService } from './lib/session/auth.service';
export type {
  AuthState,
  AuthStatus,
  AuthEvent,
  AuthEventType,
  RenewTrigger,
  FailureClass,
  SignOutReason,
  LoginOptions,
  LogoutOptions,
  LogoutResult,
} from './lib/session/auth-state';
export type { UserClaims, IdTokenClaims } from './lib/session/session';
export { AuthError, isAuthError } from './lib/errors';
export type { AuthErrorCode, AuthErrorDetails } from './lib/errors';
export { MemoryTokenStorage } from './lib/storage/token-storage';
export type { TokenStorage } from './lib/storage/token-storage';
export type { Clock, TimerHandle } from './lib/time/clock';
export { authGuard, authMatchGuard } from './lib/router/auth.guard';
export { authInterceptor, AuthInterceptor, AUTH_TOKEN, withoutAuthToken } from './lib/http/auth-interceptor';
export type { AuthTokenPolicy } from './lib/http/auth-interceptor';
