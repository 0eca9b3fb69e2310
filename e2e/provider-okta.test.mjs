// The Okta profile (docs/providers/okta.md) against the dev OP's reproductions: a revocation
// endpoint that refuses the app's origin without CORS headers (as Okta has answered apps whose
// origin is not a Trusted Origin) does not stop the logout: the local session is cleared, the
// browser goes to the end-session endpoint as usual, the result says the refresh token was not
// revoked and why, and the OP shows that token still usable. Refresh-token rotation with reuse
// detection (Okta's default for SPAs) renews without a reuse.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { setQuirks } from './provider-support.mjs';
import { APP, OP, signInFromHome, waitForEvents } from './support.mjs';

const CLIENT_ID = 'ngx-oidc-demo';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  // No grant of an earlier test: the usable refresh tokens counted below are this test's.
  await rig.hook('/revoke-grants', { method: 'POST', body: {} });
  await rig.resetApiLog();
});

/** The recipe's scope: Okta issues a refresh token to a SPA only with offline_access. */
const recipe = { testOverride: { config: { scope: 'openid profile email offline_access', renew: { strategy: 'refresh_token' } } } };

/** How many of the client's refresh tokens the OP's token endpoint would still take (a count, never a token). */
const usableRefreshTokens = async (rig) => (await rig.hook('/refresh-tokens')).usable[CLIENT_ID] ?? 0;

const logouts = [
  ['cors-blocked', 'refused without CORS headers', { revoked: 'not revoked', error: 'network_error', usableAfter: 1 }],
  ['ok', 'working (the control case)', { revoked: 'revoked', error: null, usableAfter: 0 }],
];
for (const [mode, what, expected] of logouts) {
  test(`revocation ${mode}: with the revocation endpoint ${what}, logout clears the session and goes to end-session; refresh token ${expected.revoked}`, async ({ demoPage, rig }) => {
    await setQuirks(rig, { revocation: mode });
    const { page } = await demoPage('refresh_token', recipe);
    await signInFromHome(page);
    assert.equal(await usableRefreshTokens(rig), 1);
    await rig.resetCounters();

    await page.getByTestId('logout').click();
    await page.waitForURL((url) => url.origin === OP && url.pathname === '/session/end');
    const counters = await rig.counters();
    assert.equal(counters.revocation, 1, 'the library tried to revoke the refresh token, once');
    assert.equal(counters.endSession, 1);
    assert.equal(await usableRefreshTokens(rig), expected.usableAfter, 'what the OP still takes');

    await page.locator('button[name="logout"][value="yes"]').click();
    await page.waitForURL((url) => url.origin === APP);
    await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
    assert.equal(await page.getByTestId('last-logout-outcome').textContent(), 'redirected');
    assert.equal(await page.getByTestId('last-logout-revoked').textContent(), expected.revoked);
    if (expected.error) assert.equal(await page.getByTestId('last-logout-error').textContent(), expected.error);
    else assert.equal(await page.getByTestId('last-logout-error').count(), 0);
    const left = await page.evaluate(() => [...Object.keys(sessionStorage), ...Object.keys(localStorage)].filter((name) => name.endsWith(':session')));
    assert.deepEqual(left, [], 'no session is left in storage');
  });
}

test('rotation with reuse detection: renewals present each rotated refresh token once, the API answers 200', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token', recipe);
  await signInFromHome(page);
  await rig.resetCounters();
  for (let renewal = 1; renewal <= 2; renewal++) {
    await page.getByTestId('renew').click();
    await waitForEvents(page, 'token_renewed', renewal, 30_000);
  }
  const counters = await rig.counters();
  assert.equal(counters.tokenRefresh, 2);
  assert.equal(counters.tokenRefreshFailed, 0);
  assert.equal(counters.refreshTokenReuse, 0, 'no rotated-out token came back');
  assert.equal(await usableRefreshTokens(rig), 1, 'only the newest refresh token is usable');
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
  assert.deepEqual((await rig.apiLog()).map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]]);
});
