// Auth0 profile (docs/providers/auth0.md) against the dev OP's reproduction of its quirks:
// `audience: 'auth0'` (an access token for the API only when the authorization request names
// it in `audience`, else an opaque one the Auth0-style API refuses) and `endSession: 'auth0-v2'`
// (no end_session_endpoint in discovery; GET /v2/logout?client_id&returnTo). The recipe:
// authorizeParams.audience, refresh tokens with rotation, logout.dialect 'auth0-v2'.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { API, APP, OP, eventCount, signInAtOp, signInFromHome, waitForEvents } from './support.mjs';
import { opAsksForLogin, requestsTo, returnFromOp, setQuirks } from './provider-support.mjs';

/** The recipe, on top of the demo's config (refresh_token strategy, the rotating client). */
const RECIPE = {
  authorizeParams: { audience: API },
  logout: { dialect: 'auth0-v2', endpoint: `${OP}/v2/logout` },
  // The dev OP's JWT for the API is not good at its userinfo endpoint (Auth0's also names /userinfo in aud).
  loadUserInfo: false,
};

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await setQuirks(rig, { audience: 'auth0', endSession: 'auth0-v2' });
  await rig.resetApiLog();
});

/** Calls the demo API through the interceptor; resolves with the API's status and how it checked the token. */
async function callApi(page, rig) {
  await rig.resetApiLog();
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: /^\d+$/ }).waitFor();
  const log = await rig.apiLog();
  return { shown: await page.getByTestId('api-status').textContent(), log: log.map((entry) => [entry.status, entry.tokenFormat]) };
}

test('without audience the access token is opaque, and the Auth0-style API refuses it', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token', { testOverride: { config: { ...RECIPE, authorizeParams: {} } } });
  await signInFromHome(page);
  const { shown, log } = await callApi(page, rig);
  assert.equal(shown, '401');
  // The interceptor's one forced renewal and retry after invalid_token: opaque again, refused again.
  assert.deepEqual(log, [[401, 'opaque'], [401, 'opaque']]);
});

for (const par of ['offered', 'off']) {
  test(`with authorizeParams.audience (PAR ${par}): the request carries audience, the API gets a JWT for it, also after a rotating refresh`, async ({ demoPage, rig }) => {
    await setQuirks(rig, { par });
    const { page } = await demoPage('refresh_token', { testOverride: { config: RECIPE } });
    await signInFromHome(page);
    const requests = await rig.hook('/authorization-requests');
    // The parameters of the one authorization request, wherever they travelled: in the PAR body or the query.
    const carried = par === 'offered' ? requests.pushed : requests.authorize;
    assert.equal(carried.length, 1);
    assert.ok(carried[0].params.includes('audience'), `audience in ${par === 'offered' ? 'the PAR body' : 'the query'}`);
    assert.deepEqual((await callApi(page, rig)).log, [[200, 'jwt']]);

    await rig.resetCounters();
    await page.getByTestId('renew').click();
    await waitForEvents(page, 'token_renewed', 1);
    const counters = await rig.counters();
    assert.equal(counters.tokenRefresh, 1);
    assert.equal(counters.tokenRefreshFailed, 0);
    assert.deepEqual((await callApi(page, rig)).log, [[200, 'jwt']], 'the refreshed access token is still a JWT for the API');
    // Rotation: the refreshed grant answers the next refresh too (the rotated token, not the spent one, was kept).
    await page.getByTestId('renew').click();
    await waitForEvents(page, 'token_renewed', 2);
    assert.equal((await rig.counters()).refreshTokenReuse, 0);
  });
}

test('without the logout option, a tenant with no end_session_endpoint gets a local logout only, and the OP session stays', async ({ demoPage, rig }) => {
  const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { ...RECIPE, logout: undefined } } });
  await signInFromHome(page);
  await rig.resetCounters();
  const navigations = opNavigations.length;
  await page.getByTestId('logout').click();
  await page.getByTestId('logout-result').waitFor();
  assert.equal(await page.getByTestId('logout-result').textContent(), 'Signed out here only (no_end_session_endpoint)');
  assert.equal(opNavigations.length, navigations, 'the page did not go to the OP');
  assert.equal((await rig.counters()).revocation, 1);
  assert.equal(await opAsksForLogin(page), false, "the OP's session still signs the user in");
});

test('logout through the auth0-v2 dialect: exactly client_id and returnTo, the OP session ends, the app comes back signed out', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token', { testOverride: { config: RECIPE } });
  await signInFromHome(page);
  const discovery = await (await fetch(`${OP}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.end_session_endpoint, undefined, 'the quirk: no end_session_endpoint');
  await rig.resetCounters();
  const sent = requestsTo(page, '/v2/logout');
  const back = returnFromOp(page);

  await page.getByTestId('logout').click();
  assert.equal(await back, `${APP}/`, 'back at returnTo, with no state or anything else');
  assert.deepEqual(sent, [[['client_id', 'ngx-oidc-demo'], ['returnTo', `${APP}/`]]]);
  assert.deepEqual((await rig.hook('/vendor-logout-requests')).map((entry) => [entry.params, entry.status]), [[['client_id', 'returnTo'], 302]]);
  const counters = await rig.counters();
  assert.equal(counters.revocation, 1, 'the refresh token was revoked first');
  assert.equal(counters.endSessionConfirmed, 1, "the OP's own end_session ran");
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(await eventCount(page, 'error'), 0, 'the return is not taken for a failed response');
  assert.equal(await page.getByTestId('error').count(), 0);
  await page.reload();
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();

  // The OP session really ended: the next sign-in asks for a login.
  assert.equal(await opAsksForLogin(page), true);
  await signInAtOp(page);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
});
