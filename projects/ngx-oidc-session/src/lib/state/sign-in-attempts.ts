import { Injectable, inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { ATTEMPT_STORAGE } from '../platform/web-storage';

/** A sign-in (or silent renew) attempt: what must be remembered until its response arrives. */
export interface AuthorizationAttempt {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  /** The request's `max_age` (seconds), which the ID token's `auth_time` must satisfy. */
  readonly maxAge?: number;
  /** withDPoP(): the thumbprint of the key this attempt's tokens are to be bound to. */
  readonly dpopJkt?: string;
}

export interface StoredAttempt extends AuthorizationAttempt {
  /** The app-relative URL to return to after sign-in. */
  readonly returnUrl: string;
  readonly createdAt: number;
}

/**
 * Where the sign-in attempt in progress and the state of a logout at the OP are kept: what
 * must survive the round trip to the OP, per tab (sessionStorage), each entry used once. What
 * an attempt holds is read and checked by the protocol chunk, which alone starts and ends them.
 */
@Injectable({ providedIn: 'root' })
export class SignInAttempts {
  readonly storage = inject(ATTEMPT_STORAGE);
  private readonly namespace = inject(AUTH_CONFIG).storageNamespace;
  readonly attemptKey = `${this.namespace}:sign-in`;
  readonly logoutKey = `${this.namespace}:sign-out`;

  /**
   * Whether `state` is that of the sign-in attempt this tab has in progress; the attempt stays.
   * Only a callback that passes this is handed to the protocol code: any other one (loaded
   * again after sign-in, or crafted elsewhere) must change nothing, so it is not even parsed.
   */
  expects(state: string | null): boolean {
    try {
      return state !== null && (JSON.parse(this.storage.getItem(this.attemptKey) ?? 'null') as { state?: unknown } | null)?.state === state;
    } catch {
      return false;
    }
  }

  saveLogoutState(state: string): void {
    this.storage.setItem(this.logoutKey, state);
  }

  /** Whether `state` is the one our logout sent to the OP; a match is used up. */
  takeLogoutState(state: string | null): boolean {
    const expected = this.storage.getItem(this.logoutKey);
    if (expected === null || state !== expected) return false;
    this.storage.removeItem(this.logoutKey);
    return true;
  }
}

/** Parameters of an authorization or logout response: they leave the address bar once read. */
export const RESPONSE_PARAMS = ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri'];

/** The app-relative URL without the parameters of an authorization or logout response. */
export function withoutResponseParams(url: URL): string {
  const clean = new URL(url.href);
  for (const name of RESPONSE_PARAMS) clean.searchParams.delete(name);
  return appPath(clean, clean.origin);
}

/**
 * `url` as an app-relative URL, or `/` when it is on another origin or its path starts with
 * `//` (from `/.//evil.example`, say): the browser reads such a path as protocol-relative, a
 * URL of another host, so it would be an open redirect, and history.replaceState() throws on it.
 */
export function appPath(url: URL, origin: string): string {
  return url.origin === origin && !url.pathname.startsWith('//') ? url.pathname + url.search + url.hash : '/';
}
