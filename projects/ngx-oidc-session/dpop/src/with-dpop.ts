import { HttpErrorResponse, HttpEvent, HttpHandlerFn, HttpRequest, HttpResponse, HttpResponseBase } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, catchError, from, switchMap, tap, throwError } from 'rxjs';
import { AuthError, AuthFeature, AuthService, LogoutOptions, LogoutResult } from 'ngx-oidc-session';
// The primary entry point's internals this entry point needs (ɵ: not public, see its public-api.ts).
import {
  ɵAUTH_CLOCK as AUTH_CLOCK,
  ɵAUTH_CONFIG as AUTH_CONFIG,
  ɵAuthBrowser as AuthBrowser,
  ɵDPOP_PROOFS as DPOP_PROOFS,
  ɵSessionStore as SessionStore,
  ɵTabCoordinator as TabCoordinator,
  ɵauthFeature as authFeature,
} from 'ngx-oidc-session';
import type { ɵDPoPProofs as DPoPProofs, ɵDPoPSupport as DPoPSupport, ɵRequestRetries as RequestRetries } from 'ngx-oidc-session';
import type { DPoPKeyStore } from './dpop-key-store';

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
 * The challenges of a 401's `WWW-Authenticate` headers (RFC 9110 11.6.1), each as its scheme
 * (lowercase) and its `error` parameter. Several challenges may share one header, and a quoted
 * `error_description` may hold commas, so the header is read token by token.
 */
function challengesOf(error: HttpErrorResponse): { scheme: string; error: string | null }[] {
  const header = error.headers?.getAll('WWW-Authenticate')?.join(', ') ?? '';
  const tokens = header.match(/"(?:[^"\\]|\\.)*"|[^\s",=]+|[=,]/g) ?? [];
  const challenges: { scheme: string; error: string | null }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === ',' || token === '=') continue;
    if (tokens[i + 1] === '=') {
      // auth-param: name = token / quoted-string, of the challenge before it
      const value = tokens[i + 2] ?? '';
      const current = challenges[challenges.length - 1];
      if (current && token.toLowerCase() === 'error') current.error = value.replace(/^"(.*)"$/, '$1');
      i += 2;
    } else {
      challenges.push({ scheme: token.toLowerCase(), error: null });
    }
  }
  return challenges;
}

/** A resource server's demand for a proof with its nonce (RFC 9449 9): a DPoP challenge with `use_dpop_nonce`. */
function isUseDPoPNonceChallenge(error: HttpErrorResponse): boolean {
  return challengesOf(error).some(({ scheme, error }) => scheme === 'dpop' && error === 'use_dpop_nonce');
}

/**
 * One per auth instance (provided by the feature, never in root). Small on purpose: the key
 * store and oauth4webapi's DPoP code are this entry point's lazy chunk, loaded with import() here
 * only when a key or a proof is first needed; the protocol chunk's own code reaches them through
 * `SessionStore.dpop` (DPoPSupport), never by itself. In the primary entry point this import()
 * cost every app bytes (esbuild bundles every import() of a library file as reachable, even where
 * the code calling it was tree-shaken away); here only an app that imports
 * `ngx-oidc-session/dpop` has it.
 */
class DPoP implements DPoPSupport, DPoPProofs {
  private readonly browser = inject(AuthBrowser);
  private readonly store = inject(SessionStore);
  private readonly config = inject(AUTH_CONFIG);
  private readonly clock = inject(AUTH_CLOCK);
  private keyStore: Promise<DPoPKeyStore> | null = null;
  /** Resource servers' nonces by origin (RFC 9449 9); the handles keep the OP's themselves. */
  private readonly nonces = new Map<string, string>();
  /** The key of the session this tab last held. */
  private sessionJkt: string | undefined;
  /** The logout under way: when it began, and the key of this tab's session then. */
  private logout: { at: number; jkt: string | undefined } | null = null;
  private readonly tabs = inject(TabCoordinator);
  /** The sweep after start-up, once it is done (not waited for by anything but specs). */
  swept: Promise<void> = Promise.resolve();
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
    const { storageNamespace, clientId } = this.config;
    // This entry point's own lazy chunk, with oauth4webapi's DPoP code: only DPoP apps have it.
    this.keyStore ??= import('./dpop-key-store').then(
      ({ DPoPKeyStore }) => new DPoPKeyStore({ indexedDB: globalThis.indexedDB, namespace: storageNamespace, clientId, nonceFor: (origin) => this.nonces.get(origin), now: () => this.clock.now(), error: (code, message) => new AuthError(code, message) }),
      (error: unknown) => {
        this.keyStore = null; // the chunk did not load: tried again next time
        throw error;
      },
    );
    return this.keyStore;
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

  /** Called when a logout begins: forgetAll() deletes what it ends, as of now. */
  loggingOut(): void {
    this.logout = { at: this.clock.now(), jkt: this.store.session()?.dpopJkt };
  }

  /**
   * The logout's deletion. Shared tabs: every key of the instance made before the logout began
   * (a sign-in another tab commits meanwhile keeps its key). Isolated tabs: only this tab's
   * session's key (another tab's session is not signed out). A failure is returned, typed; the
   * keys left are deleted by a later start-up's sweep (see sweep()).
   */
  forgetAll(): Promise<AuthError | null> {
    const { at, jkt } = this.logout ?? { at: this.clock.now(), jkt: this.sessionJkt };
    return this.keys()
      .then((keys) => (this.config.tabs !== 'isolated' ? keys.deleteAll(at) : jkt ? keys.delete(jkt) : undefined))
      .then(
        () => null,
        (error: unknown) => (error instanceof AuthError ? error : new AuthError('dpop_unavailable', ngDevMode ? 'The DPoP keys could not be deleted.' : '')),
      );
  }

  /**
   * After start-up, with shared tabs: deletes the keys older than a sign-in attempt can live
   * (30 minutes, as the attempt's) that no session in use names: the keys of sign-ins never
   * committed (a page left for the OP and never back, a tab closed mid-way, the last tab of a
   * 'session' storage closed) and of a logout whose deletion failed. In use: this tab's session,
   * the stored one, and the one another tab announced; and when a live tab holds a session of
   * another sign-in than this tab's (holder locks), or Web Locks cannot tell, nothing is swept.
   * With isolated tabs nothing is swept: another tab's live session may have a key of any age
   * that no storage of this tab names.
   */
  async sweep(): Promise<void> {
    if (this.config.tabs === 'isolated' || !this.browser.isBrowser || this.unavailable()) return;
    const mine = this.store.session();
    const holders = await this.tabs.holderLocks();
    if (!holders || holders.some((position) => !mine || !position.startsWith(`${mine.epoch}:${mine.chain}:`))) return;
    await (await this.keys()).prune([mine?.dpopJkt, this.store.peekStored()?.dpopJkt, this.tabs.announced()?.dpopJkt], undefined, 30 * 60 * 1000);
  }

  async proof(method: string, url: string, accessToken: string, jkt: string | undefined): Promise<string> {
    // oauth4webapi signs `htm` upper-cased; a method sent otherwise (fetch() sends `patch` as
    // given) would not match its proof (RFC 9449 4.3): refused, typed, before anything is signed.
    if (method !== method.toUpperCase()) throw new AuthError('config_invalid', ngDevMode ? `The method "${method}" goes as given, but a DPoP proof names it "${method.toUpperCase()}": give it upper-case.` : '');
    if (!jkt) throw new AuthError('no_session', ngDevMode ? 'There is no DPoP-bound session to make a proof for.' : '');
    return (await this.keys()).proof(jkt, method, url, accessToken);
  }

  send(request: HttpRequest<unknown>, next: HttpHandlerFn, url: string, accessToken: string, jkt: string | undefined, retries: RequestRetries): Observable<HttpEvent<unknown>> {
    const remember = (response: HttpResponseBase) => {
      const nonce = response.headers?.get('DPoP-Nonce');
      if (nonce) this.rememberNonce(url, nonce);
      return nonce;
    };
    return from(this.proof(request.method, url, accessToken, jkt)).pipe(
      switchMap((proof) => next(request.clone({ setHeaders: { Authorization: `DPoP ${accessToken}`, DPoP: proof } }))),
      tap((event) => {
        if (event instanceof HttpResponse) remember(event);
      }),
      catchError((error: unknown) => {
        if (!(error instanceof HttpErrorResponse)) return throwError(() => error);
        // The nonce retry needs the new nonce, remembered here; the same token goes again.
        const nonce = remember(error);
        if (error.status !== 401 || !isUseDPoPNonceChallenge(error)) return throwError(() => error);
        if (retries.nonce || !nonce) {
          retries.renewal = true;
          return throwError(() => error);
        }
        retries.nonce = true;
        return this.send(request, next, url, accessToken, jkt, retries);
      }),
    );
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
      this.dpopKeys.swept = this.dpopKeys.sweep().catch(() => undefined); // tried again at the next start
    });
    return this.dpopStart;
  }

  /**
   * Logout resolves (or leaves the page, see OnDemand.logout) only once the keys are deleted,
   * tried even when the logout fails after the session was cleared; a deletion that failed is
   * the result's `error` (`dpop_unavailable`), and the keys are swept at a later start.
   */
  override async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    this.dpopKeys.loggingOut();
    let result: LogoutResult | undefined;
    try {
      result = await super.logout(options);
    } finally {
      // Unless refused before it began (a bad postLogoutRedirectUrl: nothing is done then).
      if (result || !this.sessions.session()) {
        const failure = await this.dpopKeys.forgetAll();
        if (result && failure) result = { ...result, error: failure };
      }
    }
    return result;
  }
}
