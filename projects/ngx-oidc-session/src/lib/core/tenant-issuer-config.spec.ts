import { AuthError } from './errors';
import { AuthConfig, resolveAuthConfig } from './config';

const APP = 'https://app.example.com';
const TENANT_A = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const base: AuthConfig = {
  authority: 'https://login.example.com/organizations/v2.0',
  clientId: 'spa',
  tenantIssuer: { template: 'https://login.example.com/{tenantid}/v2.0', allowedTenants: [TENANT_A] },
};

function tenantRejection(tenantIssuer: unknown, authority = base.authority): AuthError {
  try {
    resolveAuthConfig({ ...base, authority, tenantIssuer } as AuthConfig, APP);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('config_invalid');
    return error as AuthError;
  }
  throw new Error('expected the config to be rejected');
}

describe('resolveAuthConfig: tenantIssuer', () => {
  it('keeps a valid template and allow-list, and leaves the storage namespace to the authority', () => {
    const config = resolveAuthConfig(base, APP);
    expect(config.tenantIssuer).toEqual({ template: 'https://login.example.com/{tenantid}/v2.0', allowedTenants: [TENANT_A] });
    expect(config.storageNamespace).toBe('ngx-oidc-session:spa@https://login.example.com/organizations/v2.0');
  });

  it('is absent from the resolved config when not configured', () => {
    expect('tenantIssuer' in resolveAuthConfig({ authority: 'https://op.example.com', clientId: 'spa' }, APP)).toBeFalse();
  });

  it('takes a loopback http template, like the authority', () => {
    const config = resolveAuthConfig({ ...base, authority: 'http://localhost:4400/organizations/v2.0', tenantIssuer: { template: 'http://localhost:4400/{tenantid}/v2.0' } }, APP);
    expect(config.tenantIssuer?.template).toBe('http://localhost:4400/{tenantid}/v2.0');
    expect(config.tenantIssuer?.allowedTenants).toBeNull();
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
    resolveAuthConfig(base, APP);
    expect(warn).not.toHaveBeenCalled();
    resolveAuthConfig({ ...base, tenantIssuer: { template: 'https://login.example.com/{tenantid}/v2.0' } }, APP);
    expect(warn).toHaveBeenCalledOnceWith(jasmine.stringMatching(/allowedTenants/));
  });
});
