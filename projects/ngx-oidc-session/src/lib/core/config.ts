import { InjectionToken } from '@angular/core';
import { AuthError } from './errors';
import { StorageChoice } from './token-storage';

/**
 * When authorization requests are pushed to the OP first (RFC 9126): `auto` when its discovery
 * document advertises a pushed_authorization_request_endpoint, `always` (an OP without one is
 * an error), `never` (an OP that requires them is an error).
 */
export type PushedAuthorizationMode = 'auto' | 'always' | 'never';

/** How tokens are renewed before they expire. */
export type RenewStrategy = 'refresh_token' | 'iframe' | 'none';

/**
 * Which parameters logout() sends to the OP's logout endpoint. See {@link LogoutConfig}.
 */
export type LogoutDialect = 'rp-initiated' | 'auth0-v2' | 'cognito';

/**
 * The OP's logout endpoint, for OPs whose logout is not (only) OpenID Connect RP-Initiated
 * Logout 1.0. The parameters come from the dialect alone: there is no free-form map, so no
 * token can be routed into a parameter of the app's choosing.
 */
export interface LogoutConfig {
  /**
   * `rp-initiated` (default): client_id, id_token_hint, post_logout_redirect_uri and state
   * (RP-Initiated Logout 1.0). `auth0-v2`: client_id and returnTo (Auth0's /v2/logout; needs
   * `endpoint`). `cognito`: client_id and logout_uri (Amazon Cognito's /logout). The last two
   * send no token and no state: the OP returns to `postLogoutRedirectUrl` without a `state`.
   */
  readonly dialect?: LogoutDialect;
  /**
   * The logout endpoint's absolute URL (https; plain http only for localhost; no query or
   * fragment). Default: the discovered end_session_endpoint. At logout it must be on the origin
   * of the OP's authorization endpoint, or logout stays local (`config_invalid`).
   */
  readonly endpoint?: string;
}

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
  /**
   * Pushed authorization requests (RFC 9126) for sign-in, popup and iframe renewal: `auto`
   * (default) when the OP advertises them, `always`, or `never`. See {@link PushedAuthorizationMode}.
   */
  readonly pushedAuthorization?: PushedAuthorizationMode;
  /** The OP's logout endpoint and its parameters; see {@link LogoutConfig}. Default: RP-Initiated Logout at the discovered end_session_endpoint. */
  readonly logout?: LogoutConfig;
  /**
   * Only for an OP whose discovery `issuer` is a template, as Microsoft Entra ID's multi-tenant
   * authorities (`/organizations/v2.0`, `/common/v2.0`) announce
   * `https://login.microsoftonline.com/{tenantid}/v2.0`. `template` is that issuer, verbatim:
   * `{tenantid}` once, as a whole path segment, on the authority's origin. Each ID token must
   * then carry a `tid` (a lower-case GUID) and an `iss` equal to the template with that `tid`
   * in place of `{tenantid}`. `allowedTenants` (lower-case GUIDs) limits the tenants that may
   * sign in; without it, any tenant of that OP can. Everything else is checked as usual.
   */
  readonly tenantIssuer?: {
    readonly template: string;
    readonly allowedTenants?: readonly string[];
  };
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
  readonly pushedAuthorization: PushedAuthorizationMode;
  /**
   * As configured: checked by the protocol chunk at logout (resolveLogout, in every build) and,
   * in dev mode, at start too.
   */
  readonly logout?: LogoutConfig;
  /** Prefix of every storage key: one namespace per authority and client. */
  readonly storageNamespace: string;
  /** The withName() name of a named instance; absent for the default instance. */
  readonly instanceName?: string;
  /**
   * As configured: checked by the protocol chunk before the first discovery (resolveTenantIssuer,
   * in every build) and, in dev mode, at start too.
   */
  readonly tenantIssuer?: AuthConfig['tenantIssuer'];
}

export const AUTH_CONFIG = new InjectionToken<ResolvedAuthConfig>('ngx-oidc-session config');

/**
 * Parameters the library owns; an app setting them would break the protocol's checks. With
 * pushed requests, request_uri and request (RFC 9126 4, RFC 9101) would replace the pushed
 * parameters, and dpop_jkt (RFC 9449 10) binds the code to a key the library does not hold.
 */
export const RESERVED_AUTHORIZE_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request_uri',
  'request',
  'dpop_jkt',
];
const RESERVED_TOKEN_PARAMS = ['client_id', 'grant_type', 'code', 'code_verifier', 'redirect_uri', 'refresh_token'];
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Resolves app-relative URLs during server-side rendering, where no URL is used. */
const SERVER_ORIGIN = 'http://server.invalid';

/** `config_invalid` naming the key; the explanation is kept in dev mode only. */
export function configError(key: string, problem: string): AuthError {
  return new AuthError('config_invalid', problem && `ngx-oidc-session: config.${key} ${problem}`, false, { configKey: key });
}

function stringOrEmpty(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

/** A number of seconds within its range, or the default; `config_invalid` otherwise. */
export function seconds(value: number | undefined, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw configError(key, ngDevMode ? `must be a number of seconds between ${min} and ${max} (got ${String(value)}).` : '');
  }
  return value;
}

/**
 * Resolves an absolute or app-relative URL against the app's origin. Kept in production: a
 * protocol-relative or non-http URL here would send the browser (and its codes) elsewhere.
 */
export function resolveAppUrl(value: string, key: string, appOrigin: string): string {
  const relative = value.startsWith('/') && !value.startsWith('//');
  if (!relative && !/^https?:\/\//i.test(value)) {
    throw configError(key, ngDevMode ? `must be absolute (https://...) or app-relative starting with "/" (got "${value}").` : '');
  }
  const url = new URL(value, appOrigin);
  if (url.hash) throw configError(key, ngDevMode ? `must not contain a fragment (got "${value}").` : '');
  return url.href;
}

/** https, or plain http for a loopback host only: the URL carries codes or tokens. */
export function isSecure(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}

/**
 * Kept in production, in the browser: the callback pages receive authorization codes and must be
 * where this tab's PKCE verifier is (its own origin), and nothing that carries a code or a token
 * goes over plain http outside loopback (RFC 6749 3.1.2.1 and 10.5, RFC 6750 5.3).
 */
export function checkAppUrl(href: string, key: string, appOrigin: string, given: string): void {
  const url = new URL(href);
  if (url.origin !== appOrigin) {
    throw configError(key, ngDevMode ? `must be on the app's own origin ${appOrigin} (got "${given}"): use an app-relative path such as "/".` : '');
  }
  if (!isSecure(url)) {
    throw configError(key, ngDevMode ? `must use https (got "${given}"); plain http is allowed only for localhost. Serve the app over https.` : '');
  }
}

export function checkParams(params: Readonly<Record<string, string>> | undefined, key: string, reserved: readonly string[]): Readonly<Record<string, string>> {
  for (const name of Object.keys(params ?? {})) {
    if (reserved.includes(name)) {
      throw configError(`${key}.${name}`, ngDevMode ? `is set by the library on every request; remove it from ${key}.` : '');
    }
  }
  return { ...params };
}

/**
 * Validates the app's AuthConfig once, at start, and returns it with defaults and resolved
 * URLs. Throws an AuthError `config_invalid` that names the key.
 *
 * The security checks run in every build: an https authority (plain http only for a loopback
 * host), reserved protocol parameters, redirect and API URLs that are http(s) and absolute or
 * app-relative, https for them too outside loopback, redirect, post-logout and silent-renew
 * pages on the app's own origin (the silent-renew page not the redirect page), the clock tolerance of token
 * checks, and the two settings whose mistakes would stall or misroute renewals (strategy, iframe
 * timeout). The other type, enum and range checks and the explanations run in dev mode only
 * (`ngDevMode`), as Angular's own do.
 *
 * @param appOrigin the app's origin, used to resolve app-relative URLs and to check that the
 *   callback pages are on it; null on the server (the URLs are only used in a browser).
 */
export function resolveAuthConfig(config: AuthConfig, appOrigin: string | null): ResolvedAuthConfig {
  if (ngDevMode) checkConfigShape(config);
  const inBrowser = appOrigin !== null;
  appOrigin ??= SERVER_ORIGIN;
  const authority = stringOrEmpty(config.authority);
  let authorityUrl: URL;
  try {
    authorityUrl = new URL(authority);
  } catch {
    throw configError('authority', ngDevMode ? `must be the OP's issuer URL, an absolute URL (got "${authority}").` : '');
  }
  if (!isSecure(authorityUrl)) {
    throw configError('authority', ngDevMode ? `must use https (got "${authority}"); plain http is allowed only for localhost.` : '');
  }
  // Any fragment, an empty one too ("https://op.example.com#": no hash, but a "#" in href, which
  // is part of the storage namespace, where "#" separates a named instance's name).
  if (authorityUrl.search || authorityUrl.href.includes('#')) {
    throw configError('authority', ngDevMode ? `must be the issuer URL without query or fragment (got "${authority}").` : '');
  }
  const clientId = stringOrEmpty(config.clientId);
  if (!clientId) throw configError('clientId', ngDevMode ? 'is required and must be a non-empty string.' : '');

  const scope = (stringOrEmpty(config.scope) || 'openid profile email').split(/\s+/).filter(Boolean);
  if (!scope.includes('openid')) {
    throw configError('scope', ngDevMode ? `must contain "openid" for an OpenID Connect sign-in (got "${config.scope}").` : '');
  }

  const renew = config.renew ?? {};
  const strategy = renew.strategy ?? 'refresh_token';
  // Kept in production: a typo would renew by iframe without a page to land on.
  if (!['refresh_token', 'iframe', 'none'].includes(strategy)) throw configError('renew.strategy', ngDevMode ? `must be "refresh_token", "iframe" or "none" (got "${String(strategy)}").` : '');
  const pushedAuthorization = config.pushedAuthorization ?? 'auto';
  // Kept in production: a typo ("Always", true) taken for "auto" would quietly drop the pushed
  // requests the app asked for whenever the OP does not advertise them.
  if (!['auto', 'always', 'never'].includes(pushedAuthorization)) throw configError('pushedAuthorization', ngDevMode ? `must be "auto", "always" or "never" (got "${String(pushedAuthorization)}").` : '');
  const fallbackToIframe = renew.fallbackToIframe ?? false;
  const silentRenewUrl = renew.silentRenewUrl ? resolveAppUrl(renew.silentRenewUrl, 'renew.silentRenewUrl', appOrigin) : null;
  const redirectUrl = resolveAppUrl(config.redirectUrl ?? '/', 'redirectUrl', appOrigin);
  const postLogoutRedirectUrl = resolveAppUrl(config.postLogoutRedirectUrl ?? '/', 'postLogoutRedirectUrl', appOrigin);
  const secureApis = [...(config.secureApis ?? [])];
  secureApis.forEach((entry, index) => {
    const key = `secureApis[${index}]`;
    // The access token goes there (RFC 6750 5.3: TLS), so https too, outside loopback.
    if (!isSecure(new URL(resolveAppUrl(stringOrEmpty(entry), key, appOrigin))) && inBrowser) {
      throw configError(key, ngDevMode ? `must use https (got "${entry}"): the access token would travel in clear; plain http is allowed only for localhost.` : '');
    }
  });
  // On the server the origin is a placeholder: these are checked in the browser, where codes land.
  if (inBrowser) {
    const origin = new URL(appOrigin).origin;
    checkAppUrl(redirectUrl, 'redirectUrl', origin, config.redirectUrl ?? '/');
    checkAppUrl(postLogoutRedirectUrl, 'postLogoutRedirectUrl', origin, config.postLogoutRedirectUrl ?? '/');
    if (silentRenewUrl) {
      checkAppUrl(silentRenewUrl, 'renew.silentRenewUrl', origin, renew.silentRenewUrl!);
      const [renewPage, redirectPage] = [silentRenewUrl, redirectUrl].map((href) => new URL(href).pathname);
      // The app at redirectUrl would take the iframe's response for a sign-in of its own.
      if (renewPage === redirectPage) {
        throw configError('renew.silentRenewUrl', ngDevMode ? `must be another page than redirectUrl (both "${renewPage}"): use the static page ng add generates, "/silent-renew.html".` : '');
      }
    }
  }

  // config.logout and config.tenantIssuer are carried as given: their security checks live in
  // the protocol chunk (core/provider-options.ts), which runs them before the values are used,
  // and in dev mode at start too (AuthService). Most apps use neither option.
  if (ngDevMode && config.tenantIssuer) checkTenantIssuerShape(authority, config.tenantIssuer.allowedTenants);
  return {
    authority,
    clientId,
    redirectUrl,
    postLogoutRedirectUrl,
    scope: scope.join(' '),
    authorizeParams: checkParams(config.authorizeParams, 'authorizeParams', RESERVED_AUTHORIZE_PARAMS),
    tokenParams: checkParams(config.tokenParams, 'tokenParams', RESERVED_TOKEN_PARAMS),
    storage: config.storage ?? 'session',
    loadUserInfo: config.loadUserInfo ?? false,
    renew: {
      strategy,
      leadTimeSeconds: seconds(renew.leadTimeSeconds, 'renew.leadTimeSeconds', 60, 0, 24 * 3600),
      silentRenewUrl,
      fallbackToIframe,
      // Kept in production: the iframe's wait holds the renewal lock of every tab.
      iframeTimeoutSeconds: seconds(renew.iframeTimeoutSeconds, 'renew.iframeTimeoutSeconds', 10, 1, 120),
      signInWhenSessionEnds: renew.signInWhenSessionEnds ?? false,
    },
    secureApis,
    unauthenticatedRequests: config.unauthenticatedRequests ?? 'send',
    retryOn401: config.retryOn401 ?? 'invalid_token',
    tabs: config.tabs ?? 'shared',
    // Kept in production: a huge tolerance would switch off the exp and iat checks of ID tokens.
    clockToleranceSeconds: seconds(config.clockToleranceSeconds, 'clockToleranceSeconds', 30, 0, 600),
    pushedAuthorization,
    logout: config.logout,
    storageNamespace: `ngx-oidc-session:${clientId}@${authorityUrl.href}`,
    tenantIssuer: config.tenantIssuer,
  };
}

/**
 * Dev mode: mistakes that would refuse every sign-in (a tenant id that is not a lower-case GUID
 * never matches, as TENANT_ID in protocol/tenant-issuer.ts requires), and a warning for an app
 * open to any tenant.
 */
function checkTenantIssuerShape(authority: string, allowed: readonly string[] | undefined): void {
  if (/\{tenantid\}|%7btenantid%7d/i.test(authority)) {
    throw configError('authority', `must be the URL discovery is fetched from, not the issuer template (got "${authority}"): for Entra ID, "https://login.microsoftonline.com/organizations/v2.0".`);
  }
  if (allowed !== undefined && (!Array.isArray(allowed) || allowed.length === 0 || !allowed.every((tenant) => typeof tenant === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(tenant)))) {
    throw configError(
      'tenantIssuer.allowedTenants',
      `must be a non-empty array of tenant ids, lower-case GUIDs such as "72f988bf-86f1-41af-91ab-2d7cd011db47" (got ${JSON.stringify(allowed)}); leave it out to let any tenant sign in.`,
    );
  }
  if (!allowed) {
    // eslint-disable-next-line no-console -- a dev-mode diagnostic, dropped from production builds
    console.warn(
      'ngx-oidc-session: config.tenantIssuer has no allowedTenants: a user of any tenant of this OP can sign in (the issuer check only ties each ID token to its own tid). Set allowedTenants unless the app is meant for every tenant, and have your API authorise by tid.',
    );
  }
}

/**
 * The checks of types, enums, ranges and contradictions: mistakes a developer sees at once in
 * dev mode. Dropped from production builds (the call site is under `ngDevMode`).
 */
function checkConfigShape(config: AuthConfig): void {
  if (typeof config !== 'object' || config === null) {
    throw new AuthError('config_invalid', 'ngx-oidc-session: provideAuth() needs a config object with authority and clientId.');
  }
  const requireString = (value: unknown, key: string) => {
    if (typeof value !== 'string' || value.trim() === '') throw configError(key, 'is required and must be a non-empty string.');
  };
  const oneOf = (value: unknown, key: string, allowed: readonly unknown[]) => {
    if (value !== undefined && !allowed.includes(value)) {
      throw configError(key, `must be ${allowed.map((option) => `"${String(option)}"`).join(', ')} (got "${String(value)}").`);
    }
  };
  const params = (value: unknown, key: string) => {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw configError(key, 'must be an object of string values.');
    for (const [name, entry] of Object.entries(value)) {
      if (typeof entry !== 'string') throw configError(`${key}.${name}`, 'must be a string.');
    }
  };
  requireString(config.authority, 'authority');
  requireString(config.clientId, 'clientId');
  for (const key of ['redirectUrl', 'postLogoutRedirectUrl', 'scope'] as const) {
    if (config[key] !== undefined && typeof config[key] !== 'string') throw configError(key, 'must be a string.');
  }
  params(config.authorizeParams, 'authorizeParams');
  params(config.tokenParams, 'tokenParams');
  const renew = config.renew ?? {};
  const strategy = renew.strategy ?? 'refresh_token';
  if (renew.fallbackToIframe && strategy !== 'refresh_token') {
    throw configError('renew.fallbackToIframe', `applies only to the "refresh_token" strategy (strategy is "${strategy}").`);
  }
  if ((strategy === 'iframe' || renew.fallbackToIframe) && !renew.silentRenewUrl) {
    throw configError(
      'renew.silentRenewUrl',
      'is required for iframe renewal: set it to the page ng add generated, e.g. "/silent-renew.html", and register it as a redirect URI at the OP.',
    );
  }
  if (strategy === 'iframe' && (config.scope ?? '').split(/\s+/).includes('offline_access')) {
    throw configError('scope', 'asks for offline_access, but renew.strategy is "iframe": drop offline_access or use "refresh_token".');
  }
  if (config.secureApis !== undefined && !Array.isArray(config.secureApis)) {
    throw configError('secureApis', 'must be an array of URLs or app-relative paths.');
  }
  (config.secureApis ?? []).forEach((entry, index) => {
    if (typeof entry !== 'string' || entry === '') throw configError(`secureApis[${index}]`, 'must be a non-empty string.');
  });
  const storage = config.storage;
  if (storage !== undefined && (typeof storage === 'string' ? !['session', 'local', 'memory'].includes(storage) : typeof storage?.getItem !== 'function')) {
    throw configError('storage', 'must be "session", "local", "memory" or an object implementing TokenStorage.');
  }
  oneOf(config.unauthenticatedRequests, 'unauthenticatedRequests', ['send', 'fail']);
  oneOf(config.retryOn401, 'retryOn401', ['invalid_token', 'any']);
  oneOf(config.tabs, 'tabs', ['shared', 'isolated']);
  if (config.logout !== undefined && (typeof config.logout !== 'object' || config.logout === null || Array.isArray(config.logout))) {
    throw configError('logout', 'must be an object: { dialect?, endpoint? }.');
  }
  if (config.logout?.endpoint !== undefined && typeof config.logout.endpoint !== 'string') throw configError('logout.endpoint', 'must be a string.');
}
