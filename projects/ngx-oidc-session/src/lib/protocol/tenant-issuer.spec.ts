import { TestBed } from '@angular/core/testing';
import { AuthErrorCode } from '../core/errors';
import { resolveTenantIssuer } from '../core/provider-options';
import { AuthHarness } from '../../testing/harness';
import { asProductionBuild } from '../../testing/production-build';
import { SessionStore } from '../state/session-store';

// config.tenantIssuer against the fake OP dressed as Entra ID's /organizations authority: its
// discovery names the template, its ID tokens the tenant's concrete issuer and tid.
const TENANT_A = '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const TENANT_B = '9e8d7c6b-5a49-4382-9170-fedcba987654';
const ORIGIN = 'https://op.example.com';
const AUTHORITY = `${ORIGIN}/organizations/v2.0`;
const TEMPLATE = `${ORIGIN}/{tenantid}/v2.0`;
const DISCOVERY = '/organizations/v2.0/.well-known/openid-configuration';
const issuerOf = (tid: string) => `${ORIGIN}/${tid}/v2.0`;

/** A harness whose OP serves a templated discovery at the authority and tenant A's tokens. */
async function entra(tenantIssuer: { template: string; allowedTenants?: string[] } | null = { template: TEMPLATE, allowedTenants: [TENANT_A] }, discoveredIssuer = TEMPLATE) {
  const harness = await AuthHarness.create({ authority: AUTHORITY, ...(tenantIssuer ? { tenantIssuer } : {}) });
  harness.op.handlers[DISCOVERY] = () => harness.op.json({ ...harness.op.metadata, issuer: discoveredIssuer });
  // A name beyond ASCII: the tid is read from the token before its checks, the claims after.
  harness.op.idTokenOverrides = { iss: issuerOf(TENANT_A), tid: TENANT_A, name: 'Zoë Brontë 山田' };
  return harness;
}

/** Starts a sign-in, sets the OP's next ID token claims, and comes back with `iss` (RFC 9207) as given. */
async function signIn(harness: AuthHarness, idToken: Record<string, unknown> = {}, iss: string | null = issuerOf(TENANT_A)) {
  await harness.load();
  const authorize = await harness.startLogin();
  harness.op.idTokenOverrides = { ...harness.op.idTokenOverrides, ...idToken };
  return harness.load(harness.callbackUrl(authorize, { iss }));
}

function expectRefused(harness: AuthHarness, code: AuthErrorCode) {
  expect(harness.auth.state().status).toBe('unauthenticated');
  expect(harness.auth.state().error?.code).toBe(code);
  expect(harness.storage.getItem(`ngx-oidc-session:spa@${AUTHORITY}:session`)).toBeNull();
}

const codeGrants = (harness: AuthHarness) => harness.op.requestsTo('/token').filter((request) => String(request.body).includes('grant_type=authorization_code')).length;

describe('tenantIssuer (Entra ID multi-tenant issuer)', () => {
  it('signs in with a token of an allowed tenant, renews it, and restores the session with the cached discovery', async () => {
    const harness = await entra();
    await signIn(harness);
    expect(harness.auth.state().status).toBe('authenticated');
    expect(harness.auth.state().user?.['tid']).toBe(TENANT_A);
    expect(harness.auth.state().user?.name).toBe('Zoë Brontë 山田');
    expect((await harness.runNextTimer()).type).toBe('token_renewed');
    expect(harness.auth.state().status).toBe('authenticated');
    await harness.load();
    expect(harness.auth.state().status).toBe('authenticated');
    expect((await harness.runNextTimer()).type).toBe('token_renewed');
    // The stored discovery (issuer: the template) was taken on the reload, not fetched again.
    expect(harness.op.requestsTo(DISCOVERY).length).toBe(1);
  });

  it('accepts any tenant without allowedTenants (a truly multi-tenant app)', async () => {
    const harness = await entra({ template: TEMPLATE });
    await signIn(harness, { iss: issuerOf(TENANT_B), tid: TENANT_B }, issuerOf(TENANT_B));
    expect(harness.auth.state().status).toBe('authenticated');
  });

  describe('discovery', () => {
    it('refuses a discovered issuer that equals the template only after URL normalisation (percent-encoded braces)', async () => {
      const harness = await entra(undefined, `${ORIGIN}/%7Btenantid%7D/v2.0`);
      await harness.load();
      await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'issuer_mismatch' }));
    });

    it('refuses a templated discovery issuer without tenantIssuer, with a message that names the option', async () => {
      const harness = await entra(null);
      await harness.load();
      await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'issuer_mismatch', message: jasmine.stringMatching(/tenantIssuer/) }));
    });

    it('says when the issuer differs from the authority by a trailing slash only', async () => {
      const harness = await AuthHarness.create({ authority: `${ORIGIN}/realms/main` });
      harness.op.handlers['/realms/main/.well-known/openid-configuration'] = () => harness.op.json({ ...harness.op.metadata, issuer: `${ORIGIN}/realms/main/` });
      await harness.load();
      await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'issuer_mismatch', message: jasmine.stringMatching(/trailing slash/) }));
    });

    it('says when the issuer names another host than the authority (a proxy, 127.0.0.1 for localhost)', async () => {
      const harness = await AuthHarness.create();
      harness.op.metadata['issuer'] = 'https://internal.example.com';
      await harness.load();
      await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'issuer_mismatch', message: jasmine.stringMatching(/hosts differ/) }));
    });
  });

  describe('ID token', () => {
    const refused: [string, Record<string, unknown>, AuthErrorCode][] = [
      ['the tid of another tenant with the issuer of A', { tid: TENANT_B }, 'id_token_invalid'],
      ['no tid', { tid: undefined }, 'id_token_invalid'],
      ['tid "common", with the template filled with it', { tid: 'common', iss: issuerOf('common') }, 'id_token_invalid'],
      ['an upper-case tid, with the template filled with it', { tid: TENANT_A.toUpperCase(), iss: issuerOf(TENANT_A.toUpperCase()) }, 'id_token_invalid'],
      ['a tid that is not a string', { tid: 42 }, 'id_token_invalid'],
      ['the issuer of A on another host', { iss: `https://evil.example.com/${TENANT_A}/v2.0` }, 'id_token_invalid'],
      ['the template itself as issuer', { iss: TEMPLATE }, 'id_token_invalid'],
    ];
    for (const [what, claims, code] of refused) {
      it(`refuses ${what} (${code}), storing nothing`, async () => {
        const harness = await entra();
        await signIn(harness, claims);
        expectRefused(harness, code);
      });
    }

    it('refuses the issuer and tid of a tenant outside allowedTenants (tenant_not_allowed)', async () => {
      const harness = await entra();
      // An OP that sends no iss in the response: the ID token is the only place the tenant shows.
      harness.op.metadata['authorization_response_iss_parameter_supported'] = false;
      await signIn(harness, { iss: issuerOf(TENANT_B), tid: TENANT_B }, null);
      expectRefused(harness, 'tenant_not_allowed');
    });

    it('still checks the signature: a token of an allowed tenant signed with an unpublished key is refused', async () => {
      const harness = await entra();
      await harness.op.addKey('RS256', 'attacker');
      harness.op.publishedKids = ['rs-1'];
      harness.op.signingKid = 'attacker';
      await signIn(harness);
      expectRefused(harness, 'id_token_invalid');
    });

    it('still checks the nonce', async () => {
      const harness = await entra();
      await signIn(harness, { nonce: 'replayed' });
      expectRefused(harness, 'id_token_invalid');
    });
  });

  describe('authorization response iss (RFC 9207)', () => {
    it('refuses the issuer of a tenant outside allowedTenants before the code is redeemed', async () => {
      const harness = await entra();
      await signIn(harness, {}, issuerOf(TENANT_B));
      expectRefused(harness, 'tenant_not_allowed');
      expect(codeGrants(harness)).toBe(0);
    });

    for (const [what, iss] of [
      ['the template itself', TEMPLATE],
      ['an issuer with a tenant name', issuerOf('organizations')],
      ['the issuer of another OP', 'https://evil.example.com'],
    ]) {
      it(`refuses ${what} as iss before the code is redeemed (iss_mismatch)`, async () => {
        const harness = await entra();
        await signIn(harness, {}, iss);
        expectRefused(harness, 'iss_mismatch');
        expect(codeGrants(harness)).toBe(0);
      });
    }

    it('refuses a missing iss when discovery advertises authorization_response_iss_parameter_supported', async () => {
      const harness = await entra();
      await signIn(harness, {}, null);
      expectRefused(harness, 'iss_mismatch');
      expect(codeGrants(harness)).toBe(0);
    });

    it('accepts a missing iss from an OP that does not advertise it', async () => {
      const harness = await entra();
      harness.op.metadata['authorization_response_iss_parameter_supported'] = false;
      await signIn(harness, {}, null);
      expect(harness.auth.state().status).toBe('authenticated');
    });

    it("refuses an ID token of another tenant than the response's iss names", async () => {
      const harness = await entra({ template: TEMPLATE, allowedTenants: [TENANT_A, TENANT_B] });
      await signIn(harness, {}, issuerOf(TENANT_B));
      expectRefused(harness, 'iss_mismatch');
    });
  });

  describe('refresh', () => {
    it("ends the session when the refreshed ID token names another tenant (OIDC Core 12.2's same iss)", async () => {
      const harness = await entra({ template: TEMPLATE, allowedTenants: [TENANT_A, TENANT_B] });
      await signIn(harness);
      harness.op.idTokenOverrides = { iss: issuerOf(TENANT_B), tid: TENANT_B };
      const outcome = await harness.runNextTimer();
      expect(outcome.type === 'renew_failed' && outcome.error.code).toBe('id_token_invalid');
      expectRefused(harness, 'id_token_invalid');
    });

    it('ends the session when the refreshed ID token names a tenant outside allowedTenants', async () => {
      const harness = await entra();
      await signIn(harness);
      harness.op.idTokenOverrides = { iss: issuerOf(TENANT_B), tid: TENANT_B };
      await harness.runNextTimer();
      expectRefused(harness, 'tenant_not_allowed');
    });

    it('ends the session when the refreshed ID token has a malformed tid', async () => {
      const harness = await entra();
      await signIn(harness);
      harness.op.idTokenOverrides = { iss: issuerOf(TENANT_A), tid: TENANT_A.toUpperCase() };
      await harness.runNextTimer();
      expectRefused(harness, 'id_token_invalid');
    });

    // Refused before any signature or claims check: while choosing the tenant's issuer
    // (tokenServer) or in oauth4webapi's exact iss check. The OP rotated all the same.
    for (const [what, claims] of [
      ['the tid of tenant B with the issuer of A', { iss: issuerOf(TENANT_A), tid: TENANT_B }],
      ['an upper-case tid', { iss: issuerOf(TENANT_A), tid: TENANT_A.toUpperCase() }],
    ] as const) {
      it(`revokes the rotated refresh token of a refreshed ID token with ${what}`, async () => {
        const harness = await entra({ template: TEMPLATE, allowedTenants: [TENANT_A, TENANT_B] });
        await signIn(harness);
        harness.op.idTokenOverrides = claims;
        await harness.runNextTimer();
        expectRefused(harness, 'id_token_invalid');
        expect(await harness.revokedTokens()).toEqual(['rt-2']);
      });
    }
  });

  it('revokes the refresh token the OP issued to a user of a tenant outside allowedTenants', async () => {
    const harness = await entra();
    harness.op.metadata['authorization_response_iss_parameter_supported'] = false;
    await signIn(harness, { iss: issuerOf(TENANT_B), tid: TENANT_B }, null);
    expectRefused(harness, 'tenant_not_allowed');
    expect(await harness.revokedTokens()).toEqual(['rt-1']);
  });
});

describe('tenantIssuer.allowedTenants and sessions signed in before it changed (a deploy that drops a tenant)', () => {
  const sessionKey = `ngx-oidc-session:spa@${AUTHORITY}:session`;
  const tokenRequests = (harness: AuthHarness) => harness.op.requestsTo('/token').length;
  const allow = (harness: AuthHarness, allowedTenants: string[]) => Object.assign(harness.config, { tenantIssuer: { template: TEMPLATE, allowedTenants } });

  it('does not restore a stored session of a tenant no longer allowed, and asks the OP nothing', async () => {
    const harness = await entra();
    await signIn(harness);
    expect(harness.auth.state().status).toBe('authenticated');
    const requests = tokenRequests(harness);
    allow(harness, [TENANT_B]);
    await harness.load();
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(sessionKey)).toBeNull();
    expect(tokenRequests(harness)).toBe(requests);
  });

  it('restores a stored session of a tenant still allowed', async () => {
    const harness = await entra();
    await signIn(harness);
    allow(harness, [TENANT_B, TENANT_A]);
    await harness.load();
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it("takes no other tab's session (broadcast, handover) of a tenant not allowed: SessionStore.fits() refuses it", async () => {
    const harness = await entra();
    await signIn(harness);
    const store = TestBed.inject(SessionStore);
    const mine = store.session()!;
    expect(store.fits(mine)).toBe(true);
    expect(store.fits({ ...mine, idTokenClaims: { ...mine.idTokenClaims, iss: issuerOf(TENANT_B), tid: TENANT_B } })).toBe(false);
    expect(store.fits({ ...mine, idTokenClaims: { ...mine.idTokenClaims, tid: undefined } })).toBe(false);
  });
});

describe('tenantIssuer checked in the protocol chunk', () => {
  const BAD_TEMPLATES: [string, { template: string; allowedTenants?: string[] }, string][] = [
    ['a template on another origin', { template: 'https://evil.example.com/{tenantid}/v2.0', allowedTenants: [TENANT_A] }, 'tenantIssuer.template'],
    ['a template without the placeholder', { template: `${ORIGIN}/common/v2.0` }, 'tenantIssuer.template'],
    // Each passed the first check (some path segment equals the sample tenant id once filled).
    ['a template with the sample tenant id and no placeholder', { template: `${ORIGIN}/00000000-0000-0000-0000-000000000000/v2.0` }, 'tenantIssuer.template'],
    ['a template with the placeholder in the userinfo', { template: 'https://{tenantid}@op.example.com/00000000-0000-0000-0000-000000000000/v2.0' }, 'tenantIssuer.template'],
    ['a template with the placeholder inside a segment', { template: `${ORIGIN}/x{tenantid}/00000000-0000-0000-0000-000000000000/v2.0` }, 'tenantIssuer.template'],
    ['a template with the placeholder twice', { template: `${ORIGIN}/{tenantid}/{tenantid}/v2.0` }, 'tenantIssuer.template'],
  ];

  it('takes a template with the placeholder once as a whole path segment, anywhere in the path', () => {
    for (const template of [TEMPLATE, `${ORIGIN}/{tenantid}`, `${ORIGIN}/tenants/{tenantid}/`]) {
      expect(resolveTenantIssuer({ template }, AUTHORITY)).withContext(template).toEqual({ template, allowedTenants: null });
    }
  });

  it('a logout under a template refused in production is local and says config_invalid, not a refused endpoint', async () => {
    const harness = await entra();
    await signIn(harness);
    const global = globalThis as unknown as { ngDevMode: unknown };
    const saved = global.ngDevMode;
    // The next deploy, production build, same storage: a template with the placeholder twice.
    (harness.config as { tenantIssuer: unknown }).tenantIssuer = { template: `${ORIGIN}/{tenantid}/{tenantid}/v2.0` };
    global.ngDevMode = false;
    try {
      await harness.load();
      expect(harness.auth.state().status).toBe('authenticated');
      const navigations = harness.browser.navigations.length;
      const result = await harness.auth.logout();
      expect(result).toEqual({
        outcome: 'local',
        reason: 'config_invalid',
        refreshTokenRevoked: jasmine.any(Boolean),
        error: jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'tenantIssuer.template' } }),
      });
      expect(harness.browser.navigations.length).toBe(navigations);
    } finally {
      global.ngDevMode = saved;
    }
  });

  it('dev mode refuses a bad template at start, with its message, before anything goes to the OP', async () => {
    const harness = await entra({ template: 'https://evil.example.com/{tenantid}/v2.0', allowedTenants: [TENANT_A] });
    await expectAsync(harness.load()).toBeRejectedWith(
      jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'tenantIssuer.template' }, message: jasmine.stringContaining('on the origin of config.authority') }),
    );
    expect(harness.op.requests).toEqual([]);
  });

  describe('in a production build (ngDevMode false)', () => {
    asProductionBuild();

    for (const [what, tenantIssuer, key] of BAD_TEMPLATES) {
      it(`starts with ${what}, and refuses it before the first discovery: config_invalid naming ${key}, nothing sent to the OP`, async () => {
        const harness = await entra(tenantIssuer);
        const warn = spyOn(console, 'warn');
        await harness.load();
        expect(warn).not.toHaveBeenCalled(); // the dev-mode advice is not in production builds
        expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: null }));
        await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: key }, message: 'ngx-oidc-session: config_invalid' }));
        // Again on the next try: a refused template is never taken.
        await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
        expect(harness.op.requests).toEqual([]);
        expect(harness.browser.navigations).toEqual([]);
      });
    }

    it('signs in with a valid template as in dev mode', async () => {
      const harness = await entra();
      await signIn(harness);
      expect(harness.auth.state().status).toBe('authenticated');
    });

    it('checks before a cached discovery is taken: a stored session with an allow-list that is not a list ends at its renewal, no token request sent', async () => {
      const harness = await entra();
      await signIn(harness);
      const grants = harness.op.requestsTo('/token').length;
      // The next deploy, same authority and client (same storage), allowedTenants a string.
      (harness.config as { tenantIssuer: unknown }).tenantIssuer = { template: TEMPLATE, allowedTenants: TENANT_A };
      await harness.load();
      // Restored from storage without the protocol chunk, as any stored session is.
      expect(harness.auth.state().status).toBe('authenticated');
      const outcome = await harness.runNextTimer();
      expect(outcome).toEqual(jasmine.objectContaining({ error: jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'tenantIssuer.allowedTenants' } }) }));
      expect(harness.auth.state().status).toBe('unauthenticated');
      expect(harness.op.requestsTo('/token').length).toBe(grants);
    });
  });
});
