import { InjectionToken } from '@angular/core';
import { AuthError } from '../core/errors';
import { Session } from '../core/session';
import type { DPoPKeyStore } from './dpop-key-store';

/**
 * What the core (AuthService, the protocol chunk) needs of withDPoP() (RFC 9449): only this
 * token is in every app's start bundle; the implementation comes with the feature, and the key
 * store with oauth4webapi in a lazy chunk. Provided per auth instance; null (or absent) without
 * withDPoP().
 */
export interface DPoPSupport {
  /** `dpop_unavailable` when this page cannot keep DPoP keys (no IndexedDB, WebCrypto or secure context), else null. */
  unavailable(): AuthError | null;
  /** Whether a stored session may be used: DPoP-bound, to a key this browser still holds. */
  holdsKeyOf(session: Session): Promise<boolean>;
  /** The key store (loads its chunk); rejects with `dpop_unavailable` when there can be none. */
  keys(): Promise<DPoPKeyStore>;
  /** Deletes every key of this instance (logout); resolves once done, never rejects. */
  forgetAll(): Promise<void>;
}

// The description in dev mode only: this token is in every app's start bundle.
export const DPOP_SUPPORT = new InjectionToken<DPoPSupport | null>(ngDevMode ? 'ngx-oidc-session DPoP support' : '');
