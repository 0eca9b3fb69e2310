import type * as oauth from 'oauth4webapi';
import { AuthError } from '../core/errors';

/**
 * What the protocol chunk needs of withDPoP()'s key store (ngx-oidc-session/dpop's
 * dpop-key-store.ts, which implements it): the key pairs in IndexedDB, one per sign-in.
 */
export interface DPoPKeys {
  /** A new key pair for a new sign-in, stored; resolves with its thumbprint (the `dpop_jkt`). */
  create(): Promise<string>;
  /** oauth4webapi's handle of a stored key; rejects with `no_session` when the key is gone. */
  handle(jkt: string): Promise<oauth.DPoPHandle>;
  /** Deletes one key (a sign-in that was not taken). */
  delete(jkt: string): Promise<void>;
  /** Deletes this instance's keys but those in `keep`, namely `drop` and those older than `maxAgeMs` (after a sign-in was committed; the sweep after start-up). */
  prune(keep: readonly (string | undefined)[], drop: string | undefined, maxAgeMs: number): Promise<void>;
}

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
  /** The key store (loads ngx-oidc-session/dpop's lazy chunk); rejects with `dpop_unavailable` when there can be none. */
  keys(): Promise<DPoPKeys>;
  /**
   * Deletes the keys a logout ends (see DPoP.forgetAll); resolves once done, never rejects:
   * with the AuthError when they could not be deleted, else null.
   */
  forgetAll(): Promise<AuthError | null>;
}
