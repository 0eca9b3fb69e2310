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
import { AUTH_CONFIG, ResolvedAuthConfig } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { AuthBrowser } from '../platform/browser';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { DiscoveryCache } from '../state/discovery-cache';
import { SessionStore } from '../state/session-store';
import { SecureUrlMatcher } from './secure-url-matcher';

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

/** `invalid_token` in a Bearer challenge (RFC 6750 3.1): the token, not the request, is at fault. */
function isInvalidTokenChallenge(error: HttpErrorResponse): boolean {
  const challenge = error.headers?.get('WWW-Authenticate') ?? '';
  return /^\s*Bearer\b/i.test(challenge) && /error\s*=\s*"?invalid_token"?/i.test(challenge);
}

/** The OP's URLs that never get a token: its issuer, and its endpoints once discovered. */
export function opUrlsOf(config: ResolvedAuthConfig, metadata: AuthorizationServer | null): string[] {
  return [
    config.authority,
    ...(metadata
      ? [metadata.token_endpoint, metadata.revocation_endpoint, metadata.introspection_endpoint, metadata.userinfo_endpoint, metadata.authorization_endpoint, metadata.end_session_endpoint, metadata.jwks_uri]
      : []),
  ].filter((url): url is string => typeof url === 'string');
}

/** The last matcher built per app (config object), with the page base and OP URLs it was built for. */
const matchers = new WeakMap<ResolvedAuthConfig, { key: string; matcher: SecureUrlMatcher }>();

/**
 * The allow-list matcher, with the OP's own endpoints excluded. Built once and again only when
 * the OP metadata changes: parsing a dozen URLs per request cost more than all the rest of the
 * interceptor (bench/: interceptor overhead).
 */
function matcherFor(config: ResolvedAuthConfig, appOrigin: string, baseUrl: string, metadata: AuthorizationServer | null): SecureUrlMatcher {
  const opUrls = opUrlsOf(config, metadata);
  // The base changes only with a navigation, and only in a page without <base href>.
  const key = JSON.stringify([appOrigin, baseUrl, config.secureApis, opUrls]);
  const cached = matchers.get(config);
  if (cached?.key === key) return cached.matcher;
  const matcher = new SecureUrlMatcher(config.secureApis, appOrigin, opUrls, baseUrl);
  matchers.set(config, { key, matcher });
  return matcher;
}

/**
 * Attaches the access token to requests for the app's own APIs (`secureApis`) only, never
 * an expired one: it waits for the renewal when the token is about to expire. A 401
 * `invalid_token` from such an API triggers one renewal (shared by all requests that failed
 * together) and one retry; a second 401 goes to the caller.
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

  const policy = request.context.get(AUTH_TOKEN);
  if (policy === 'skip' || request.headers.has('Authorization')) return next(request);
  const eligible = (metadata: AuthorizationServer | null) => {
    const matcher = matcherFor(config, browser.origin, browser.baseUrl, metadata);
    return policy === 'attach' ? matcher.allowsOptIn(request.url) : matcher.matches(request.url);
  };
  const metadata = discovery.read();
  if (!eligible(metadata)) return next(request);

  const send = (token: string) => next(request.clone({ setHeaders: { Authorization: `Bearer ${token}` } }));
  // The OP's endpoints outside its issuer path are known only from discovery. A page with a
  // session but no discovery cache (e.g. a new tab that got the session from another tab)
  // learns them before a token leaves it; a failed discovery fails the request, typed.
  const withToken = (token: string) =>
    metadata ? { token, eligible: true } : protocol.load().then(({ client }) => client.discover()).then((learned) => ({ token, eligible: eligible(learned) }));

  return from(auth.getAccessToken().then(withToken, (error: unknown) => ({ error }))).pipe(
    switchMap((result): Observable<HttpEvent<unknown>> => {
      if ('error' in result) {
        const error = isAuthError(result.error) ? result.error : new AuthError('no_session', ngDevMode ? 'No access token is available.' : '');
        if (error.code === 'no_session' && config.unauthenticatedRequests === 'send') return next(request);
        return throwError(() => error);
      }
      if (!result.eligible) return next(request);
      const usedToken = result.token;
      return send(usedToken).pipe(
        catchError((error: unknown) => {
          const retryable =
            error instanceof HttpErrorResponse &&
            error.status === 401 &&
            (config.retryOn401 === 'any' || isInvalidTokenChallenge(error));
          if (!retryable) return throwError(() => error);
          return from(freshTokenAfterRejection(auth, store, usedToken)).pipe(
            switchMap((fresh) => {
              if (fresh === null) return throwError(() => error);
              // The retry goes straight to the next handler, outside this catchError: a second
              // 401 reaches the caller, so there is exactly one retry and never a loop.
              return send(fresh);
            }),
          );
        }),
      );
    }),
  );
};

/**
 * A token to retry with after `rejected` was refused: when another request already renewed
 * (the stored token is no longer the rejected one), its result is used; otherwise one forced
 * renewal runs, shared by every request waiting for it. Null: no token to retry with.
 */
async function freshTokenAfterRejection(auth: AuthService, store: SessionStore, rejected: string): Promise<string | null> {
  const current = store.session();
  if (current && current.accessToken !== rejected) return current.accessToken;
  try {
    await auth.renew();
    const renewed = store.session();
    return renewed && renewed.accessToken !== rejected ? renewed.accessToken : null;
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
