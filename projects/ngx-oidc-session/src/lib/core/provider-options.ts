// The security checks of config.logout and config.tenantIssuer, two provider-profile options
// most apps do not use. Imported by the protocol chunk only (and, in dev mode, loaded with it at
// start by AuthService): the app's start-up code carries the options as configured, and would
// carry these checks too if it imported this file (a lazy chunk takes whole files, not functions).
import { AuthConfig, LogoutConfig, LogoutDialect, configError, isSecure } from './config';

/** The placeholder of a tenant-templated issuer (tenantIssuer.template). */
export const TENANT_PLACEHOLDER = '{tenantid}';

/** tenantIssuer after validation: allowedTenants null when any tenant may sign in. */
export interface ResolvedTenantIssuer {
  readonly template: string;
  readonly allowedTenants: readonly string[] | null;
}

/** config.logout after its checks: `endpoint` null for the discovered end_session_endpoint. */
export interface ResolvedLogout {
  readonly dialect: LogoutDialect;
  readonly endpoint: string | null;
}

/**
 * Kept in production, where it runs at logout (protocol chunk) before the browser is sent
 * anywhere: a dialect taken for another would send the user's logout with the wrong parameters,
 * and the endpoint is where the browser (and, RP-initiated, the ID token) goes. Its origin is
 * checked at logout too, against the discovered authorization endpoint.
 */
export function resolveLogout(logout: LogoutConfig | undefined): ResolvedLogout {
  // A string (`logout: 'cognito'` for `{ dialect: 'cognito' }`) would otherwise be read as the
  // default dialect, and null would throw a TypeError: both are refused by name.
  if (logout !== undefined && (typeof logout !== 'object' || logout === null || Array.isArray(logout))) {
    throw configError('logout', ngDevMode ? `must be an object such as { dialect: "cognito" } (got ${JSON.stringify(logout)}).` : '');
  }
  const { dialect = 'rp-initiated', endpoint } = logout ?? {};
  if (!['rp-initiated', 'auth0-v2', 'cognito'].includes(dialect)) {
    throw configError('logout.dialect', ngDevMode ? `must be "rp-initiated", "auth0-v2" or "cognito" (got "${String(dialect)}").` : '');
  }
  // Auth0's /v2/logout is never in discovery (its end_session_endpoint takes other parameters).
  if (endpoint === undefined && dialect !== 'auth0-v2') return { dialect, endpoint: null };
  let url: URL | null = null;
  try {
    url = new URL(endpoint!);
  } catch {
    // refused below
  }
  if (!url || !isSecure(url) || /[?#]/.test(url.href)) {
    throw configError(
      'logout.endpoint',
      ngDevMode
        ? endpoint === undefined
          ? 'is required with logout.dialect "auth0-v2": set it to "https://<your tenant domain>/v2/logout".'
          : `must be an absolute https URL without query or fragment (plain http only for localhost; got "${String(endpoint)}").`
        : '',
    );
  }
  return { dialect, endpoint: url.href };
}

/**
 * Kept in production, where it runs before the first discovery (protocol chunk): tenantIssuer
 * replaces the exact issuer check of discovery and ID tokens (OIDC Discovery 4.3, OIDC Core
 * 3.1.3.7 step 2) by a bound one, so the bounds are checked before any issuer is accepted: the
 * template, filled with a tenant id, must be a canonical URL (issuers are compared as strings)
 * on the authority's own origin, so over https outside loopback as the authority is, with
 * `{tenantid}` exactly once, as a whole path segment, so that no tid can move the issuer to
 * another host or path, nor leave it where another tenant's issuer is. The allow-list must be
 * a list (a string would match by substring). The rest is dev-mode advice
 * (checkTenantIssuerShape in config.ts).
 */
export function resolveTenantIssuer(value: NonNullable<AuthConfig['tenantIssuer']>, authority: string): ResolvedTenantIssuer {
  const authorityOrigin = new URL(authority).origin;
  const template = String(value?.template);
  // `{tenantid}` exactly once (two parts), right after the authority's origin and a "/" or
  // further down the path (so not in the userinfo, host or port), and a whole segment (a "/"
  // on each side, or the end). Filled, the template must be a canonical URL, so no dot segment
  // or other spelling the URL parser would rewrite.
  const [prefix, suffix, extra] = template.split(TENANT_PLACEHOLDER);
  const filled = `${prefix}00000000-0000-0000-0000-000000000000${suffix}`;
  let canonical = false;
  try {
    canonical = new URL(filled).href === filled;
  } catch {
    // refused below
  }
  if (extra !== undefined || suffix === undefined || !canonical || /[?#]/.test(template) || !prefix.startsWith(`${authorityOrigin}/`) || !prefix.endsWith('/') || !/^(\/|$)/.test(suffix)) {
    throw configError(
      'tenantIssuer.template',
      ngDevMode
        ? `must be the OP's discovery issuer verbatim, with "${TENANT_PLACEHOLDER}" once as a whole path segment, no query or fragment, on the origin of config.authority (${authorityOrigin}), e.g. "https://login.microsoftonline.com/{tenantid}/v2.0" (got "${template}").`
        : '',
    );
  }
  const allowed = value.allowedTenants;
  if (allowed !== undefined && !Array.isArray(allowed)) throw configError('tenantIssuer.allowedTenants', ngDevMode ? 'must be an array of tenant ids.' : '');
  return { template, allowedTenants: allowed ? [...allowed] : null };
}

/**
 * Kept in production (protocol chunk), where discovery is processed: the discovered endpoints
 * the browser is sent to, or a frame is loaded from (sign-in, renewal, logout, the session
 * monitor), must be https (plain http only on loopback, as config.authority). Anything else,
 * `javascript:` above all, has an opaque origin ("null"), which an origin comparison between two
 * such URLs would take as equal. Returns the name of the first endpoint that fails, if any.
 */
export function unsafeBrowserEndpoint(metadata: Readonly<Record<string, unknown>>): string | undefined {
  return ['authorization_endpoint', 'end_session_endpoint', 'check_session_iframe'].find((name) => {
    const value = metadata[name];
    if (value === undefined) return false;
    try {
      return !isSecure(new URL(value as string));
    } catch {
      return true;
    }
  });
}
