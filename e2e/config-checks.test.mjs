// The config checks of the security review (issue 15, item 12) in the production build of the
// demo: a bad config stops the app at start with config_invalid naming the key, before any
// request to the OP; a logout override to another origin is refused before anything happens.
// The bad configs come from the demo's test-only override (demo-settings.ts), which the test
// writes to sessionStorage before the page loads.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, API, OP, PORTS, eventCount, signInFromHome } from './support.mjs';
import { CHROMIUM_FLAGS, findChromium } from '../tools/lib/chromium.mjs';

// An app host name that is not loopback, for the app served over plain http: Chromium resolves
// it to the rig's app server. The rest of the browser is the one of the other files.
const PLAIN_HTTP_APP = `http://app.test:${PORTS.app}`;
test.use({ launchOptions: { executablePath: findChromium(), args: [...CHROMIUM_FLAGS, '--host-resolver-rules=MAP app.test 127.0.0.1'] } });
test.beforeEach(({ rig }) => rig.hook('/reset', { method: 'POST' }));

/** Loads the demo and reads why it did not start, noting every request to the OP meanwhile. */
async function startError(page, url) {
  const opRequests = [];
  page.on('request', (request) => {
    if (request.url().startsWith(OP)) opRequests.push(request.url());
  });
  await page.goto(url);
  const text = await page.getByTestId('start-error').textContent();
  return { text, opRequests };
}

const refused = [
  ['redirectUrl on another origin', 'refresh_token', { redirectUrl: `http://127.0.0.1:${PORTS.app}/` }, 'redirectUrl'],
  ['postLogoutRedirectUrl on another origin', 'refresh_token', { postLogoutRedirectUrl: 'https://evil.example/signed-out' }, 'postLogoutRedirectUrl'],
  ['a secureApis entry on plain http outside loopback', 'refresh_token', { secureApis: [`${API}/api`, 'http://api.example.com/api'] }, 'secureApis[1]'],
  ['a silentRenewUrl on the redirectUrl page', 'iframe', { redirectUrl: `${APP}/`, renew: { silentRenewUrl: `${APP}/` } }, 'renew.silentRenewUrl'],
];
for (const [what, strategy, config, key] of refused) {
  test(`the production build refuses ${what} at start, with config_invalid naming ${key}`, async ({ demoPage }) => {
    const { page } = await demoPage(strategy, { testOverride: { config } });
    const { text, opRequests } = await startError(page, `${APP}/`);
    // The production message: the code, and the key in details (the explanation is dev-only).
    assert.equal(text, `ngx-oidc-session: config_invalid (${key})`);
    assert.deepEqual(opRequests, [], 'nothing went to the OP');
  });
}

test('the production build refuses an app served on plain http outside loopback, with config_invalid naming redirectUrl', async ({ newContext }) => {
  const context = await newContext();
  // The demo's config, its URLs following document.baseURI (http://app.test:4200/ in worker 0), but only the
  // demo API in secureApis: its own relative API there would be refused first (secureApis[1]).
  await context.addInitScript(
    ([app, override]) => {
      if (location.origin === app) sessionStorage.setItem('ngx-oidc-session-demo:test-override', override);
    },
    [PLAIN_HTTP_APP, JSON.stringify({ config: { secureApis: [`${API}/api`] } })],
  );
  const page = await context.newPage();
  const { text, opRequests } = await startError(page, `${PLAIN_HTTP_APP}/`);
  assert.equal(text, 'ngx-oidc-session: config_invalid (redirectUrl)');
  assert.deepEqual(opRequests, [], 'nothing went to the OP');
});

for (const target of ['https://evil.example/signed-out', '//evil.example/signed-out']) {
  test(`logout({ postLogoutRedirectUrl: '${target}' }) is refused before anything happens: no revocation, the session stays`, async ({ demoPage, rig }) => {
    const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { logout: { postLogoutRedirectUrl: target } } });
    await signInFromHome(page);
    await rig.resetCounters();
    const navigations = opNavigations.length;

    await page.getByTestId('logout').click();
    const error = page.getByTestId('logout-error');
    await error.waitFor();
    assert.equal(await error.textContent(), 'config_invalid postLogoutRedirectUrl: ngx-oidc-session: config_invalid');
    const counters = await rig.counters();
    assert.equal(counters.revocation, 0, 'the refresh token was not revoked');
    assert.equal(counters.endSession, 0);
    assert.equal(opNavigations.length, navigations, 'the page did not go to the OP');
    assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
    assert.equal(await eventCount(page, 'signed_out'), 0);

    // The session is whole: its token still works at the API, and a reload restores it.
    await rig.resetApiLog();
    await page.getByTestId('call-api').click();
    await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
    assert.deepEqual((await rig.apiLog()).map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]]);
    await page.reload();
    await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  });
}

// config.logout and config.tenantIssuer are checked by the protocol chunk in production, where
// they are first used (dev builds check them at start too): the app starts, and fails closed there.
test('the production build starts with a tenantIssuer template on another origin, and refuses it before the first discovery: config_invalid, nothing sent to the OP', async ({ demoPage }) => {
  const tenantIssuer = { template: `${API}/{tenantid}/v2.0` };
  const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { authority: `${OP}/organizations/v2.0`, tenantIssuer } } });
  const opRequests = [];
  page.on('request', (request) => {
    if (request.url().startsWith(OP)) opRequests.push(request.url());
  });
  await page.goto(`${APP}/`);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  await page.getByTestId('login').click();
  const error = page.getByTestId('error');
  await error.waitFor();
  assert.equal(await error.locator('code').textContent(), 'config_invalid');
  assert.deepEqual(opRequests, [], 'nothing went to the OP, not even discovery');
  assert.deepEqual(opNavigations, []);
});

test('the production build starts with a logout.endpoint that has a query, and refuses it at logout: a local logout, config_invalid naming logout.endpoint, no navigation', async ({ demoPage, rig }) => {
  // On the OP's own origin, so that the origin pin alone would let it through.
  const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { logout: { dialect: 'cognito', endpoint: `${OP}/logout?federated` } } } });
  await signInFromHome(page);
  await rig.resetCounters();
  const navigations = opNavigations.length;
  await page.getByTestId('logout').click();
  await page.getByTestId('logout-result').waitFor();
  assert.equal(await page.getByTestId('logout-result').textContent(), 'Signed out here only (end_session_endpoint_refused): config_invalid logout.endpoint');
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  assert.equal(opNavigations.length, navigations, 'the page did not go to the OP');
  assert.equal(page.url(), `${APP}/`);
  const counters = await rig.counters();
  assert.equal(counters.endSession, 0);
  assert.equal(counters.revocation, 1, 'the refresh token was still revoked');
});
