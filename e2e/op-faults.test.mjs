// Faults between the app and the OP, against the real dev OP with 10-second access tokens: what
// captive portals, proxies and WAFs answer in the OP's place (HTML, truncated JSON, a 200
// without access_token, redirects), through the dev OP's /outage fault layer. Nothing else is
// faked.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { eventCount, signInFromHome, waitForEvents } from './support.mjs';

const ACCESS_TOKEN_TTL = 10;
test.use({ rigOptions: { ttl: { accessTokenTtl: ACCESS_TOKEN_TTL } } });
test.describe.configure({ timeout: 90_000 });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
});

/** The text of the newest renew_failed event in the demo's event log. */
const lastRenewFailure = (page) => page.locator('li[data-type="renew_failed"]').first().textContent();

/**
 * Puts the token endpoint in `mode` until the first renewal fails, takes the fault away, and
 * waits for the renewal that follows. Returns the failure's text.
 */
async function failOnceThenRecover(page, rig, mode) {
  await rig.resetCounters();
  await rig.hook('/outage', { method: 'POST', body: { endpoints: ['token'], durationMs: 60_000, mode } });
  await waitForEvents(page, 'renew_failed', 1, 30_000);
  const failure = await lastRenewFailure(page);
  const renewedBefore = await eventCount(page, 'token_renewed');
  await rig.hook('/outage', { method: 'DELETE' });
  await waitForEvents(page, 'token_renewed', renewedBefore + 1, 40_000);
  return failure;
}

test.describe('calls to the OP never follow redirects', () => {
  for (const mode of ['redirect-307', 'redirect-302']) {
    test(`a ${mode.slice(-3)} from the token endpoint never delivers the refresh token to the redirect target`, async ({ demoPage, rig }) => {
      const { page, opNavigations } = await demoPage('refresh_token');
      await signInFromHome(page);
      const signInNavigations = opNavigations.length;
      const failure = await failOnceThenRecover(page, rig, mode);
      assert.match(failure, /transient invalid_response/);
      assert.ok((await rig.counters()).outageRejected >= 1, 'the redirect was answered');
      assert.deepEqual(await rig.hook('/redirect-sink/log'), [], 'nothing reached the redirect target');
      assert.equal(await eventCount(page, 'session_expired'), 0);
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
      assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
    });
  }
});

test.describe('garbage from the token endpoint is a transient failure', () => {
  for (const [mode, what] of [
    ['html', 'an HTML page (200, text/html)'],
    ['truncated-json', 'truncated JSON'],
    ['no-access-token', 'a 200 without access_token'],
  ]) {
    test(`${what} keeps the session: retried with backoff, then renewed`, async ({ demoPage, rig }) => {
      const { page, opNavigations } = await demoPage('refresh_token');
      await signInFromHome(page);
      const signInNavigations = opNavigations.length;
      const failure = await failOnceThenRecover(page, rig, mode);
      assert.match(failure, /transient invalid_response, retry in \d+ s/);
      assert.equal(await eventCount(page, 'session_expired'), 0);
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
      assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
      const counters = await rig.counters();
      assert.equal(counters.refreshTokenReuse, 0, 'the refresh token was still good');
      // The API takes the renewed token.
      await page.getByTestId('call-api').click();
      await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
    });
  }
});

/**
 * The stored session's access-token expiry, ms since the epoch. Read from storage rather than
 * from the demo's countdown, which ticks once a second and so can read 5:01 right after a
 * renewal, and less than 5:00 on a loaded machine.
 */
async function storedExpiry(page) {
  return page.evaluate(() => {
    for (const storage of [sessionStorage, localStorage]) {
      for (const key of Object.keys(storage)) {
        if (!key.endsWith(':session')) continue;
        const expiresAt = JSON.parse(storage.getItem(key) ?? 'null')?.session?.expiresAt;
        if (typeof expiresAt === 'number') return expiresAt;
      }
    }
    return null;
  });
}

/** Asserts the expiry is 300 s after some moment between `before` and `after`. */
function assertFiveMinutesFrom(expiresAt, before, after, message) {
  assert.equal(typeof expiresAt, 'number', `${message}: a stored session`);
  assert.ok(
    expiresAt >= before + 300_000 && expiresAt <= after + 300_000,
    `${message}: the expiry is ${Math.round((expiresAt - before) / 1000)} s after the request began, and the request took ${Math.round((after - before) / 1000)} s`,
  );
}

test.describe('token responses without expires_in', () => {
  test('the token is taken for five minutes, and a 401 before then renews and retries', async ({ demoPage, rig }) => {
    await rig.hook('/quirks', { method: 'POST', body: { omitExpiresIn: true } });
    const { page } = await demoPage('refresh_token');
    // The documented rule: 300 s from the token response (the test's clock and the browser's
    // are this machine's).
    const signInBegan = Date.now();
    await signInFromHome(page);
    assertFiveMinutesFrom(await storedExpiry(page), signInBegan, Date.now(), 'after the sign-in');
    // The OP's real lifetime is shorter: the API refuses the token before the five minutes.
    await rig.hook('/revoke-access-tokens', { method: 'POST' });
    await rig.resetCounters();
    await rig.resetApiLog();
    const callBegan = Date.now();
    await page.getByTestId('call-api').click();
    await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
    const callEnded = Date.now();
    const log = await rig.apiLog();
    assert.deepEqual(log.map((entry) => [entry.status, entry.hadAuthorization]), [[401, true], [200, true]]);
    assert.equal((await rig.counters()).tokenRefresh, 1, 'one renewal');
    assert.equal(await page.getByTestId('api-unauthorized-count').textContent(), '0', 'the app never saw the 401');
    assertFiveMinutesFrom(await storedExpiry(page), callBegan, callEnded, 'the renewed token gets the same rule');
  });
});
