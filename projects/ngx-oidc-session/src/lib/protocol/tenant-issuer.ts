// config.tenantIssuer (Microsoft Entra ID multi-tenant): the checks that bind each ID token and
// authorization response to the tenant it names. Part of the lazy protocol chunk.
//
// (A chunk of its own, imported only when tenantIssuer is set, cost every app more: the modules
// it shares with the start-up code then form a start-up chunk of their own, which compresses
// worse, 0.4 kB gzip at start in the bench app.)
//
// Why not oauth4webapi's `_expectedIssuer` / `_nodiscoverycheck`: they are exported with a
// leading underscore, outside its public contract. The same result comes from public calls:
// discovery is checked by processDiscoveryResponse against the template's URL form and then,
// here, as a raw string; each ID token is processed with an AuthorizationServer object whose
// `issuer` is the concrete issuer of the tenant the token names, so oauth4webapi's own exact
// `iss` check (and every other check) runs unchanged; the tid is checked again on the
// validated, signature-checked claims.
import type { AuthorizationServer } from 'oauth4webapi';
import { ResolvedTenantIssuer, TENANT_PLACEHOLDER } from '../core/provider-options';
import { AuthError } from '../core/errors';
import { IdTokenClaims } from '../core/session';

/** A tenant id as tenantIssuer accepts it: a GUID, in lower case (as Entra ID writes `tid`). */
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The checks of one app's tenantIssuer. */
export class TenantIssuerChecks {
  constructor(private readonly tenant: ResolvedTenantIssuer) {}

  /** The issuer template, as checked by resolveTenantIssuer. */
  get template(): string {
    return this.tenant.template;
  }

  /** The issuer of one tenant: the template with its tenant id in place of `{tenantid}`. */
  private issuerOf(tid: string): string {
    return this.tenant.template.replace(TENANT_PLACEHOLDER, tid);
  }

  /** The tenant id an issuer names, when it is the template filled with a tenant id; else null. */
  private tenantOf(issuer: string): string | null {
    const [prefix, suffix] = this.tenant.template.split(TENANT_PLACEHOLDER);
    const tid = issuer.slice(prefix.length, issuer.length - suffix.length);
    return TENANT_ID.test(tid) && this.issuerOf(tid) === issuer ? tid : null;
  }

  /** `tenant_not_allowed` unless allowedTenants is unset or holds `tid`. */
  private checkAllowed(tid: string): void {
    if (this.tenant.allowedTenants && !this.tenant.allowedTenants.includes(tid)) {
      throw new AuthError('tenant_not_allowed', ngDevMode ? `The sign-in came from tenant ${tid}, which is not in config.tenantIssuer.allowedTenants.` : '');
    }
  }

  /**
   * The discovered issuer must be the template byte for byte (OIDC Discovery 4.3: identical to
   * the issuer the client expects); oauth4webapi compared it after URL normalisation only, which
   * percent-encodes the braces.
   */
  checkDiscovered(issuer: string): void {
    if (issuer !== this.tenant.template) {
      throw new AuthError('issuer_mismatch', ngDevMode ? `The OP's discovery document names the issuer "${issuer}", not config.tenantIssuer.template "${this.tenant.template}": copy it verbatim.` : '');
    }
  }

  /**
   * RFC 9207 2.4: a present `iss` must be the issuer of an allowed tenant (checked before the
   * code is redeemed); returns the metadata oauth4webapi checks the response with (that issuer),
   * or the discovered one when `iss` is absent, so that an OP advertising
   * authorization_response_iss_parameter_supported still gets a missing `iss` refused.
   */
  responseServer(as: AuthorizationServer, iss: string | null): AuthorizationServer {
    if (iss === null) return as;
    const tid = this.tenantOf(iss);
    if (tid === null) {
      throw new AuthError('iss_mismatch', ngDevMode ? `The authorization response's "iss" is not an issuer of config.tenantIssuer.template (RFC 9207).` : '');
    }
    this.checkAllowed(tid);
    return { ...as, issuer: iss };
  }

  /**
   * The metadata to process a token response with: its `issuer` the concrete issuer of the
   * tenant the response's ID token names. The claims are read here without any check, only to
   * choose the issuer oauth4webapi then requires `iss` to equal exactly; nothing read here is
   * trusted (checkClaims runs again on the validated claims, after the signature check).
   * oauth4webapi offers no public way to read a JWT's claims before it checks them. A response
   * that is not JSON or has no readable ID token is left to oauth4webapi to refuse.
   */
  async tokenServer(as: AuthorizationServer, response: Response): Promise<AuthorizationServer> {
    let tid: unknown;
    try {
      const body = (await response.clone().json()) as { id_token?: unknown };
      if (typeof body?.id_token !== 'string') return as;
      // Decoded as Latin-1, not UTF-8: other claims' non-ASCII text comes out garbled, still valid
      // JSON (UTF-8 has no control bytes), and a tid is ASCII.
      tid = (JSON.parse(atob(body.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { tid?: unknown }).tid;
    } catch {
      return as;
    }
    return { ...as, issuer: this.issuerOf(checkedTid(tid)) };
  }

  /**
   * On the validated, signature-checked claims: `tid` a lower-case GUID, `iss` exactly the
   * template filled with it, and `tid` allowed. `responseIssuer`, when the authorization
   * response carried `iss` (RFC 9207), must be the ID token's issuer too.
   */
  checkClaims(claims: IdTokenClaims, responseIssuer: string | null = null): void {
    const tid = checkedTid(claims['tid']);
    if (claims.iss !== this.issuerOf(tid)) {
      throw new AuthError('id_token_invalid', ngDevMode ? 'The ID token\'s "iss" is not config.tenantIssuer.template filled with its "tid".' : '');
    }
    this.checkAllowed(tid);
    if (responseIssuer !== null && claims.iss !== responseIssuer) {
      throw new AuthError('iss_mismatch', ngDevMode ? 'The ID token was issued by another tenant than the authorization response\'s "iss" names (RFC 9207).' : '');
    }
  }
}

/** The tid claim, when it is a tenant id (a lower-case GUID); `id_token_invalid` otherwise. */
function checkedTid(tid: unknown): string {
  if (typeof tid !== 'string' || !TENANT_ID.test(tid)) {
    throw new AuthError('id_token_invalid', ngDevMode ? 'The ID token has no "tid" claim that is a tenant id (a lower-case GUID), which config.tenantIssuer requires.' : '');
  }
  return tid;
}
