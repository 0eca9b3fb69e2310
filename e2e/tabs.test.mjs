// Five tabs of one browser against the dev OP with refresh-token rotation and 10-second
// access tokens: one renewal per cycle for all tabs, no reuse detected at the OP, a new tab
// signed in without a redirect, and a logout in one tab reaching all of them.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, OP, signInFromHome } from './support.mjs';

const TTL = 10;
const CYCLE_MS = TTL * 1000 * 0.8; // renewals happen in the last fifth of the lifetime
const CYCLES = 6;
test.use({ rigOptions: { ttl: { accessTokenTtl: TTL } } });
test.describe.configure({ timeout: 180_000 });
// Never beside the other many-tab file (playwright.config.mjs): their renewals are timed to the
// second, and a loaded CPU makes them late.
test.describe.configure({ lock: 'many-tabs' });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: TTL } });
  await rig.resetApiLog();
});

const renewals = (counters, strategy) => (strategy === 'refresh_token' ? counters.tokenRefresh : counters.authorizeNone);

/** Polls the OP's counters (state outside the browser, with no event to wait on). */
async function untilCounters(rig, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counters = await rig.counters();
    if (predicate(counters)) return counters;
    if (Date.now() > deadline) throw new Error(`counters never matched: ${JSON.stringify(counters)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Opens another tab of the same browser context and checks it is signed in without going to the OP. */
async function openSignedInTab(context) {
  const page = await context.newPage();
  const toOp = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && frame.url().startsWith(OP)) toOp.push(frame.url());
  });
  await page.goto(APP);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor({ timeout: 5_000 });
  assert.deepEqual(toOp, [], 'the new tab was signed in without a redirect');
  return page;
}

for (const strategy of ['refresh_token', 'iframe']) {
  test.describe(`five tabs, ${strategy} renewal`, () => {
    test(`one renewal per cycle for all tabs over ${CYCLES} cycles, new tab mid-run, logout everywhere`, async ({ demoPage, rig }) => {
      const { context, page: first } = await demoPage(strategy);
      await signInFromHome(first);
      const tabs = [first];
      for (let index = 1; index < 5; index++) tabs.push(await openSignedInTab(context));
      await rig.resetCounters();
      await rig.resetApiLog();
      const started = Date.now();
      for (const tab of tabs) await tab.getByTestId('auto-call').click();

      await untilCounters(rig, (counters) => renewals(counters, strategy) >= CYCLES / 2, 60_000);
      const latecomer = await openSignedInTab(context);
      tabs.push(latecomer);
      await latecomer.getByTestId('auto-call').click();
      const counters = await untilCounters(rig, (current) => renewals(current, strategy) >= CYCLES, 90_000);
      const elapsed = Date.now() - started;
      for (const tab of tabs) await tab.getByTestId('auto-call').click();

      const cycles = Math.ceil(elapsed / CYCLE_MS);
      assert.ok(renewals(counters, strategy) <= cycles + 1, `one renewal per cycle: ${renewals(counters, strategy)} in ${elapsed} ms (${JSON.stringify(counters)})`);
      assert.equal(counters.refreshTokenReuse, 0, 'no refresh token was presented twice');
      assert.equal(counters.tokenRefreshFailed, 0);
      for (const tab of tabs) {
        assert.equal(await tab.getByTestId('status').textContent(), 'authenticated');
        assert.equal(await tab.getByTestId('api-unauthorized-count').textContent(), '0');
      }
      const log = await rig.apiLog();
      assert.ok(log.length >= 30, `all tabs called the API (${log.length} calls)`);
      assert.deepEqual(log.filter((entry) => entry.status !== 200 || !entry.hadAuthorization), [], 'every API call succeeded with a token');

      // Logout in one tab: every other tab is signed out within a second, without its own redirect.
      const [leaving, ...staying] = tabs;
      for (const tab of staying) {
        // Each tab notes, by the machine's clock, when its status turns to signed out.
        await tab.evaluate(() => {
          const status = document.querySelector('[data-testid="status"]');
          const note = () => {
            if (status.textContent.trim() === 'unauthenticated') window.signedOutAt ??= Date.now();
          };
          new MutationObserver(note).observe(status, { childList: true, characterData: true, subtree: true });
        });
      }
      const clickedAt = await leaving.evaluate(() => {
        const at = Date.now();
        document.querySelector('[data-testid="logout"]').click();
        return at;
      });
      for (const tab of staying) {
        const signedOutAt = await (await tab.waitForFunction(() => window.signedOutAt, null, { timeout: 5_000 })).jsonValue();
        assert.ok(signedOutAt - clickedAt <= 1_000, `signed out ${signedOutAt - clickedAt} ms after the click`);
        assert.equal(new URL(tab.url()).origin, APP, 'the other tabs stay in the app');
      }
      await leaving.waitForURL((url) => url.origin === OP);
      await context.close();
    });
  });
}
