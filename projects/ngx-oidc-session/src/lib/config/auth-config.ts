import { InjectionToken } from '@angular/core';
import { AuthError } from '../errors';
import { StorageChoice } from '../storage/token-storage';

/** How tokens are renewed before they expire. */
export type RenewStrategy = 'refresh_token' | 'iframe' | 'none';

export interface RenewConfig {
  /**
   * `refresh_token` (default): the refresh-token grant. `iframe`: a hidden iframe with an
   * authorization request (`prompt=none`) that lands on `silentRenewUrl`. `none`: no renewal;
   * the session ends when the access token expires.
   */
  readonly strategy?: RenewStrategy;
  /**
   * Renew this many seconds before the access token expires (default 60). Clamped for
   * short-lived tokens so that renewals never follow each other in a loop.
   */
  readonly leadTimeSeconds?: number;
  /**
   * The page the hidden iframe returns to, absolute or app-relative (e.g. `/silent-renew.html`,
   * which `ng add` generates). Required for the iframe strategy and for `fallbackToIframe`;
   * it must also be registered as a redirect URI at the OP.
   */
  readonly silentRenewUrl?: string;
  /** With `refresh_token`: renew by iframe when the OP issued no refresh token. Default false. */
  readonly fallbackToIframe?: boolean;
  /** How long a silent iframe renewal may take before it counts as failed (default 10). */
  readonly iframeTimeoutSeconds?: number;
  /**
   * When the OP ends the session (the renewal is refused for good), start an interactive
   * sign-in that returns to the current route. Default false: the app decides.
   */
  readonly signInWhenSessionEnds?: boolean;
}

/**
 * Configuration of `provideAuth()` / `AuthModule.forRoot()`. Only `authority` and `clientId`
 * are required; everything else has a default fit for a public single-page client.
 */
export interface AuthConfig {
  /** The OpenID Provider's issuer URL, e.g. `https://login.example.com/realms/main`. */
  readonly authority: string;
  /** The client id the OP registered for this app (a public client: no secret). */
  readonly clientId: string;
  /** Where the OP sends the browser after sign-in: absolute or app-relative. Default `/`. */
  readonly redirectUrl?: string;
  /** Where the OP sends the browser after sign-out: absolute or app-relative. Default `/`. */
  readonly postLogoutRedirectUrl?: string;
  /** Space-separated scopes; must contain `openid`. Default `openid profile email`. */
  readonly scope?: string;
  /** Extra authorization request parameters sent on every sign-in (e.g. `{ ui_locales: 'de' }`). */
  readonly authorizeParams?: Readonly<Record<string, string>>;
  /** Extra token request parameters (e.g. `{ resource: 'https://api.example.com' }`). */
  readonly tokenParams?: Readonly<Record<string, string>>;
  /** Where the session lives: `session` (default, per tab), `local`, `memory`, or your own. */
  readonly storage?: StorageChoice;
  /** Fetch the userinfo endpoint after sign-in and merge its claims. Default false. */
  readonly loadUserInfo?: boolean;
  /** Token renewal; see {@link RenewConfig}. */
  readonly renew?: RenewConfig;
  /**
   * The app's own APIs that receive the access token: absolute URLs or app-relative paths,
   * matched by exact origin and a path prefix on a segment boundary.
   */
  readonly secureApis?: readonly string[];
  /**
   * What the interceptor does with a request for a secure API when nobody is signed in:
   * `send` it without a token (default; the API decides) or `fail` it with an AuthError `no_session`.
   */
  readonly unauthenticatedRequests?: 'send' | 'fail';
  /**
   * Which 401 answers from a secure API make the interceptor renew the token and retry once:
   * `invalid_token` (default: a `WWW-Authenticate: Bearer error="invalid_token"` challenge) or `any`.
   */
  readonly retryOn401?: 'invalid_token' | 'any';
  /**
   * `shared` (default): the tabs of this app share one session: one renewal for all of them
   * (under a Web Lock), sign-in and sign-out in one tab reach the others, and a new tab is
   * signed in by the live tabs without a redirect. `isolated`: each tab has its own session.
   */
  readonly tabs?: 'shared' | 'isolated';
  /** Tolerated clock difference with the OP when checking token times. Default 30 seconds. */
  readonly clockToleranceSeconds?: number;
}

/** The config after validation and defaults; URLs resolved against the app's origin. */
export interface ResolvedAuthConfig {
  readonly authority: string;
  readonly clientId: string;
  readonly redirectUrl: string;
  readonly postLogoutRedirectUrl: string;
  readonly scope: string;
  readonly authorizeParams: Readonly<Record<string, string>>;
  readonly tokenParams: Readonly<Record<string, string>>;
  readonly storage: StorageChoice;
  readonly loadUserInfo: boolean;
  readonly renew: Required<Omit<RenewConfig, 'silentRenewUrl'>> & { readonly silentRenewUrl: string | null };
  readonly secureApis: readonly string[];
  readonly unauthenticatedRequests: 'send' | 'fail';
  readonly retryOn401: 'invalid_token' | 'any';
  readonly tabs: 'shared' | 'isolated';
  readonly clockToleranceSeconds: number;
  /** Prefix of every storage key: one namespace per authority and client. */
  readonly storageNamespace: string;
}

export const AUTH_CONFIG = new InjectionToken<ResolvedAuthConfig>('ngx-oidc-session config');

/** Parameters the library owns; an app setting them would break the protocol's checks. */
const RESERVED_AUTHORIZE_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
];
const RESERVED_TOKEN_PARAMS = ['client_id', 'grant_type', 'code', 'code_verifier', 'redirect_uri', 'refresh_token'];
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function configError(key: string, problem: string): AuthError {
  return new AuthError('config_invalid', `ngx-oidc-session: config.${key} ${problem}`, false, { configKey: key });
}

function requireString(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(key, 'is required and must be a non-empty string.');
  }
  return value.trim();
}

function parseAbsoluteUrl(value: string, key: string): URL {
  try {
    return new URL(value);
  } catch {
    throw configError(key, `must be an absolute URL (got "${value}").`);
  }
}

/** Resolves an absolute or app-relative URL against the app's origin. */
function resolveAppUrl(value: string, key: string, appOrigin: string): string {
  if (value.startsWith('//')) {
    throw configError(key, `must be absolute (https://...) or app-relative (/...), not protocol-relative (got "${value}").`);
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value) && !value.startsWith('/')) {
    throw configError(key, `must be absolute (https://...) or app-relative starting with "/" (got "${value}").`);
  }
  const url = new URL(value, appOrigin);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(key, `must be an http(s) URL (got "${value}").`);
  }
  if (url.hash) throw configError(key, `must not contain a fragment (got "${value}").`);
  return url.href;
}

function checkParams(params: unknown, key: string, reserved: string[]): Readonly<Record<string, string>> {
  if (params === undefined) return {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw configError(key, 'must be an object of string values.');
  }
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string') throw configError(`${key}.${name}`, 'must be a string.');
    if (reserved.includes(name)) {
      throw configError(`${key}.${name}`, `is set by the library on every request; remove it from ${key}.`);
    }
  }
  return { ...(params as Record<string, string>) };
}

function checkSeconds(value: unknown, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw configError(key, `must be a number of seconds between ${min} and ${max} (got ${String(value)}).`);
  }
  return value;
}

/**
 * Validates the app's AuthConfig once, at start. Throws an AuthError (`config_invalid`) that
 * names the key and what to change; returns the config with defaults and resolved URLs.
 *
 * @param appOrigin the app's origin, used to resolve app-relative URLs (on the server: any
 *   placeholder origin; the URLs are only used in a browser).
 */
export function resolveAuthConfig(config: AuthConfig, appOrigin: string): ResolvedAuthConfig {
  if (typeof config !== 'object' || config === null) {
    throw new AuthError('config_invalid', 'ngx-oidc-session: provideAuth() needs a config object with authority and clientId.');
  }
  const authority = requireString(config.authority, 'authority');
  const authorityUrl = parseAbsoluteUrl(authority, 'authority');
  if (authorityUrl.protocol !== 'https:') {
    if (authorityUrl.protocol !== 'http:' || !LOOPBACK_HOSTS.has(authorityUrl.hostname)) {
      throw configError('authority', `must use https (got "${authority}"); plain http is allowed only for localhost.`);
    }
  }
  if (authorityUrl.search || authorityUrl.hash) {
    throw configError('authority', `must be the issuer URL without query or fragment (got "${authority}").`);
  }
  const clientId = requireString(config.clientId, 'clientId');

  const scope = (config.scope ?? 'openid profile email').trim().split(/\s+/).filter(Boolean);
  if (!scope.includes('openid')) {
    throw configError('scope', `must contain "openid" for an OpenID Connect sign-in (got "${config.scope}").`);
  }

  const redirectUrl = resolveAppUrl(config.redirectUrl ?? '/', 'redirectUrl', appOrigin);
  const postLogoutRedirectUrl = resolveAppUrl(config.postLogoutRedirectUrl ?? '/', 'postLogoutRedirectUrl', appOrigin);

  const renew = config.renew ?? {};
  const strategy = renew.strategy ?? 'refresh_token';
  if (!['refresh_token', 'iframe', 'none'].includes(strategy)) {
    throw configError('renew.strategy', `must be "refresh_token", "iframe" or "none" (got "${String(strategy)}").`);
  }
  const fallbackToIframe = renew.fallbackToIframe ?? false;
  if (fallbackToIframe && strategy !== 'refresh_token') {
    throw configError('renew.fallbackToIframe', `applies only to the "refresh_token" strategy (strategy is "${strategy}").`);
  }
  const needsIframe = strategy === 'iframe' || fallbackToIframe;
  if (needsIframe && !renew.silentRenewUrl) {
    throw configError(
      'renew.silentRenewUrl',
      'is required for iframe renewal: set it to the page ng add generated, e.g. "/silent-renew.html", and register it as a redirect URI at the OP.',
    );
  }
  const silentRenewUrl = renew.silentRenewUrl ? resolveAppUrl(renew.silentRenewUrl, 'renew.silentRenewUrl', appOrigin) : null;
  if (silentRenewUrl && new URL(silentRenewUrl).origin !== new URL(appOrigin).origin) {
    throw configError('renew.silentRenewUrl', `must be on the app's own origin ${new URL(appOrigin).origin} (got "${renew.silentRenewUrl}").`);
  }
  if (strategy === 'iframe' && scope.includes('offline_access')) {
    throw configError('scope', 'asks for offline_access, but renew.strategy is "iframe": drop offline_access or use "refresh_token".');
  }

  const secureApis = config.secureApis ?? [];
  if (!Array.isArray(secureApis)) throw configError('secureApis', 'must be an array of URLs or app-relative paths.');
  secureApis.forEach((entry, index) => {
    if (typeof entry !== 'string' || entry === '') throw configError(`secureApis[${index}]`, 'must be a non-empty string.');
    resolveAppUrl(entry, `secureApis[${index}]`, appOrigin);
  });

  const storage = config.storage ?? 'session';
  if (typeof storage === 'string' ? !['session', 'local', 'memory'].includes(storage) : typeof storage?.getItem !== 'function') {
    throw configError('storage', 'must be "session", "local", "memory" or an object implementing TokenStorage.');
  }

  const unauthenticatedRequests = config.unauthenticatedRequests ?? 'send';
  if (unauthenticatedRequests !== 'send' && unauthenticatedRequests !== 'fail') {
    throw configError('unauthenticatedRequests', `must be "send" or "fail" (got "${String(unauthenticatedRequests)}").`);
  }
  const retryOn401 = config.retryOn401 ?? 'invalid_token';
  if (retryOn401 !== 'invalid_token' && retryOn401 !== 'any') {
    throw configError('retryOn401', `must be "invalid_token" or "any" (got "${String(retryOn401)}").`);
  }

  const tabs = config.tabs ?? 'shared';
  if (tabs !== 'shared' && tabs !== 'isolated') {
    throw configError('tabs', `must be "shared" or "isolated" (got "${String(tabs)}").`);
  }

  return {
    authority,
    clientId,
    redirectUrl,
    postLogoutRedirectUrl,
    scope: scope.join(' '),
    authorizeParams: checkParams(config.authorizeParams, 'authorizeParams', RESERVED_AUTHORIZE_PARAMS),
    tokenParams: checkParams(config.tokenParams, 'tokenParams', RESERVED_TOKEN_PARAMS),
    storage,
    loadUserInfo: config.loadUserInfo ?? false,
    renew: {
      strategy,
      leadTimeSeconds: checkSeconds(renew.leadTimeSeconds, 'renew.leadTimeSeconds', 60, 0, 24 * 3600),
      silentRenewUrl,
      fallbackToIframe,
      iframeTimeoutSeconds: checkSeconds(renew.iframeTimeoutSeconds, 'renew.iframeTimeoutSeconds', 10, 1, 120),
      signInWhenSessionEnds: renew.signInWhenSessionEnds ?? false,
    },
    secureApis: [...secureApis],
    unauthenticatedRequests,
    retryOn401,
    tabs,
    clockToleranceSeconds: checkSeconds(config.clockToleranceSeconds, 'clockToleranceSeconds', 30, 0, 600),
    storageNamespace: `ngx-oidc-session:${clientId}@${authorityUrl.href}`,
  };
}
