// OP signing-key rotation against the real dev OP (issue 15, item 3), for both strategies, with
// 10-second access tokens: the OP starts signing with a new key seconds after the app fetched
// its JWKS, inside oauth4webapi's one-minute refetch cool-down. The session must survive that;
// a key the OP never publishes must be refused after one refetch.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { eventCount, signInFromHome, waitForEvents } from './support.mjs';

const ACCESS_TOKEN_TTL = 10;
/** oauth4webapi's cool-down (60 s) plus a renew cycle and some slack for a loaded machine. */
const COOL_DOWN_BUDGET_MS = 100_000;
test.use({ rigOptions: { ttl: { accessTokenTtl: ACCESS_TOKEN_TTL } } });
test.describe.configure({ timeout: 180_000 });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
});

/** OP requests a renewal of this strategy costs. */
function renewalRequests(counters, strategy) {
  return strategy === 'refresh_token' ? counters.tokenRefresh : counters.authorizeNone;
}

for (const strategy of ['refresh_token', 'iframe']) {
  test.describe(`key rotation, renewal by ${strategy}`, () => {
    test('a new signing key seconds after the JWKS fetch: the renewal waits out the cool-down, the session stays, later renewals need no wait', async ({ demoPage, rig }) => {
      const { page, opNavigations } = await demoPage(strategy);
      await rig.resetCounters();
      await signInFromHome(page);
      const signInNavigations = opNavigations.length;
      assert.equal((await rig.counters()).jwks, 1, 'the sign-in fetched the JWKS once');
      const rotated = await rig.hook('/signing-key', { method: 'POST', body: { mode: 'rotate' } });
      assert.ok(rotated.signingKid.startsWith('test-rotate-'));
      await rig.resetCounters();
      const rotatedAt = Date.now();

      await waitForEvents(page, 'token_renewed', 1, COOL_DOWN_BUDGET_MS);
      // The first renewal after the rotation came only once oauth4webapi could fetch the key
      // set again (a minute after the sign-in's fetch, which came before rotatedAt).
      const first = await rig.counters();
      assert.equal(first.jwks, 1, 'exactly one refetch of the JWKS');
      assert.equal(renewalRequests(first, strategy), 1, 'one renewal request: its response was held, not thrown away');
      assert.equal(first.refreshTokenReuse, 0);
      assert.ok(Date.now() - rotatedAt >= 40_000, 'the renewal waited for the cool-down');
      assert.equal(await eventCount(page, 'renew_failed'), 0);

      await waitForEvents(page, 'token_renewed', 2, 30_000);
      assert.equal((await rig.counters()).jwks, 1, 'the next renewal knew the new key');
      await page.getByTestId('call-api').click();
      await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
      assert.equal(await eventCount(page, 'session_expired'), 0);
      assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
    });

    test('an ID token signed with a key the OP never publishes is rejected after one JWKS refetch: id_token_invalid ends the session', async ({ demoPage, rig }) => {
      const { page } = await demoPage(strategy);
      await signInFromHome(page);
      await rig.hook('/signing-key', { method: 'POST', body: { mode: 'unpublished' } });
      await rig.resetCounters();

      await waitForEvents(page, 'session_expired', 1, COOL_DOWN_BUDGET_MS);
      await page.getByTestId('error').filter({ hasText: 'id_token_invalid' }).waitFor();
      assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
      const counters = await rig.counters();
      assert.equal(counters.jwks, 1, 'one refetch, then the verdict');
      assert.equal(renewalRequests(counters, strategy), 1);
      assert.equal(await eventCount(page, 'token_renewed'), 0);
      assert.equal(await eventCount(page, 'renew_failed'), 1, 'refused once, not retried');
    });
  });
}
