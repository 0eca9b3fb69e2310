import { AuthError } from './errors';
import { AuthConfig, resolveAuthConfig } from './config';
import { resolveTenantIssuer } from './provider-options';
import { asProductionBuild } from '../../testing/production-build';

const APP = 'https://app.example.com';
const base: AuthConfig = { authority: 'https://op.example.com', clientId: 'spa' };

function rejection(config: Partial<AuthConfig> | Record<string, unknown>): AuthError {
  try {
    resolveAuthConfig({ ...base, ...config } as AuthConfig, APP);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('config_invalid');
    return error as AuthError;
  }
  throw new Error('expected the config to be rejected');
}

describe('resolveAuthConfig', () => {
  it('fills sensible defaults for a minimal config', () => {
    const config = resolveAuthConfig(base, APP);
    expect(config.scope).toBe('openid profile email');
    expect(config.redirectUrl).toBe('https://app.example.com/');
    expect(config.postLogoutRedirectUrl).toBe('https://app.example.com/');
    expect(config.storage).toBe('session');
    expect(config.renew.strategy).toBe('refresh_token');
    expect(config.renew.leadTimeSeconds).toBe(60);
    expect(config.secureApis).toEqual([]);
  });

  it('requires authority and clientId, naming the key', () => {
    expect(rejection({ authority: '' }).details.configKey).toBe('authority');
    expect(rejection({ clientId: '  ' }).details.configKey).toBe('clientId');
    expect(rejection({ authority: 'op.example.com' }).message).toContain('absolute URL');
  });

  it('allows plain http only for a loopback authority', () => {
    expect(rejection({ authority: 'http://op.example.com' }).message).toContain('must use https');
    expect(resolveAuthConfig({ ...base, authority: 'http://localhost:4400' }, APP).authority).toBe('http://localhost:4400');
    expect(resolveAuthConfig({ ...base, authority: 'http://127.0.0.1:8080/realm' }, APP).authority).toBe('http://127.0.0.1:8080/realm');
  });

  it('rejects an authority with a query or fragment', () => {
    expect(rejection({ authority: 'https://op.example.com/?tenant=a' }).details.configKey).toBe('authority');
  });

  it("rejects an authority with an empty fragment: its \"#\" would reach the storage namespace, where \"#\" starts a named instance's name", () => {
    expect(rejection({ authority: 'https://op.example.com/#' }).details.configKey).toBe('authority');
    expect(rejection({ authority: 'https://op.example.com#' }).details.configKey).toBe('authority');
  });

  it('requires openid in the scope', () => {
    const error = rejection({ scope: 'profile email' });
    expect(error.details.configKey).toBe('scope');
    expect(error.message).toContain('"openid"');
    expect(resolveAuthConfig({ ...base, scope: ' openid  offline_access ' }, APP).scope).toBe('openid offline_access');
  });

  it('resolves app-relative redirect URLs and refuses protocol-relative or bare ones', () => {
    expect(resolveAuthConfig({ ...base, redirectUrl: '/auth/callback' }, APP).redirectUrl).toBe('https://app.example.com/auth/callback');
    expect(resolveAuthConfig({ ...base, redirectUrl: 'https://app.example.com/cb' }, APP).redirectUrl).toBe('https://app.example.com/cb');
    expect(rejection({ redirectUrl: '//evil.example.com/' }).details.configKey).toBe('redirectUrl');
    expect(rejection({ redirectUrl: 'callback' }).details.configKey).toBe('redirectUrl');
    expect(rejection({ redirectUrl: '/cb#x' }).message).toContain('fragment');
    expect(rejection({ postLogoutRedirectUrl: 'javascript:alert(1)' }).details.configKey).toBe('postLogoutRedirectUrl');
  });

  it('requires a silent-renew URL for iframe renewal and for the iframe fallback', () => {
    expect(rejection({ renew: { strategy: 'iframe' } }).details.configKey).toBe('renew.silentRenewUrl');
    expect(rejection({ renew: { fallbackToIframe: true } }).details.configKey).toBe('renew.silentRenewUrl');
    const ok = resolveAuthConfig({ ...base, renew: { strategy: 'iframe', silentRenewUrl: '/silent-renew.html' } }, APP);
    expect(ok.renew.silentRenewUrl).toBe('https://app.example.com/silent-renew.html');
  });

  it('keeps the silent-renew page on the app origin', () => {
    expect(rejection({ renew: { strategy: 'iframe', silentRenewUrl: 'https://cdn.example.com/silent.html' } }).message).toContain('own origin');
  });

  it('keeps the redirect and post-logout pages on the app origin, naming the fix', () => {
    const redirect = rejection({ redirectUrl: 'https://other.example.com/cb' });
    expect(redirect.details.configKey).toBe('redirectUrl');
    expect(redirect.message).toContain("must be on the app's own origin https://app.example.com");
    expect(redirect.message).toContain('app-relative path');
    expect(rejection({ postLogoutRedirectUrl: 'https://other.example.com/bye' }).details.configKey).toBe('postLogoutRedirectUrl');
    expect(rejection({ postLogoutRedirectUrl: 'https://app.example.com:8443/' }).details.configKey).toBe('postLogoutRedirectUrl');
  });

  it('refuses plain http outside loopback for app URLs and secureApis', () => {
    const api = rejection({ secureApis: ['/api', 'http://api.example.com'] });
    expect(api.details.configKey).toBe('secureApis[1]');
    expect(api.message).toContain('must use https');
    const app = () => resolveAuthConfig(base, 'http://intranet.example.com');
    expect(app).toThrowMatching((error) => error instanceof AuthError && error.details.configKey === 'redirectUrl' && error.message.includes('must use https'));
    // Loopback is fine: the dev setup.
    const local = resolveAuthConfig({ ...base, secureApis: ['http://localhost:4500/api', 'http://127.0.0.1:9/x'] }, 'http://localhost:4200');
    expect(local.redirectUrl).toBe('http://localhost:4200/');
  });

  it('refuses a silentRenewUrl equal to redirectUrl', () => {
    const error = rejection({ redirectUrl: '/callback', renew: { strategy: 'iframe', silentRenewUrl: 'https://app.example.com/callback?silent' } });
    expect(error.details.configKey).toBe('renew.silentRenewUrl');
    expect(error.message).toContain('/silent-renew.html');
    expect(rejection({ renew: { strategy: 'iframe', silentRenewUrl: '/' } }).details.configKey).toBe('renew.silentRenewUrl');
  });

  it('leaves the origin checks to the browser during server-side rendering', () => {
    const config = { ...base, redirectUrl: 'https://app.example.com/', secureApis: ['/api'], renew: { strategy: 'iframe', silentRenewUrl: 'https://app.example.com/silent-renew.html' } } as const;
    expect(() => resolveAuthConfig(config, null)).not.toThrow();
  });

  it('rejects contradictory renew settings', () => {
    expect(rejection({ renew: { strategy: 'none', fallbackToIframe: true, silentRenewUrl: '/s.html' } }).details.configKey).toBe('renew.fallbackToIframe');
    expect(rejection({ scope: 'openid offline_access', renew: { strategy: 'iframe', silentRenewUrl: '/s.html' } }).details.configKey).toBe('scope');
    expect(rejection({ renew: { strategy: 'sometimes' as never } }).details.configKey).toBe('renew.strategy');
    expect(rejection({ renew: { leadTimeSeconds: -5 } }).details.configKey).toBe('renew.leadTimeSeconds');
    expect(rejection({ renew: { leadTimeSeconds: Number.NaN } }).details.configKey).toBe('renew.leadTimeSeconds');
  });

  it('refuses extra parameters that the library sets itself', () => {
    expect(rejection({ authorizeParams: { state: 'x' } }).details.configKey).toBe('authorizeParams.state');
    expect(rejection({ authorizeParams: { code_challenge_method: 'plain' } }).details.configKey).toBe('authorizeParams.code_challenge_method');
    expect(rejection({ tokenParams: { refresh_token: 'x' } }).details.configKey).toBe('tokenParams.refresh_token');
    expect(rejection({ authorizeParams: { ui_locales: 3 as unknown as string } }).details.configKey).toBe('authorizeParams.ui_locales');
    expect(resolveAuthConfig({ ...base, authorizeParams: { ui_locales: 'de' } }, APP).authorizeParams).toEqual({ ui_locales: 'de' });
  });

  it('checks secureApis entries and the storage choice', () => {
    expect(rejection({ secureApis: ['api.example.com'] }).details.configKey).toBe('secureApis[0]');
    expect(rejection({ secureApis: 'https://api.example.com' as never }).details.configKey).toBe('secureApis');
    expect(rejection({ storage: 'cookies' as never }).details.configKey).toBe('storage');
    expect(resolveAuthConfig({ ...base, secureApis: ['/api', 'https://api.example.com/v1'] }, APP).secureApis.length).toBe(2);
  });

  it('namespaces storage by authority and client', () => {
    const a = resolveAuthConfig(base, APP).storageNamespace;
    const b = resolveAuthConfig({ ...base, clientId: 'other' }, APP).storageNamespace;
    const c = resolveAuthConfig({ ...base, authority: 'https://op2.example.com' }, APP).storageNamespace;
    expect(new Set([a, b, c]).size).toBe(3);
  });
});

describe('resolveAuthConfig in a production build (ngDevMode false)', () => {
  asProductionBuild();

  const productionRejection = (config: Partial<AuthConfig>): AuthError => {
    try {
      resolveAuthConfig({ ...base, ...config }, APP);
    } catch (error) {
      return error as AuthError;
    }
    throw new Error('expected a config_invalid error');
  };

  it('keeps the security checks, with the code, the key and a short message', () => {
    const error = productionRejection({ authority: 'http://op.example.com' });
    expect(error.code).toBe('config_invalid');
    expect(error.details.configKey).toBe('authority');
    expect(error.message).toBe('ngx-oidc-session: config_invalid');
    expect(productionRejection({ authorizeParams: { state: 'x' } }).details.configKey).toBe('authorizeParams.state');
    expect(productionRejection({ redirectUrl: '//evil.example.com/' }).details.configKey).toBe('redirectUrl');
    expect(productionRejection({ renew: { strategy: 'iframe', silentRenewUrl: 'https://evil.example.com/silent.html' } }).details.configKey).toBe('renew.silentRenewUrl');
  });

  it('refuses a mistyped pushedAuthorization in production too: it would quietly become "auto"', () => {
    for (const value of ['Always', true, 'yes']) {
      expect(productionRejection({ pushedAuthorization: value as unknown as 'always' }).details.configKey).toBe('pushedAuthorization');
    }
  });

  it('reserves the parameters that would replace or bind a pushed request (request_uri, request, dpop_jkt), in production too', () => {
    for (const name of ['request_uri', 'request', 'dpop_jkt']) {
      expect(productionRejection({ authorizeParams: { [name]: 'x' } }).details.configKey).toBe(`authorizeParams.${name}`);
    }
  });

  it('keeps the origin, https and silent-renew page checks of issue 15, with a short message', () => {
    for (const [config, key] of [
      [{ redirectUrl: 'https://evil.example.com/' }, 'redirectUrl'],
      [{ postLogoutRedirectUrl: 'https://evil.example.com/' }, 'postLogoutRedirectUrl'],
      [{ secureApis: ['http://api.example.com'] }, 'secureApis[0]'],
      [{ renew: { strategy: 'iframe', silentRenewUrl: '/' } }, 'renew.silentRenewUrl'],
    ] as const) {
      const error = productionRejection(config);
      expect(error.details.configKey).withContext(key).toBe(key);
      expect(error.message).toBe('ngx-oidc-session: config_invalid');
    }
  });

  it('keeps the checks whose mistakes would switch off token checks or stall renewals', () => {
    expect(productionRejection({ clockToleranceSeconds: 1e9 }).details.configKey).toBe('clockToleranceSeconds');
    expect(productionRejection({ renew: { strategy: 'iframes' as never } }).details.configKey).toBe('renew.strategy');
    expect(productionRejection({ renew: { iframeTimeoutSeconds: 3600 } }).details.configKey).toBe('renew.iframeTimeoutSeconds');
    expect(productionRejection({ authority: 42 as never }).code).toBe('config_invalid');
  });

  it('leaves config.logout and config.tenantIssuer to the protocol chunk: the start takes them as given, their checks refuse them there', () => {
    const tenantIssuer = { template: 'https://evil.example.com/{tenantid}/v2.0', allowedTenants: ['x'] };
    const config = resolveAuthConfig({ ...base, logout: { dialect: 'auth0' as never }, tenantIssuer }, APP);
    expect(config.logout).toEqual({ dialect: 'auth0' as never });
    expect(config.tenantIssuer).toBe(tenantIssuer);
    let error: unknown;
    try {
      resolveTenantIssuer(tenantIssuer, config.authority);
    } catch (caught) {
      error = caught;
    }
    expect(error).toEqual(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'tenantIssuer.template' }, message: 'ngx-oidc-session: config_invalid' }));
  });

  it('drops the dev-mode checks of types and enums', () => {
    // A wrong tabs value is not a security matter: production takes it as given.
    expect(() => resolveAuthConfig({ ...base, tabs: 'everywhere' as never }, APP)).not.toThrow();
  });
});

const TENANT_A = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const tenantBase: AuthConfig = {
  authority: 'https://login.example.com/organizations/v2.0',
  clientId: 'spa',
  tenantIssuer: { template: 'https://login.example.com/{tenantid}/v2.0', allowedTenants: [TENANT_A] },
};

/**
 * config_invalid for this tenantIssuer (and authority): from resolveAuthConfig's dev-mode checks,
 * or from resolveTenantIssuer, which the protocol chunk runs before the first discovery (and dev
 * mode at start, see protocol/tenant-issuer.spec.ts).
 */
function tenantRejection(tenantIssuer: unknown, authority = tenantBase.authority): AuthError {
  try {
    const config = resolveAuthConfig({ ...tenantBase, authority, tenantIssuer } as AuthConfig, APP);
    resolveTenantIssuer(config.tenantIssuer!, config.authority);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('config_invalid');
    return error as AuthError;
  }
  throw new Error(`expected tenantIssuer ${JSON.stringify(tenantIssuer)} to be refused`);
}

describe('resolveAuthConfig: tenantIssuer', () => {
  it('keeps a valid template and allow-list, and leaves the storage namespace to the authority', () => {
    const config = resolveAuthConfig(tenantBase, APP);
    expect(config.tenantIssuer).toEqual(tenantBase.tenantIssuer);
    expect(resolveTenantIssuer(config.tenantIssuer!, config.authority)).toEqual({ template: 'https://login.example.com/{tenantid}/v2.0', allowedTenants: [TENANT_A] });
    expect(config.storageNamespace).toBe('ngx-oidc-session:spa@https://login.example.com/organizations/v2.0');
  });

  it('is undefined in the resolved config when not configured', () => {
    expect(resolveAuthConfig({ authority: 'https://op.example.com', clientId: 'spa' }, APP).tenantIssuer).toBeUndefined();
  });

  it('takes a loopback http template, like the authority', () => {
    const config = resolveAuthConfig({ ...tenantBase, authority: 'http://localhost:4400/organizations/v2.0', tenantIssuer: { template: 'http://localhost:4400/{tenantid}/v2.0' } }, APP);
    expect(resolveTenantIssuer(config.tenantIssuer!, config.authority)).toEqual({ template: 'http://localhost:4400/{tenantid}/v2.0', allowedTenants: null });
  });

  const badTemplates: [string, unknown][] = [
    ['not a string', 42],
    ['no placeholder', 'https://login.example.com/common/v2.0'],
    ['the placeholder twice', 'https://login.example.com/{tenantid}/{tenantid}/v2.0'],
    ['the placeholder inside a segment', 'https://login.example.com/t-{tenantid}/v2.0'],
    ['the placeholder in the host', 'https://{tenantid}.example.com/v2.0'],
    ['a query', 'https://login.example.com/{tenantid}/v2.0?x=1'],
    ['a fragment', 'https://login.example.com/{tenantid}/v2.0#x'],
    ['another origin than the authority', 'https://evil.example.com/{tenantid}/v2.0'],
    ['another port than the authority', 'https://login.example.com:8443/{tenantid}/v2.0'],
    ['plain http outside loopback', 'http://login.example.com/{tenantid}/v2.0'],
    ['a form that is not canonical (upper-case host)', 'https://LOGIN.example.com/{tenantid}/v2.0'],
    ['a percent-encoded placeholder', 'https://login.example.com/%7Btenantid%7D/v2.0'],
  ];
  for (const [what, template] of badTemplates) {
    it(`refuses a template with ${what}, naming tenantIssuer.template`, () => {
      expect(tenantRejection({ template, allowedTenants: [TENANT_A] }).details.configKey).toBe('tenantIssuer.template');
    });
  }

  it('refuses tenantIssuer that is not an object', () => {
    expect(tenantRejection(null).details.configKey).toBe('tenantIssuer.template');
  });

  it('refuses an authority that holds the placeholder, raw or percent-encoded', () => {
    const template = { template: 'https://login.example.com/{tenantid}/v2.0' };
    expect(tenantRejection(template, 'https://login.example.com/{tenantid}/v2.0').details.configKey).toBe('authority');
    expect(tenantRejection(template, 'https://login.example.com/%7Btenantid%7D/v2.0').details.configKey).toBe('authority');
  });

  const badTenants: [string, unknown][] = [
    ['an empty list', []],
    ['not a list', TENANT_A],
    ['an upper-case GUID', [TENANT_A.toUpperCase()]],
    ['a GUID in braces', [`{${TENANT_A}}`]],
    ['a tenant name', ['common']],
    ['a domain', ['contoso.onmicrosoft.com']],
    ['a number', [42]],
  ];
  for (const [what, allowedTenants] of badTenants) {
    it(`refuses allowedTenants with ${what}`, () => {
      expect(tenantRejection({ template: 'https://login.example.com/{tenantid}/v2.0', allowedTenants }).details.configKey).toBe('tenantIssuer.allowedTenants');
    });
  }

  it('warns in dev mode when any tenant may sign in, and not when an allow-list is set', () => {
    const warn = spyOn(console, 'warn');
    resolveAuthConfig(tenantBase, APP);
    expect(warn).not.toHaveBeenCalled();
    resolveAuthConfig({ ...tenantBase, tenantIssuer: { template: 'https://login.example.com/{tenantid}/v2.0' } }, APP);
    expect(warn).toHaveBeenCalledOnceWith(jasmine.stringMatching(/allowedTenants/));
  });
});
