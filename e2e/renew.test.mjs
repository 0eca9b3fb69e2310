// Renewal against the real dev OP with 10-second access tokens, for both strategies: many
// renewals under API load, an outage of the token endpoint, a revoked grant, and a page
// whose clock jumps past expiry.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { API, APP, eventCount, signInFromHome, waitForEvents } from './support.mjs';

const ACCESS_TOKEN_TTL = 10;
test.use({ rigOptions: { ttl: { accessTokenTtl: ACCESS_TOKEN_TTL } } });
// Test by test over the workers: its ten tests take four minutes, which on one worker made the
// whole suite wait for this file (each test resets the OP in beforeEach and has its own context).
test.describe.configure({ mode: 'parallel', timeout: 120_000 });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
  await rig.resetApiLog();
});

/**
 * The URL of the script that holds the protocol code (oauth4webapi), once the page has loaded it.
 */
function protocolChunkOf(page) {
  return new Promise((resolve) => {
    const onResponse = async (response) => {
      if (response.request().resourceType() !== 'script') return;
      const body = await response.text().catch(() => '');
      if (!body.includes('oauth4webapi')) return;
      page.off('response', onResponse);
      resolve(response.url());
    };
    page.on('response', onResponse);
  });
}

/** OP requests a renewal of this strategy costs. */
function renewalRequests(counters, strategy) {
  return strategy === 'refresh_token' ? counters.tokenRefresh : counters.authorizeNone;
}

for (const strategy of ['refresh_token', 'iframe']) {
  test.describe(`renewal by ${strategy}`, () => {
    test('stays signed in across five renewals while the API is called every 2 s, with no 401', async ({ demoPage, rig }) => {
      const { context, page, opNavigations } = await demoPage(strategy);
      await signInFromHome(page);
      const signInNavigations = opNavigations.length;
      await rig.resetCounters();
      await rig.resetApiLog();
      await page.getByTestId('auto-call').click();
      await waitForEvents(page, 'token_renewed', 5, 70_000);
      await page.getByTestId('auto-call').click();
      const renewals = await eventCount(page, 'token_renewed');
      const counters = await rig.counters();
      assert.ok(renewalRequests(counters, strategy) >= 5);
      assert.ok(renewalRequests(counters, strategy) <= renewals, `at most one renewal request per renewal (${JSON.stringify(counters)})`);
      if (strategy === 'iframe') assert.ok(counters.tokenAuthorizationCode <= renewals);
      assert.equal(counters.tokenRefreshFailed, 0);
      assert.equal(counters.refreshTokenReuse, 0);
      const log = await rig.apiLog();
      assert.ok(log.length >= 15, `the API was called throughout (${log.length} calls)`);
      assert.deepEqual(log.filter((entry) => entry.status !== 200), [], 'no API call failed');
      assert.ok(log.every((entry) => entry.hadAuthorization));
      assert.equal(await page.getByTestId('api-unauthorized-count').textContent(), '0');
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
      assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
      await context.close();
    });

    test('survives a 20-second outage of the token endpoint without a new sign-in', async ({ demoPage, rig }) => {
      const { context, page, opNavigations } = await demoPage(strategy);
      await signInFromHome(page);
      const signInNavigations = opNavigations.length;
      await page.getByTestId('auto-call').click();
      await rig.resetCounters();
      await rig.hook('/outage', { method: 'POST', body: { endpoints: ['token'], durationMs: 20_000, mode: '503' } });
      const renewedBefore = await eventCount(page, 'token_renewed');
      await waitForEvents(page, 'renew_failed', 1, 30_000);
      await waitForEvents(page, 'token_renewed', renewedBefore + 1, 70_000);
      await page.getByTestId('auto-call').click();
      const counters = await rig.counters();
      assert.ok(counters.outageRejected >= 1, 'the outage was hit');
      assert.ok(counters.outageRejected <= 8, `a bounded number of attempts (${counters.outageRejected})`);
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
      assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
      // After the outage, API calls succeed again with a fresh token.
      await rig.resetApiLog();
      const answered = page.waitForResponse((response) => response.url() === `${API}/api/hello`);
      await page.getByTestId('call-api').click();
      await answered;
      const log = await rig.apiLog();
      assert.deepEqual(log.map((entry) => entry.status), [200]);
      await context.close();
    });

    test('a grant revoked at the OP ends the session within one renew cycle, and renewals stop', async ({ demoPage, rig }) => {
      const { context, page } = await demoPage(strategy);
      await signInFromHome(page);
      await page.getByTestId('auto-call').click();
      await waitForEvents(page, 'token_renewed', 1, 20_000);
      await rig.hook('/revoke-grants', { method: 'POST', body: { endSessions: true } });
      const revokedAt = Date.now();
      await page.getByTestId('status').filter({ hasText: 'unauthenticated' }).waitFor({ timeout: 20_000 });
      assert.ok(Date.now() - revokedAt <= (ACCESS_TOKEN_TTL + 3) * 1000, 'ended within one renew cycle');
      assert.equal(await eventCount(page, 'session_expired'), 1);
      const afterEnd = await rig.counters();
      await rig.resetApiLog();
      // Watch one more renew cycle: no renewal request, no token sent to the API.
      await page.waitForTimeout((ACCESS_TOKEN_TTL + 2) * 1000);
      const later = await rig.counters();
      assert.equal(later.tokenRefresh, afterEnd.tokenRefresh);
      assert.equal(later.authorize, afterEnd.authorize);
      assert.equal(later.tokenAuthorizationCode, afterEnd.tokenAuthorizationCode);
      const log = await rig.apiLog();
      assert.ok(log.length > 0 && log.every((entry) => !entry.hadAuthorization), 'the app keeps running, without a token');
      assert.equal(new URL(page.url()).origin, APP, 'no automatic redirect to the OP');
      await page.getByTestId('auto-call').click();
      await context.close();
    });

    test('a deploy that removes the protocol chunk does not stop the renewals of an open tab', async ({ demoPage, rig }) => {
      const { context, page } = await demoPage(strategy);
      await signInFromHome(page);
      // A fresh page load with a stored session, so that no callback loads the protocol chunk:
      // the idle prefetch must.
      const protocolChunk = protocolChunkOf(page);
      await page.reload();
      await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
      const chunkUrl = await protocolChunk;
      assert.equal(await eventCount(page, 'renew_started'), 0, 'the chunk came before any renewal needed it');
      assert.match(new URL(chunkUrl).pathname, /^\/chunk-[A-Za-z0-9_-]+\.js$/, 'oauth4webapi sits in a lazy chunk');
      // The deploy: every JavaScript file of the old build is gone from the server.
      let refused = 0;
      await context.route(/\.js(\?.*)?$/, (route) => {
        refused += 1;
        return route.fulfill({ status: 404, contentType: 'text/plain', body: 'gone with the last deploy' });
      });
      await rig.resetCounters();
      const renewedBefore = await eventCount(page, 'token_renewed');
      await waitForEvents(page, 'token_renewed', renewedBefore + 2, 40_000);
      const counters = await rig.counters();
      assert.ok(renewalRequests(counters, strategy) >= 2, `renewed at the OP (${JSON.stringify(counters)})`);
      assert.equal(await eventCount(page, 'renew_failed'), 0);
      await page.getByTestId('call-api').click();
      await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
      assert.equal(refused, 0, 'the open tab asked the server for no code after the deploy');
      await context.close();
    });

    test("renews before the next API call when the page's clock jumps far past expiry", async ({ demoPage, rig }) => {
      const { context, page } = await demoPage(strategy, { clock: true });
      await signInFromHome(page);
      await rig.resetCounters();
      await rig.resetApiLog();
      // Five minutes pass for the page at once, as after a laptop's sleep; no timer fires.
      await page.clock.setSystemTime(new Date(Date.now() + 5 * 60_000));
      await page.getByTestId('call-api').click();
      await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
      const counters = await rig.counters();
      assert.equal(renewalRequests(counters, strategy), 1);
      const log = await rig.apiLog();
      assert.deepEqual(log.map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]], 'the first call already had a fresh token');
      await context.close();
    });
  });
}
