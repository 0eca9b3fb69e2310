// The Keycloak profile (docs/providers/keycloak.md) against the dev OP's reproductions of its
// quirks: refreshed ID tokens with the original nonce (Keycloak up to 24, and oidc-provider) or
// without one (Keycloak 25 and later) are taken; one with another nonce or another auth_time is
// refused (OIDC Core 12.2), never silently accepted. An authority spelled with another host
// than the OP's issuer (Keycloak behind a proxy, or its hostname set wrong) is refused at
// discovery, before anything reaches the token endpoint.
import assert from 'node:assert/strict';
import { expect } from '@playwright/test';
import { test } from './fixtures.mjs';
import { setQuirks } from './provider-support.mjs';
import { APP, PORTS, eventCount, signInFromHome, waitForEvents } from './support.mjs';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  // No grant of an earlier test: the usable refresh tokens counted below are this test's.
  await rig.hook('/revoke-grants', { method: 'POST', body: {} });
  await rig.resetApiLog();
});

/**
 * The recipe's renewal, as docs/providers/keycloak.md writes it (the demo's authority and client
 * stand for the realm's). `max_age` only for the auth_time case: oidc-provider puts auth_time in
 * an ID token when it is asked for, Keycloak always does.
 */
const recipe = (authorizeParams = {}) => ({ testOverride: { config: { scope: 'openid profile email', renew: { strategy: 'refresh_token' }, authorizeParams } } });


/** The claims of the ID token the demo's session holds (read in the test only, never logged). */
async function storedIdTokenClaims(page) {
  const idToken = await page.evaluate(() => {
    const key = Object.keys(sessionStorage).find((name) => name.startsWith('ngx-oidc-session:ngx-oidc-demo@') && name.endsWith(':session'));
    return key ? JSON.parse(sessionStorage.getItem(key)).session.idToken : null;
  });
  assert.ok(idToken, 'the session holds an ID token');
  return JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString());
}

async function callApi(page, status) {
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: String(status) }).waitFor();
}

const taken = [
  ['repeat-nonce', 'the original nonce again (Keycloak up to 24, oidc-provider)', (claims, original) => assert.equal(claims.nonce, original.nonce)],
  ['omit-nonce', 'no nonce (Keycloak 25 and later)', (claims) => assert.equal('nonce' in claims, false)],
];
for (const [mode, what, check] of taken) {
  test(`refreshIdToken ${mode}: refreshed ID tokens with ${what} are taken, renewals succeed, the API answers 200`, async ({ demoPage, rig }) => {
    await setQuirks(rig, { refreshIdToken: mode });
    const { page } = await demoPage('refresh_token', recipe());
    await signInFromHome(page);
    const original = await storedIdTokenClaims(page);
    await rig.resetCounters();

    for (let renewal = 1; renewal <= 2; renewal++) {
      await page.getByTestId('renew').click();
      await waitForEvents(page, 'token_renewed', renewal, 30_000);
    }
    const refreshed = await storedIdTokenClaims(page);
    check(refreshed, original);
    assert.ok(refreshed.iat >= original.iat, 'the session holds the refreshed ID token');
    assert.equal(refreshed.sub, original.sub);
    const counters = await rig.counters();
    assert.equal(counters.tokenRefresh, 2);
    assert.equal(counters.tokenRefreshFailed, 0);
    assert.equal(await eventCount(page, 'renew_failed'), 0);
    await callApi(page, 200);
    assert.deepEqual((await rig.apiLog()).map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]]);
    assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
  });
}

const refused = [
  ['other-nonce', 'another nonce'],
  ['other-auth_time', 'another auth_time'],
];
for (const [mode, what] of refused) {
  test(`refreshIdToken ${mode}: a refreshed ID token with ${what} is refused (id_token_invalid), the session ends, no token is used`, async ({ demoPage, rig }) => {
    await setQuirks(rig, { refreshIdToken: mode });
    const { page } = await demoPage('refresh_token', recipe({ max_age: '86400' }));
    await signInFromHome(page);
    const original = await storedIdTokenClaims(page);
    assert.equal(typeof original.auth_time, 'number', 'the original ID token has the auth_time the check needs');
    await rig.resetCounters();

    await page.getByTestId('renew').click();
    await waitForEvents(page, 'session_expired', 1, 30_000);
    await page.getByTestId('error').filter({ hasText: 'id_token_invalid' }).waitFor();
    assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
    assert.equal(await eventCount(page, 'token_renewed'), 0, 'never taken');
    assert.equal(await eventCount(page, 'renew_failed'), 1, 'refused once, as a permanent failure, not retried');
    assert.equal((await rig.counters()).tokenRefresh, 1);
    // The refused response's new refresh token is revoked, not left valid at the OP (the one
    // presented was spent by the rotation): the OP takes none of this sign-in's any more.
    await expect.poll(async () => (await rig.counters()).revocation).toBe(1);
    assert.deepEqual((await rig.hook('/refresh-tokens')).usable, {});
    const stored = await page.evaluate(() => Object.keys(sessionStorage).filter((name) => name.endsWith(':session')));
    assert.deepEqual(stored, [], 'no session is left in storage');
    // The API gets no token from the refused response, nor the old one.
    await callApi(page, 401);
    assert.deepEqual((await rig.apiLog()).map((entry) => [entry.status, entry.hadAuthorization]), [[401, false]]);
  });
}

test('an authority spelled with another host than the issuer (127.0.0.1 for localhost: Keycloak behind a proxy) is refused: issuer_mismatch, nothing reaches the token endpoint', async ({ demoPage, rig }) => {
  const authority = `http://127.0.0.1:${PORTS.op}`;
  const { page } = await demoPage('refresh_token', { testOverride: { config: { authority } } });
  const opRequests = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.port === String(PORTS.op)) opRequests.push(`${url.hostname}${url.pathname}`);
  });
  await rig.resetCounters();
  await page.goto(APP);
  await page.getByTestId('login').click();
  await page.getByTestId('error').filter({ hasText: 'issuer_mismatch' }).waitFor();
  assert.equal(new URL(page.url()).origin, APP, 'the browser never left for the OP');
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  assert.deepEqual(opRequests, ['127.0.0.1/.well-known/openid-configuration'], 'only the discovery document was fetched');
  const counters = await rig.counters();
  assert.deepEqual([counters.discovery, counters.authorize, counters.par, counters.tokenAuthorizationCode], [1, 0, 0, 0]);
});
