// The browser goes offline across the access token's expiry (10-second tokens from the real dev
// OP), renewals fail meanwhile, and it comes back online: one renewal at once, and the API call
// made right then succeeds. The only fault is Playwright's context.setOffline().
// Chromium fires online/offline only where it sees a network interface besides loopback: a
// network namespace with loopback alone needs one (e.g. a veth pair) for this file.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { eventCount, signInFromHome, waitForEvents } from './support.mjs';

const ACCESS_TOKEN_TTL = 10;
test.use({ rigOptions: { ttl: { accessTokenTtl: ACCESS_TOKEN_TTL } } });
test.describe.configure({ timeout: 90_000 });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
  await rig.resetApiLog();
});

for (const strategy of ['refresh_token', 'iframe']) {
  test(`offline across the expiry, then online: one renewal at once and the API call succeeds (${strategy})`, async ({ demoPage, rig }) => {
    const { context, page, opNavigations } = await demoPage(strategy);
    await signInFromHome(page);
    const signInNavigations = opNavigations.length;
    await context.setOffline(true);
    // The access token expires while offline, and a renewal fails after that.
    await page.getByTestId('expiry').filter({ hasText: '0:00' }).waitFor({ timeout: 30_000 });
    const failedBefore = await eventCount(page, 'renew_failed');
    await waitForEvents(page, 'renew_failed', failedBefore + 1, 30_000);
    assert.match(await page.locator('li[data-type="renew_failed"]').first().textContent(), /transient (network_error|timeout)/, 'a transient failure while offline');
    assert.equal(await page.getByTestId('status').textContent(), 'authenticated');

    await rig.resetCounters();
    const renewedBefore = await eventCount(page, 'token_renewed');
    const startedBefore = await eventCount(page, 'renew_started');
    await context.setOffline(false);
    // Right after coming back: the API call must not fail fast with the error from offline.
    await page.getByTestId('call-api').click();
    await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor({ timeout: 3_000 });
    await waitForEvents(page, 'token_renewed', renewedBefore + 1, 3_000);
    const log = await rig.apiLog();
    assert.deepEqual(log.map((entry) => [entry.status, entry.hadAuthorization]), [[200, true]], 'the first call after coming back succeeded');
    assert.equal(await eventCount(page, 'renew_started'), startedBefore + 1, 'one renewal');
    assert.match(await page.locator('li[data-type="renew_started"]').first().textContent(), /trigger: wake-up/);
    const counters = await rig.counters();
    assert.equal(strategy === 'refresh_token' ? counters.tokenRefresh : counters.authorizeNone, 1, `one renewal at the OP (${JSON.stringify(counters)})`);
    assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
    assert.equal(opNavigations.length, signInNavigations, 'no interactive sign-in happened');
  });
}
