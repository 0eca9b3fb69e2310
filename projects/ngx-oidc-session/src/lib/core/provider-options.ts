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
 * `{tenantid}` as a whole path segment, so that no tid can move the issuer to another host or
 * path. A second `{tenantid}` cannot pass: the URL parser percent-encodes its braces. The
 * allow-list must be a list (a string would match by substring). The rest is dev-mode advice
 * (checkTenantIssuerShape in config.ts).
 */
export function resolveTenantIssuer(value: NonNullable<AuthConfig['tenantIssuer']>, authority: string): ResolvedTenantIssuer {
  const authorityOrigin = new URL(authority).origin;
  const template = String(value?.template);
  const sample = '00000000-0000-0000-0000-000000000000';
  let filled: URL | undefined;
  try {
    filled = new URL(template.replace(TENANT_PLACEHOLDER, sample));
  } catch {
    // refused below
  }
  if (!filled || filled.href !== template.replace(TENANT_PLACEHOLDER, sample) || /[?#]/.test(template) || !filled.pathname.split('/').includes(sample) || filled.origin !== authorityOrigin) {
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
