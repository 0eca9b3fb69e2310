// The HTTP interceptor against the real API: the token goes to the demo API only, is never
// expired when it goes, and a 401 invalid_token is recovered by one renewal.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { API, LOOKALIKE, signInFromHome, waitForEvents } from './support.mjs';

test.use({ rigOptions: { ttl: { accessTokenTtl: 10 } } });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: 10 } });
  await rig.resetApiLog();
  await fetch(`${LOOKALIKE}/__test/lookalike-log/reset`, { method: 'POST' });
});

/** Clicks "Call the API" and waits until the API has answered that very call. */
async function callApi(page) {
  const done = page.waitForResponse((response) => response.url() === `${API}/api/hello` && response.status() === 200);
  await page.getByTestId('call-api').click();
  await done;
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
}

for (const strategy of ['refresh_token', 'iframe']) {
  test.describe(`interceptor with ${strategy} renewal`, () => {
    test('a call made just after expiry succeeds without the app seeing a 401', async ({ demoPage, rig }) => {
      const { page } = await demoPage(strategy, { clock: true });
      await signInFromHome(page);
      await rig.resetApiLog();
      await rig.resetCounters();
      // The page is 11 seconds later at once: its 10-second token has just expired, no timer ran.
      await page.clock.setSystemTime(new Date(Date.now() + 11_000));
      await callApi(page);
      const log = await rig.apiLog();
      assert.deepEqual(log.map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]]);
      // The API still accepts the old token by the OP's real clock: what shows the call waited
      // for a fresh one is the renewal the call itself caused.
      const counters = await rig.counters();
      assert.equal(strategy === 'refresh_token' ? counters.tokenRefresh : counters.authorizeNone, 1);
      assert.equal(await page.getByTestId('api-unauthorized-count').textContent(), '0');
    });

    test('after the OP revokes the access tokens, the next call succeeds after one renewal', async ({ demoPage, rig }) => {
      const { page } = await demoPage(strategy);
      await signInFromHome(page);
      await callApi(page);
      await rig.hook('/revoke-access-tokens', { method: 'POST' });
      await rig.resetCounters();
      await rig.resetApiLog();
      await callApi(page);
      const log = await rig.apiLog();
      assert.deepEqual(log.map((entry) => [entry.status, entry.hadAuthorization]), [[401, true], [200, true]]);
      const counters = await rig.counters();
      assert.equal(strategy === 'refresh_token' ? counters.tokenRefresh : counters.authorizeNone, 1);
      assert.equal(await page.getByTestId('api-unauthorized-count').textContent(), '0', 'the app never saw the 401');
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
    });
  });
}

test('look-alike origins and paths never receive the token, across renewals', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await signInFromHome(page);
  await page.getByTestId('auto-call').click();
  for (let round = 0; round < 3; round++) {
    await page.getByTestId('call-lookalike').click();
    await page.getByTestId('lookalike-result').filter({ hasText: 'received no token' }).waitFor();
    await page.getByTestId('call-apis-path').click();
    await page.getByTestId('lookalike-result').filter({ hasText: '/apis/hello: HTTP 404, sent without a token' }).waitFor();
    await waitForEvents(page, 'token_renewed', round + 1, 20_000);
  }
  await page.getByTestId('auto-call').click();
  const lookalike = await fetch(`${LOOKALIKE}/__test/lookalike-log`).then((response) => response.json());
  assert.ok(lookalike.requests >= 3);
  assert.equal(lookalike.withAuthorization, 0, 'the look-alike origin never got a token');
  const log = await rig.apiLog();
  const apis = log.filter((entry) => entry.path.startsWith('/apis'));
  const api = log.filter((entry) => entry.path === '/api/hello');
  assert.ok(apis.length >= 3 && apis.every((entry) => !entry.hadAuthorization), 'the /apis path never got a token');
  assert.ok(api.length > 0 && api.every((entry) => entry.hadAuthorization && entry.status === 200), 'the real API always did');
});
