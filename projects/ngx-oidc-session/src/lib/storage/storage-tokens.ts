import { InjectionToken, inject } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthBrowser } from '../session/browser';
import { TokenStorage, createTokenStorage } from './token-storage';

/** The storage chosen by config for the session and the discovery cache. */
export const TOKEN_STORAGE = new InjectionToken<TokenStorage>('ngx-oidc-session token storage', {
  providedIn: 'root',
  factory: () => createTokenStorage(inject(AUTH_CONFIG).storage, inject(AuthBrowser).window),
});

/**
 * Per-tab storage for sign-in attempts (state, nonce, PKCE verifier) that must survive the
 * redirect to the OP and back, whatever the session storage choice is.
 */
export const ATTEMPT_STORAGE = new InjectionToken<TokenStorage>('ngx-oidc-session attempt storage', {
  providedIn: 'root',
  factory: () => createTokenStorage('session', inject(AuthBrowser).window),
});
