import { inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { AuthError } from '../core/errors';
import { Session } from '../core/session';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK } from '../platform/clock';
import { AuthFeature, authFeature } from '../provide-auth';
import { SessionStore } from '../state/session-store';
import type { DPoPKeyStore } from './dpop-key-store';
import { DPOP_PROOFS, DPoPProofs } from './dpop-proofs';
import { DPOP_SUPPORT, DPoPSupport } from './dpop-support';

/**
 * Sender-constrained tokens (DPoP, RFC 9449): the access and refresh tokens are bound to a key
 * pair this browser keeps, and every request that presents one carries a proof signed with it.
 * A token copied out of the app (a log, a proxy, a stolen storage entry) is worthless without
 * the key, and the key cannot be copied: it is a non-extractable WebCrypto key, kept in
 * IndexedDB (per authority and client, shared by the tabs of the session), new at each sign-in,
 * deleted at logout and when the session ends.
 *
 * The OP must support DPoP for the client; tokens of another type are refused. Where the page
 * cannot keep keys (no IndexedDB or WebCrypto, not a secure context) the app starts
 * unauthenticated with the error `dpop_unavailable`, and login() rejects with it: never a
 * silent fallback to bearer tokens.
 *
 * ```ts
 * provideAuth(config, withDPoP())
 * ```
 */
export function withDPoP(): AuthFeature<'dpop'> {
  return authFeature('dpop', [
    { provide: DPOP_SUPPORT, useFactory: () => new DPoP() },
    { provide: DPOP_PROOFS, useExisting: DPOP_SUPPORT },
  ]);
}

/**
 * One per auth instance (provided by the feature, never in root). Small on purpose: the key
 * store and oauth4webapi come in a lazy chunk, loaded when a key or a proof is first needed.
 */
class DPoP implements DPoPSupport, DPoPProofs {
  private readonly config = inject(AUTH_CONFIG);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly store = inject(SessionStore);
  /** Resource servers' nonces by origin (RFC 9449 9); the handles keep the OP's themselves. */
  private readonly nonces = new Map<string, string>();
  private keyStore: Promise<DPoPKeyStore> | null = null;
  /** The key of the session this tab last held. */
  private sessionJkt: string | undefined;

  constructor() {
    this.store.changes$.subscribe(({ session, cause }) => {
      const ended = this.sessionJkt;
      this.sessionJkt = session?.dpopJkt;
      // The session ended for good (the OP refused it, its tokens expired, another tab signed
      // out): its key goes too. Not `left-behind`: the other tabs go on with the same key.
      if (!session && ended && (cause === 'ended' || cause === 'other-tab')) void this.keys().then((keys) => keys.delete(ended)).catch(() => undefined);
    });
  }

  unavailable(): AuthError | null {
    if (!this.browser.isBrowser) return null; // on the server nothing is signed in anyway
    const page = globalThis as Partial<typeof globalThis>;
    const missing = !page.isSecureContext ? 'a secure context (https, or http://localhost)' : !page.indexedDB ? 'IndexedDB' : !page.crypto?.subtle ? 'WebCrypto' : null;
    return missing ? new AuthError('dpop_unavailable', ngDevMode ? `withDPoP() needs ${missing} to keep the key its tokens are bound to; this page has none.` : '') : null;
  }

  keys(): Promise<DPoPKeyStore> {
    const refusal = this.unavailable();
    if (refusal || !this.browser.isBrowser) return Promise.reject(refusal ?? new AuthError('not_in_browser', ''));
    this.keyStore ??= import('./dpop-key-store').then(
      ({ DPoPKeyStore }) =>
        new DPoPKeyStore({
          indexedDB: globalThis.indexedDB,
          namespace: this.config.storageNamespace,
          clientId: this.config.clientId,
          nonceFor: (origin) => this.nonces.get(origin),
          now: () => this.clock.now(),
        }),
      () => {
        this.keyStore = null; // a chunk that failed to load is tried again next time
        throw new AuthError('network_error', ngDevMode ? 'The DPoP code (a lazy chunk of ngx-oidc-session) could not be loaded.' : '', true);
      },
    );
    return this.keyStore;
  }

  async holdsKeyOf(session: Session): Promise<boolean> {
    if (!session.dpopJkt || session.tokenType.toLowerCase() !== 'dpop') return false;
    const jkt = session.dpopJkt;
    return this.keys().then(
      (keys) => keys.has(jkt),
      () => false,
    );
  }

  forgetAll(): Promise<void> {
    return this.keys()
      .then((keys) => keys.deleteAll())
      .catch(() => undefined);
  }

  async proof(method: string, url: string, accessToken: string): Promise<string> {
    const jkt = this.store.session()?.dpopJkt;
    if (!jkt) throw new AuthError('no_session', ngDevMode ? 'There is no DPoP-bound session to make a proof for.' : '');
    return (await this.keys()).proof(jkt, method, url, accessToken);
  }

  rememberNonce(url: string, nonce: string): void {
    try {
      this.nonces.set(new URL(url).origin, nonce);
    } catch {
      // not an absolute URL: no origin to remember it for
    }
  }
}
