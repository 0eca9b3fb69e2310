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
  HttpResponse,
  HttpResponseBase,
} from '@angular/common/http';
import { EnvironmentInjector, Injectable, InjectionToken, inject, runInInjectionContext } from '@angular/core';
import { Observable, catchError, from, switchMap, tap, throwError } from 'rxjs';
import type { AuthorizationServer } from 'oauth4webapi';
import { AuthService } from '../auth.service';
import { AUTH_CONFIG } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { Session } from '../core/session';
import { DPOP_PROOFS } from '../dpop/dpop-proofs';
import { AuthBrowser } from '../platform/browser';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { DiscoveryCache } from '../state/discovery-cache';
import { SessionStore } from '../state/session-store';
import { AuthorizationHeaders, authorizationHeadersFor, isDPoPBound, matcherFor } from './token-headers';

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

/** `invalid_token` in a Bearer (RFC 6750 3.1) or DPoP (RFC 9449 7.1) challenge: the token, not the request, is at fault. */
function isInvalidTokenChallenge(error: HttpErrorResponse): boolean {
  return challengesOf(error).some(({ scheme, error }) => (scheme === 'bearer' || scheme === 'dpop') && error === 'invalid_token');
}

/** A resource server's demand for a proof with its nonce (RFC 9449 9): a DPoP challenge with `use_dpop_nonce`. */
function isUseDPoPNonceChallenge(error: HttpErrorResponse): boolean {
  return challengesOf(error).some(({ scheme, error }) => scheme === 'dpop' && error === 'use_dpop_nonce');
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

/** The retries a request has had: each kind at most once. */
interface Retried {
  readonly nonce: boolean;
  readonly renewal: boolean;
}

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

  // The absolute URL the allow-list was checked against: the proof's `htu` is made from it.
  // Parsed only for DPoP: a bearer request does not pay for it.
  const url = () => new URL(request.url, browser.baseUrl).href;
  /** A `DPoP-Nonce` (RFC 9449 9) of any answer, success or error, is used by the next proofs to the origin. */
  const rememberNonce = (response: HttpResponseBase) => {
    const nonce = proofs && response.headers?.get('DPoP-Nonce');
    if (nonce) proofs.rememberNonce(url(), nonce);
  };
  const withHeaders = (headers: AuthorizationHeaders) => next(request.clone({ setHeaders: { ...headers } }));
  const send = (tokens: TokenSet, retried: Retried): Observable<HttpEvent<unknown>> => {
    // A proof is made per request and per send, each on its own: no request waits for another's.
    const headers = authorizationHeadersFor(tokens, request.method, url, proofs);
    return (headers instanceof Promise ? from(headers).pipe(switchMap(withHeaders)) : withHeaders(headers)).pipe(
      tap((event) => {
        if (event instanceof HttpResponse) rememberNonce(event);
      }),
      catchError((error: unknown) => {
        if (!(error instanceof HttpErrorResponse)) return throwError(() => error);
        rememberNonce(error);
        if (error.status !== 401) return throwError(() => error);
        // The nonce retry needs the new nonce, remembered just above; the same token goes again.
        const wantsNonce = isDPoPBound(tokens) && isUseDPoPNonceChallenge(error);
        if (wantsNonce) return retried.nonce || !error.headers.has('DPoP-Nonce') ? throwError(() => error) : send(tokens, { ...retried, nonce: true });
        const renewable = config.retryOn401 === 'any' || isInvalidTokenChallenge(error);
        if (!renewable || retried.renewal) return throwError(() => error);
        return from(freshTokenAfterRejection(auth, store, tokens.accessToken)).pipe(
          // Each retry is one more send with its kind marked done: a repeated challenge of a
          // kind already retried reaches the caller, so there are at most three sends.
          switchMap((fresh) => (fresh === null ? throwError(() => error) : send(fresh, { ...retried, renewal: true }))),
        );
      }),
    );
  };
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
      return send(result.tokens, { nonce: false, renewal: false });
    }),
  );
};

/** The access token and how it is presented. */
type TokenSet = Pick<Session, 'accessToken' | 'tokenType'>;

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
