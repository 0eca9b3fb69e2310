// config.tenantIssuer (Microsoft Entra ID multi-tenant): the checks that bind each ID token and
// authorization response to the tenant it names. Part of the lazy protocol chunk.
//
// Why not oauth4webapi's `_expectedIssuer` / `_nodiscoverycheck`: they are exported with a
// leading underscore, outside its public contract. The same result comes from public calls:
// discovery is checked by processDiscoveryResponse against the template's URL form and then,
// here, as a raw string; each ID token is processed with an AuthorizationServer object whose
// `issuer` is the concrete issuer of the tenant the token names, so oauth4webapi's own exact
// `iss` check (and every other check) runs unchanged; the tid is checked again on the
// validated, signature-checked claims.
import type { AuthorizationServer } from 'oauth4webapi';
import { ResolvedTenantIssuer, TENANT_ID, TENANT_PLACEHOLDER } from '../core/config';
import { AuthError } from '../core/errors';
import { IdTokenClaims } from '../core/session';

/** The issuer of one tenant: the template with its tenant id in place of `{tenantid}`. */
export function issuerOfTenant(tenant: ResolvedTenantIssuer, tid: string): string {
  return tenant.template.replace(TENANT_PLACEHOLDER, tid);
}

/** The tenant id an issuer names, when it is the template filled with a tenant id; else null. */
export function tenantOfIssuer(tenant: ResolvedTenantIssuer, issuer: string): string | null {
  const [prefix, suffix] = tenant.template.split(TENANT_PLACEHOLDER);
  if (!issuer.startsWith(prefix) || !issuer.endsWith(suffix)) return null;
  const tid = issuer.slice(prefix.length, issuer.length - suffix.length);
  return TENANT_ID.test(tid) && issuerOfTenant(tenant, tid) === issuer ? tid : null;
}

function notAllowed(): AuthError {
  return new AuthError('tenant_not_allowed', ngDevMode ? 'The sign-in came from a tenant that is not in config.tenantIssuer.allowedTenants.' : '');
}

/**
 * The discovered issuer must be the template byte for byte (OIDC Discovery 4.3: identical to the
 * issuer the client expects); oauth4webapi compared it after URL normalisation only, which
 * percent-encodes the braces.
 */
export function checkDiscoveredTemplate(tenant: ResolvedTenantIssuer, issuer: string): void {
  if (issuer !== tenant.template) {
    throw new AuthError('issuer_mismatch', ngDevMode ? `The OP's discovery document names the issuer "${issuer}", not config.tenantIssuer.template "${tenant.template}": copy it verbatim.` : '');
  }
}

/**
 * RFC 9207 2.4: a present `iss` must be the issuer of an allowed tenant (checked before the code
 * is redeemed); returns the metadata oauth4webapi checks the response with (that issuer), or the
 * discovered one when `iss` is absent, so that an OP advertising
 * authorization_response_iss_parameter_supported still gets a missing `iss` refused.
 */
export function authorizationResponseServer(tenant: ResolvedTenantIssuer, as: AuthorizationServer, iss: string | null): AuthorizationServer {
  if (iss === null) return as;
  const tid = tenantOfIssuer(tenant, iss);
  if (tid === null) {
    throw new AuthError('iss_mismatch', ngDevMode ? `The authorization response's "iss" is not an issuer of config.tenantIssuer.template (RFC 9207).` : '');
  }
  if (tenant.allowedTenants && !tenant.allowedTenants.includes(tid)) throw notAllowed();
  return { ...as, issuer: iss };
}

/**
 * The metadata to process a token response with: its `issuer` the concrete issuer of the tenant
 * the response's ID token names. The claims are read here without any check, only to choose
 * the issuer oauth4webapi then requires `iss` to equal exactly; nothing read here is trusted
 * (checkTenantClaims runs again on the validated claims, after the signature check). A
 * response that is not JSON or has no readable ID token is left to oauth4webapi to refuse.
 */
export async function tokenResponseServer(tenant: ResolvedTenantIssuer, as: AuthorizationServer, response: Response): Promise<AuthorizationServer> {
  let tid: unknown;
  try {
    const body = (await response.clone().json()) as { id_token?: unknown };
    if (typeof body?.id_token !== 'string') return as;
    const payload = body.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    tid = (JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (char) => char.charCodeAt(0)))) as { tid?: unknown }).tid;
  } catch {
    return as;
  }
  if (typeof tid !== 'string' || !TENANT_ID.test(tid)) throw malformedTid();
  return { ...as, issuer: issuerOfTenant(tenant, tid) };
}

function malformedTid(): AuthError {
  return new AuthError('id_token_invalid', ngDevMode ? 'The ID token has no "tid" claim that is a tenant id (a lower-case GUID), which config.tenantIssuer requires.' : '');
}

/**
 * On the validated, signature-checked claims: `tid` a lower-case GUID, `iss` exactly the
 * template filled with it, and `tid` allowed. `expectedIssuer`, when the authorization response
 * carried `iss` (RFC 9207), must be the ID token's issuer too.
 */
export function checkTenantClaims(tenant: ResolvedTenantIssuer, claims: IdTokenClaims, expectedIssuer: string | null = null): void {
  const tid = claims['tid'];
  if (typeof tid !== 'string' || !TENANT_ID.test(tid)) throw malformedTid();
  if (claims.iss !== issuerOfTenant(tenant, tid)) {
    throw new AuthError('id_token_invalid', ngDevMode ? 'The ID token\'s "iss" is not config.tenantIssuer.template filled with its "tid".' : '');
  }
  if (tenant.allowedTenants && !tenant.allowedTenants.includes(tid)) throw notAllowed();
  if (expectedIssuer !== null && claims.iss !== expectedIssuer) {
    throw new AuthError('iss_mismatch', ngDevMode ? 'The ID token was issued by another tenant than the authorization response\'s "iss" names (RFC 9207).' : '');
  }
}
