import { Injectable, Injector, inject } from '@angular/core';
import { AuthService } from '../auth.service';
import { LogoutOptions, LogoutResult } from '../core/auth-state';
import { AuthError } from '../core/errors';
import { AuthBrowser } from '../platform/browser';
import { AuthFeature, authFeature } from '../provide-auth';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { SessionStore } from '../state/session-store';
import type { DPoPKeyStore } from './dpop-key-store';
import { DPOP_PROOFS, DPoPProofs } from './dpop-proofs';
import { DPoPSupport } from './dpop-support';

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
    { provide: DPOP_PROOFS, useFactory: () => new DPoP() },
    // The feature's start-up and logout steps wrap AuthService's, so that an app without it
    // carries no hook for them.
    { provide: AuthService, useClass: DPoPAuthService },
  ]);
}

/**
 * One per auth instance (provided by the feature, never in root). Small on purpose: the key
 * store comes with oauth4webapi in the protocol chunk, loaded when a key or a proof is first
 * needed. (Not a chunk of its own: esbuild emits a chunk for every import() of the library,
 * used or not, so every app would have carried it, and split oauth4webapi out of the
 * protocol chunk with it.)
 */
class DPoP implements DPoPSupport, DPoPProofs {
  private readonly browser = inject(AuthBrowser);
  private readonly store = inject(SessionStore);
  // Read when needed: the protocol chunk is loaded only then.
  private readonly injector = inject(Injector);
  /** Resource servers' nonces by origin (RFC 9449 9); the handles keep the OP's themselves. */
  private readonly nonces = new Map<string, string>();
  /** The key of the session this tab last held. */
  private sessionJkt: string | undefined;
  jkt = '';

  constructor() {
    this.store.dpop = this;
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
    return this.injector
      .get(ProtocolLoader)
      .load()
      .then((protocol) => protocol.dpopKeys((origin) => this.nonces.get(origin)));
  }

  /**
   * Before start-up reads the stored session: finds which key a usable one is bound to (`jkt`:
   * the stored session's, if this browser still holds it; else none, and no stored session is
   * used). Resolves with `dpop_unavailable` where no key can be kept.
   */
  async admitStoredSession(): Promise<AuthError | null> {
    const refusal = this.unavailable();
    const stored = refusal ? null : this.store.peekStored();
    const jkt = stored?.tokenType.toLowerCase() === 'dpop' ? stored.dpopJkt : undefined;
    this.jkt = jkt && (await this.keys().then((keys) => keys.has(jkt)).catch(() => false)) ? jkt : '';
    return refusal;
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

/** AuthService with withDPoP()'s start-up and logout steps around its own. */
@Injectable()
class DPoPAuthService extends AuthService {
  private readonly dpopKeys = inject(DPOP_PROOFS) as DPoP;
  private readonly sessions = inject(SessionStore);
  private dpopStart: Promise<void> | null = null;

  /**
   * A stored session only with its key in this browser (no bearer fallback). Where no key can
   * be kept, start-up ends unauthenticated with `dpop_unavailable` in the state.
   */
  override initialize(): Promise<void> {
    this.dpopStart ??= this.dpopKeys.admitStoredSession().then(async (refusal) => {
      await super.initialize();
      if (refusal && !this.sessions.session()) this.sessions.fail(refusal);
    });
    return this.dpopStart;
  }

  /** Logout resolves (or leaves the page, see OnDemand.logout) only once the keys are deleted. */
  override async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    const result = await super.logout(options);
    await this.dpopKeys.forgetAll();
    return result;
  }
}
