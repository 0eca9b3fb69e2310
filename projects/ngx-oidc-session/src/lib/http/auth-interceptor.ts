import {
  HttpContext,
  HttpContextToken,
  HttpErrorResponse,
  HttpEvent,
  HttpHandler,
  HttpHandlerFn,
  HttpInterceptor,
  HttpInterceptorFn,
  HttpRequest,
} from '@angular/common/http';
import { EnvironmentInjector, Injectable, InjectionToken, inject, runInInjectionContext } from '@angular/core';
import { Observable, catchError, from, switchMap, throwError } from 'rxjs';
import type { AuthorizationServer } from 'oauth4webapi';
import { AuthService } from '../auth.service';
import { AUTH_CONFIG } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { DPOP_PROOFS, RequestRetries } from '../dpop/dpop-proofs';
import { AuthBrowser } from '../platform/browser';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { DiscoveryCache } from '../state/discovery-cache';
import { SessionStore } from '../state/session-store';
import { AuthorizationHeaders, PresentedToken, authorizationHeadersFor, isDPoPBound, matcherFor } from './token-headers';

/**
 * Per-request choice, set with `new HttpContext().set(AUTH_TOKEN, 'skip')`:
 * - `auto` (default): the token goes to URLs of `secureApis` only;
 * - `skip`: never attach the token to this request;
 * - `attach`: attach it to this request although its URL is not in `secureApis`, provided
 *   it goes to the app's own origin or an origin of `secureApis` (never elsewhere, never to the OP).
 */
export type AuthTokenPolicy = 'auto' | 'skip' | 'attach';
export const AUTH_TOKEN = new HttpContextToken<AuthTokenPolicy>(() => 'auto');

/** `http.get(url, { context: withoutAuthToken() })`: this request goes out without the token. */
export function withoutAuthToken(context: HttpContext = new HttpContext()): HttpContext {
  return context.set(AUTH_TOKEN, 'skip');
}

/**
 * `invalid_token` in a Bearer (RFC 6750 3.1) or DPoP (RFC 9449 7.1) challenge: the token, not the
 * request, is at fault. (withDPoP() reads the DPoP challenges' other errors itself.)
 */
function isInvalidTokenChallenge(error: HttpErrorResponse): boolean {
  const challenge = error.headers?.get('WWW-Authenticate') ?? '';
  return /^\s*(?:Bearer|DPoP)\b/i.test(challenge) && /error\s*=\s*"?invalid_token"?/i.test(challenge);
}

/**
 * Attaches the access token to requests for the app's own APIs (`secureApis`) only, never
 * an expired one: it waits for the renewal when the token is about to expire. A 401
 * `invalid_token` from such an API triggers one renewal (shared by all requests that failed
 * together) and one retry; a second 401 goes to the caller.
 *
 * With withDPoP() (RFC 9449), a DPoP-bound token goes as `Authorization: DPoP <token>` with a
 * new proof per request in the `DPoP` header; a `DPoP-Nonce` from a secure API is remembered
 * for its origin, and a 401 `use_dpop_nonce` challenge gets one retry with a proof carrying it.
 * Each kind of retry happens at most once per request: at most three sends, never a loop.
 *
 * `provideHttpClient(withInterceptors([authInterceptor]))`
 */
export const authInterceptor: HttpInterceptorFn = (request, next) => (inject(AUTH_INSTANCE_ROUTER, { optional: true }) ?? attachAuthToken)(request, next);

/**
 * Routes requests among several auth instances (see withName()); provided only by an app that
 * has named instances, so that an app with one instance ships none of that code.
 */
export const AUTH_INSTANCE_ROUTER = new InjectionToken<HttpInterceptorFn>('ngx-oidc-session instances');

/** The interceptor of one auth instance: the one of the injection context it runs in. */
export const attachAuthToken: HttpInterceptorFn = (request, next) => {
  const browser = inject(AuthBrowser);
  if (!browser.isBrowser) return next(request); // no session on the server
  const config = inject(AUTH_CONFIG);
  const auth = inject(AuthService);
  const store = inject(SessionStore);
  const discovery = inject(DiscoveryCache);
  const protocol = inject(ProtocolLoader);
  const proofs = inject(DPOP_PROOFS, { optional: true });

  const policy = request.context.get(AUTH_TOKEN);
  if (policy === 'skip' || request.headers.has('Authorization')) return next(request);
  const eligible = (metadata: AuthorizationServer | null) => {
    const matcher = matcherFor(config, browser.origin, browser.baseUrl, metadata);
    return policy === 'attach' ? matcher.allowsOptIn(request.url) : matcher.matches(request.url);
  };
  const metadata = discovery.read();
  if (!eligible(metadata)) return next(request);
  // Resolved once, against the base the allow-list was checked with: the request goes to this
  // absolute URL and the proof names it, whatever the page's base is by the time they are made.
  const url = new URL(request.url, browser.baseUrl).href;

  const send = (tokens: TokenSet, retries: RequestRetries): Observable<HttpEvent<unknown>> =>
    // A DPoP-bound token goes with withDPoP()'s proof, made per request and per send (no request
    // waits for another's), for the absolute URL the allow-list was checked against; without
    // withDPoP() it fails typed (authorizationHeadersFor), never as a bearer token.
    (isDPoPBound(tokens) && proofs
      ? proofs.send(request.clone({ url }), next, url, tokens.accessToken, tokens.dpopJkt, retries)
      : next(request.clone({ url, setHeaders: { ...(authorizationHeadersFor(tokens, request.method, () => '', proofs) as AuthorizationHeaders) } }))
    ).pipe(
      catchError((error: unknown) => {
        const renewable = error instanceof HttpErrorResponse && error.status === 401 && (config.retryOn401 === 'any' || isInvalidTokenChallenge(error));
        if (!renewable || retries.renewal) return throwError(() => error);
        retries.renewal = true;
        // A repeated challenge of a kind already retried reaches the caller: at most three sends.
        return from(freshTokenAfterRejection(auth, store, tokens.accessToken)).pipe(switchMap((fresh) => (fresh === null ? throwError(() => error) : send(fresh, retries))));
      }),
    );
  // The OP's endpoints outside its issuer path are known only from discovery. A page with a
  // session but no discovery cache (e.g. a new tab that got the session from another tab)
  // learns them before a token leaves it; a failed discovery fails the request, typed.
  const withTokens = (tokens: TokenSet) =>
    metadata ? { tokens, eligible: true } : protocol.load().then(({ client }) => client.discover()).then((learned) => ({ tokens, eligible: eligible(learned) }));

  return from(auth.ɵfreshTokens().then(withTokens, (error: unknown) => ({ error }))).pipe(
    switchMap((result): Observable<HttpEvent<unknown>> => {
      if ('error' in result) {
        const error = isAuthError(result.error) ? result.error : new AuthError('no_session', ngDevMode ? 'No access token is available.' : '');
        if (error.code === 'no_session' && config.unauthenticatedRequests === 'send') return next(request);
        return throwError(() => error);
      }
      if (!result.eligible) return next(request);
      return send(result.tokens, { nonce: false, renewal: false }); // per request
    }),
  );
};

/** The access token and how it is presented. */
type TokenSet = PresentedToken;

/**
 * A token to retry with after `rejected` was refused: when another request already renewed
 * (the stored token is no longer the rejected one), its result is used; otherwise one forced
 * renewal runs, shared by every request waiting for it. Null: no token to retry with.
 */
async function freshTokenAfterRejection(auth: AuthService, store: SessionStore, rejected: string): Promise<TokenSet | null> {
  const current = store.session();
  if (current && current.accessToken !== rejected) return current;
  try {
    await auth.renew();
    const renewed = store.session();
    return renewed && renewed.accessToken !== rejected ? renewed : null;
  } catch {
    return null;
  }
}

/**
 * authInterceptor for apps that register interceptors as classes:
 * `provideHttpClient(withInterceptorsFromDi())` and
 * `{ provide: HTTP_INTERCEPTORS, useClass: AuthInterceptor, multi: true }`.
 */
@Injectable()
export class AuthInterceptor implements HttpInterceptor {
  private readonly injector = inject(EnvironmentInjector);

  intercept(request: HttpRequest<unknown>, next: HttpHandler): Observable<HttpEvent<unknown>> {
    const handle: HttpHandlerFn = (forwarded) => next.handle(forwarded);
    return runInInjectionContext(this.injector, () => authInterceptor(request, handle));
  }
}
