// OP signing-key rotation against the real dev OP (issue 15, item 3), for both strategies, with
// 10-second access tokens: the OP starts signing with a new key seconds after the app fetched
// its JWKS, inside oauth4webapi's one-minute refetch cool-down. The session must survive that;
// a key the OP never publishes must be refused after one refetch.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { OP, eventCount, signInFromHome, waitForEvents } from './support.mjs';

const ACCESS_TOKEN_TTL = 10;
/** oauth4webapi's refetch cool-down (60 s), and a second more. */
const COOL_DOWN_MS = 61_000;
test.use({ rigOptions: { ttl: { accessTokenTtl: ACCESS_TOKEN_TTL } } });
test.describe.configure({ timeout: 90_000 });

/**
 * Forces a renewal, waits until the OP has answered its token request (signed with the key
 * set up before), then moves the page's clock past oauth4webapi's JWKS cool-down: the page's
 * timers and Date.now() both jump, as after a minute of waiting, without the minute. (Its
 * checks of the JWKS age and the library's wait both read that clock.)
 */
async function renewThroughCoolDown(page) {
  const answered = page.waitForResponse((response) => response.url() === `${OP}/token` && response.request().method() === 'POST');
  await page.getByTestId('renew').click();
  await answered;
  await page.clock.fastForward(COOL_DOWN_MS);
}
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
      const { page, opNavigations } = await demoPage(strategy, { clock: true });
      await rig.resetCounters();
      await signInFromHome(page);
      const signInNavigations = opNavigations.length;
      assert.equal((await rig.counters()).jwks, 1, 'the sign-in fetched the JWKS once');
      const rotated = await rig.hook('/signing-key', { method: 'POST', body: { mode: 'rotate' } });
      assert.ok(rotated.signingKid.startsWith('test-rotate-'));
      await rig.resetCounters();

      await renewThroughCoolDown(page);
      await waitForEvents(page, 'token_renewed', 1, 30_000);
      // The renewal after the rotation went through once oauth4webapi could fetch the key set
      // again: one refetch, and the one token response, held rather than thrown away.
      const first = await rig.counters();
      assert.equal(first.jwks, 1, 'exactly one refetch of the JWKS');
      // The page's clock jumped past the new token's expiry too, so more renewals may follow:
      // each redeemed one grant (none was thrown away and made again); one more may be in flight.
      const renewals = await eventCount(page, 'token_renewed');
      const grants = strategy === 'refresh_token' ? first.tokenRefresh : first.tokenAuthorizationCode;
      assert.ok(grants >= 1 && grants <= renewals + 1, `one grant per renewal (${JSON.stringify(first)}, ${renewals} renewals)`);
      assert.equal(first.refreshTokenReuse, 0);
      assert.equal(await eventCount(page, 'renew_failed'), 0);

      const renewed = await eventCount(page, 'token_renewed');
      await page.getByTestId('renew').click();
      await waitForEvents(page, 'token_renewed', renewed + 1, 30_000);
      assert.equal((await rig.counters()).jwks, 1, 'the next renewal knew the new key');
      await page.getByTestId('call-api').click();
      await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
      assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
      assert.equal(await eventCount(page, 'session_expired'), 0);
      assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
    });

    test('an ID token signed with a key the OP never publishes is rejected after one JWKS refetch: id_token_invalid ends the session', async ({ demoPage, rig }) => {
      const { page } = await demoPage(strategy, { clock: true });
      await signInFromHome(page);
      await rig.hook('/signing-key', { method: 'POST', body: { mode: 'unpublished' } });
      await rig.resetCounters();

      await renewThroughCoolDown(page);
      await waitForEvents(page, 'session_expired', 1, 30_000);
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
