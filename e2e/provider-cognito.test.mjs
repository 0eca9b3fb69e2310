// Amazon Cognito profile (docs/providers/amazon-cognito.md) against the dev OP's reproduction
// of its quirks: `endSession: 'cognito'` (discovery names <origin>/logout, which takes client_id
// and logout_uri, and answers RP-initiated parameters with an error page), no PAR, and refresh
// responses without a refresh token when it did not rotate (`unrotatedRefreshToken: 'omitted'`). The
// recipe: the non-rotating client, pushedAuthorization 'never', logout.dialect 'cognito'.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { API, APP, OP, eventCount, signInAtOp, signInFromHome, waitForEvents } from './support.mjs';
import { opAsksForLogin, requestsTo, returnFromOp, setQuirks } from './provider-support.mjs';

/** The recipe, on top of the demo's config (refresh_token strategy). */
const RECIPE = {
  clientId: 'ngx-oidc-demo-no-rotation',
  pushedAuthorization: 'never',
  logout: { dialect: 'cognito' },
};

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await setQuirks(rig, { endSession: 'cognito', par: 'off', unrotatedRefreshToken: 'omitted' });
});

test("without the dialect, logout lands on Cognito's error page (the quirk), and the OP session stays", async ({ demoPage, rig }) => {
  const withoutDialect = { ...RECIPE, logout: undefined };
  const { page } = await demoPage('refresh_token', { testOverride: { config: withoutDialect } });
  await signInFromHome(page);
  await rig.resetCounters();
  const sent = requestsTo(page, '/logout');
  await page.getByTestId('logout').click();
  await page.waitForURL((url) => url.origin === OP && url.pathname === '/logout');
  assert.match(await page.locator('body').textContent(), /logout_uri is required/);
  assert.deepEqual(sent[0].map(([name]) => name), ['client_id', 'id_token_hint', 'post_logout_redirect_uri', 'state']);
  assert.equal((await rig.counters()).endSessionConfirmed, 0);
  // The app cleared its session before it left; the OP still signs the user in without a login.
  await page.goto(`${APP}/`);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(await opAsksForLogin(page), false);
});

test("logout through the cognito dialect: client_id and logout_uri at discovery's /logout, the OP session ends, the app comes back signed out", async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token', { testOverride: { config: RECIPE } });
  await signInFromHome(page);
  await rig.resetCounters();
  const sent = requestsTo(page, '/logout');
  const back = returnFromOp(page);

  await page.getByTestId('logout').click();
  assert.equal(await back, `${APP}/`, 'back at logout_uri, with no state');
  assert.deepEqual(sent, [[['client_id', 'ngx-oidc-demo-no-rotation'], ['logout_uri', `${APP}/`]]]);
  const counters = await rig.counters();
  assert.equal(counters.revocation, 1);
  assert.equal(counters.endSessionConfirmed, 1);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(await eventCount(page, 'error'), 0);

  assert.equal(await opAsksForLogin(page), true, 'the OP session ended: the next sign-in asks for a login');
  await signInAtOp(page);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
});

test('refresh without rotation keeps working: the OP sends no new refresh token, and the one it issued serves every renewal, no PAR', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token', { testOverride: { config: RECIPE } });
  await signInFromHome(page);
  await rig.resetCounters();
  for (const count of [1, 2, 3]) {
    await page.getByTestId('renew').click();
    await waitForEvents(page, 'token_renewed', count);
  }
  const counters = await rig.counters();
  assert.equal(counters.tokenRefresh, 3);
  assert.equal(counters.tokenRefreshFailed, 0);
  assert.equal(counters.par, 0);
  assert.equal(counters.authorizeNone, 0, 'no renewal fell back to an iframe');
  await rig.resetApiLog();
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
});

test('a logout endpoint on another origin than the sign-in: no navigation, a local logout, config_invalid', async ({ demoPage, rig }) => {
  const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { ...RECIPE, logout: { dialect: 'cognito', endpoint: `${API}/logout` } } } });
  await signInFromHome(page);
  await rig.resetCounters();
  const navigations = opNavigations.length;
  const elsewhere = [];
  page.on('request', (request) => {
    if (request.url().startsWith(`${API}/logout`)) elsewhere.push(request.url());
  });
  await page.getByTestId('logout').click();
  await page.getByTestId('logout-result').waitFor();
  assert.equal(await page.getByTestId('logout-result').textContent(), 'Signed out here only (end_session_endpoint_refused): config_invalid logout.endpoint');
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  assert.deepEqual(elsewhere, []);
  assert.equal(opNavigations.length, navigations, 'the page did not leave');
  assert.equal(page.url(), `${APP}/`);
  assert.equal((await rig.counters()).revocation, 1, 'the refresh token was still revoked');
});

test('the cognito dialect with two tabs: the other tab signs out too and stays in the app; back from the OP, neither is signed in again', async ({ demoPage }) => {
  const { context, page } = await demoPage('refresh_token', { testOverride: { config: RECIPE } });
  await signInFromHome(page);
  const other = await context.newPage();
  await other.goto(`${APP}/`);
  await other.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  const back = returnFromOp(page);

  await page.getByTestId('logout').click();
  await other.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(await back, `${APP}/`);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(new URL(other.url()).origin, APP, 'the other tab did not leave');
  await other.reload();
  await other.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
});
