import { AuthError } from '../core/errors';
import type { DPoPKeyStore } from './dpop-key-store';

/**
 * What the core needs of withDPoP() (RFC 9449), found on the instance's SessionStore: the start
 * bundle of an app without withDPoP() holds nothing of DPoP but that field.
 */
export interface DPoPSupport {
  /**
   * The key a stored session must be bound to for start-up to use it: the stored session's when
   * this browser still holds it, else '' (no stored session is used). Set before start-up.
   */
  readonly jkt: string;
  /** `dpop_unavailable` when this page cannot keep DPoP keys (no IndexedDB, WebCrypto or secure context), else null. */
  unavailable(): AuthError | null;
  /** The key store (loads the protocol chunk); rejects with `dpop_unavailable` when there can be none. */
  keys(): Promise<DPoPKeyStore>;
  /**
   * Deletes the keys a logout ends (see DPoP.forgetAll); resolves once done, never rejects:
   * with the AuthError when they could not be deleted, else null.
   */
  forgetAll(): Promise<AuthError | null>;
}
