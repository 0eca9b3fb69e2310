// Provider profile: Microsoft Entra ID (issue 18), the recipes of docs/providers/entra-id.md
// against the dev OP's reproduction of Entra's quirks (tools/dev-op, quirk `issuer:
// 'tenant-template'`, `revocation: 'absent'`, `spaRefreshLifetime`): single tenant (no
// revocation endpoint, a refresh token life that rotation does not extend) and multi-tenant
// (config.tenantIssuer against a templated discovery issuer, with each tamper Entra's tokens
// could suffer refused). The demo runs the recipe's config through its test override.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, OP, PORTS, signInAtOp, signInFromHome, waitForEvents } from './support.mjs';
import { setQuirks } from './provider-support.mjs';
import { ENTRA_TENANTS } from '../tools/dev-op/test-hooks.mjs';

const TENANT_A = ENTRA_TENANTS.a;
const TENANT_B = ENTRA_TENANTS.b;
const TEMPLATE = `${OP}/{tenantid}/v2.0`;

// Test by test over the workers (each test resets the OP and has its own context): the file is
// among the suite's longest.
test.describe.configure({ mode: 'parallel' });
test.beforeEach(({ rig }) => rig.hook('/reset', { method: 'POST' }));

const tenantTamper = (rig, what) => rig.hook('/tenant-tamper', { method: 'POST', body: { what } });

/** The error code the demo shows for the state's error, once it shows one. */
async function shownError(page) {
  const error = page.getByTestId('error');
  await error.waitFor();
  return error.locator('code').textContent();
}

/** Signs in, expecting the sign-in to be refused after the OP's answer: returns the error code. */
async function refusedSignIn(page, rig) {
  await page.goto(APP);
  await page.getByTestId('login').click();
  await signInAtOp(page);
  const code = await shownError(page);
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  // Nothing was stored: a reload starts signed out, without a request to the token endpoint.
  const before = await rig.counters();
  await page.reload();
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal((await rig.counters()).tokenRefresh, before.tokenRefresh);
  return code;
}

test.describe('Entra ID, single tenant: no revocation endpoint, a fixed refresh token life', () => {
  // Access tokens of 5 s renew every 4 s; the refresh token's fixed life (as Entra's 24 hours
  // for a SPA) ends after a few renewals.
  const ACCESS_TOKEN_TTL = 5;
  const REFRESH_LIFE = 12;
  test.describe.configure({ timeout: 90_000 });

  test('refreshes until the fixed life ends, then signs in again by a top-level redirect without a login form; logout revokes nothing and reports no error', async ({ demoPage, rig }) => {
    await setQuirks(rig, { issuer: 'tenant-template', revocation: 'absent', spaRefreshLifetime: REFRESH_LIFE });
    await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
    const { page, opNavigations } = await demoPage('refresh_token', {
      testOverride: {
        config: { authority: `${OP}/${TENANT_A}/v2.0`, loadUserInfo: false, renew: { strategy: 'refresh_token', signInWhenSessionEnds: true } },
      },
    });
    await signInFromHome(page);
    const signInNavigations = opNavigations.length;
    await waitForEvents(page, 'token_renewed', 1);
    // The refresh token's end: the refresh is refused, and the app goes to the OP at the top level.
    const redirect = page.waitForRequest((request) => request.isNavigationRequest() && request.frame() === page.mainFrame() && request.url().startsWith(`${OP}/auth`), {
      timeout: (REFRESH_LIFE + 2 * ACCESS_TOKEN_TTL) * 1000,
    });
    await redirect;
    await page.waitForURL((url) => url.origin === APP);
    await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
    const counters = await rig.counters();
    assert.ok(counters.tokenRefresh >= 2, `refreshes worked before the end (${counters.tokenRefresh} refresh requests)`);
    assert.equal(counters.tokenRefreshFailed, 1, 'one refresh refused: the end of the fixed life');
    assert.equal(counters.tokenAuthorizationCode, 2, 'a second code grant: the new sign-in');
    // The redirect through /auth (awaited above) commits no page of the OP: it answers 303 at once.
    assert.deepEqual(
      opNavigations.slice(signInNavigations).filter((url) => new URL(url).pathname.startsWith('/interaction/')),
      [],
      "no login or consent page: the OP's session cookie signed the user in",
    );

    await page.getByTestId('logout').click();
    await page.waitForURL((url) => url.origin === OP);
    await page.locator('button[name="logout"][value="yes"]').click();
    await page.waitForURL((url) => url.origin === APP);
    await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
    assert.equal(await page.getByTestId('last-logout-outcome').textContent(), 'redirected');
    assert.equal(await page.getByTestId('last-logout-revoked').textContent(), 'not revoked');
    assert.equal(await page.getByTestId('last-logout-error').count(), 0, 'no error: nothing was tried');
    assert.equal((await rig.counters()).revocation, 0, 'nothing was sent to a revocation endpoint');
  });
});

test.describe('Entra ID, multi-tenant: tenantIssuer', () => {
  /** The recipe: the /organizations authority, the issuer template, and the app's tenants. */
  const recipe = (allowedTenants = [TENANT_A], more = {}) => ({
    config: { authority: `${OP}/organizations/v2.0`, loadUserInfo: false, tenantIssuer: { template: TEMPLATE, allowedTenants }, ...more },
  });

  test.beforeEach(({ rig }) => setQuirks(rig, { issuer: 'tenant-template' }));

  test('signs in with a token of tenant A, refreshes, and calls the API', async ({ demoPage, rig }) => {
    const { page } = await demoPage('refresh_token', { testOverride: recipe() });
    await signInFromHome(page);
    const tid = page.getByTestId('claims').locator('tr').filter({ has: page.locator('th', { hasText: /^tid$/ }) }).locator('td');
    assert.match(await tid.textContent(), new RegExp(TENANT_A));
    await page.getByTestId('renew').click();
    await waitForEvents(page, 'token_renewed', 1);
    await rig.resetApiLog();
    await page.getByTestId('call-api').click();
    await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
    assert.deepEqual((await rig.apiLog()).map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]]);
    assert.equal((await rig.counters()).tokenRefreshFailed, 0);
    await page.reload();
    await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  });

  test('renews by hidden iframe too: the prompt=none answer of tenant A is taken', async ({ demoPage, rig }) => {
    const { page } = await demoPage('iframe', { testOverride: recipe() });
    await signInFromHome(page);
    await page.getByTestId('renew').click();
    await waitForEvents(page, 'token_renewed', 1);
    assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
    assert.equal((await rig.counters()).authorizeNone, 1);
  });

  const refused = [
    ['tid-other-tenant', 'the tid of tenant B with the issuer of A', 'id_token_invalid'],
    ['tid-common', 'tid "common" with the template filled with it', 'id_token_invalid'],
    ['tid-upper-case', "tenant A's tid in upper case, in tid and iss", 'id_token_invalid'],
    ['iss-other-host', "tenant A's issuer on another host (127.0.0.1)", 'id_token_invalid'],
    ['tenant-b', 'the issuer and tid of tenant B, outside allowedTenants', 'tenant_not_allowed'],
  ];
  for (const [what, description, code] of refused) {
    test(`refuses an ID token with ${description}: ${code}, signed out`, async ({ demoPage, rig }) => {
      const { page } = await demoPage('refresh_token', { testOverride: recipe() });
      await tenantTamper(rig, what);
      assert.equal(await refusedSignIn(page, rig), code);
      assert.equal((await rig.counters()).tokenAuthorizationCode, 1, 'the code was redeemed: the ID token was refused');
    });
  }

  test("refuses an authorization response whose iss is tenant B's (outside allowedTenants) before redeeming its code: tenant_not_allowed", async ({ demoPage, rig }) => {
    const { page } = await demoPage('refresh_token', { testOverride: recipe() });
    await tenantTamper(rig, 'response-iss-tenant-b');
    assert.equal(await refusedSignIn(page, rig), 'tenant_not_allowed');
    assert.equal((await rig.counters()).tokenAuthorizationCode, 0);
  });

  test('refuses every sign-in when allowedTenants lacks the tenant: tenant_not_allowed', async ({ demoPage, rig }) => {
    const { page } = await demoPage('refresh_token', { testOverride: recipe([TENANT_B]) });
    assert.equal(await refusedSignIn(page, rig), 'tenant_not_allowed');
  });

  test("ends the session when a refresh brings an ID token of another tenant (OIDC Core 12.2's same iss pins the tenant)", async ({ demoPage, rig }) => {
    // Both tenants allowed: only the refresh rule can refuse it.
    const { page } = await demoPage('refresh_token', { testOverride: recipe([TENANT_A, TENANT_B]) });
    await signInFromHome(page);
    await tenantTamper(rig, 'tenant-b');
    await page.getByTestId('renew').click();
    assert.equal(await shownError(page), 'id_token_invalid');
    assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
    assert.equal((await rig.counters()).tokenRefresh, 1);
  });

  test('refuses a templated discovery issuer without tenantIssuer: issuer_mismatch, before the browser leaves', async ({ demoPage }) => {
    const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { authority: `${OP}/organizations/v2.0` } } });
    await page.goto(APP);
    await page.getByTestId('login').click();
    assert.equal(await shownError(page), 'issuer_mismatch');
    assert.deepEqual(opNavigations, []);
  });
});

test.describe('issuers that are not the authority (Keycloak behind a proxy or spelled with a slash)', () => {
  for (const [what, setUp, authority] of [
    ['an issuer with a trailing slash the authority lacks', (rig) => setQuirks(rig, { issuer: 'trailing-slash' }), `${OP}/realms/dev`],
    ['an authority on another host (127.0.0.1) than the issuer (localhost)', () => undefined, `http://127.0.0.1:${PORTS.op}`],
  ]) {
    test(`refuses ${what}: issuer_mismatch, nothing sent but discovery`, async ({ demoPage, rig }) => {
      await setUp(rig);
      const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { authority } } });
      await page.goto(APP);
      await page.getByTestId('login').click();
      assert.equal(await shownError(page), 'issuer_mismatch');
      assert.deepEqual(opNavigations, []);
      const counters = await rig.counters();
      assert.deepEqual([counters.authorize, counters.par, counters.tokenAuthorizationCode], [0, 0, 0]);
    });
  }
});
