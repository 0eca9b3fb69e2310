// OP session monitoring where the browser withholds the OP's cookies from a frame on another
// site: the demo served from 127.0.0.1 and the dev OP on localhost are two sites, and the OP's
// cookies are SameSite=Lax (see silent-sign-in-cross-site.test.mjs), which Chromium neither
// sends to nor shows in a cross-site iframe. The OP's check_session iframe then cannot see its
// browser state and answers "changed" while the user is signed in; its prompt=none check gets
// login_required. The app must say once that it cannot monitor, and never sign the user out.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, OP, launchPartitioningChromium, signInAtOp } from './support.mjs';

const CROSS_SITE_APP = APP.replace('//localhost:', '//127.0.0.1:');
const INTERVAL_MS = 5_000;
test.use({ rigOptions: { appOrigins: [CROSS_SITE_APP] } });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
});

const status = (page, value) => page.getByTestId('status').filter({ hasText: new RegExp(`^${value}$`) }).waitFor({ timeout: 30_000 });

test('an OP on another site: the app says once that it cannot monitor, stops asking, and the user stays signed in', async ({ newContext, rig }) => {
  assert.notEqual(new URL(CROSS_SITE_APP).hostname, new URL(APP).hostname);
  const context = await newContext();
  await context.addInitScript(
    ([app, op]) => {
      if (location.origin !== app) return;
      localStorage.setItem('ngx-oidc-session-demo:session-monitor', 'on');
      window.__checkSessionAnswers = [];
      window.addEventListener('message', (event) => {
        if (event.origin === op) window.__checkSessionAnswers.push(event.data);
      });
    },
    [CROSS_SITE_APP, OP],
  );
  const page = await context.newPage();
  await page.clock.install();
  await page.goto(CROSS_SITE_APP);
  await status(page, 'unauthenticated');
  await page.getByTestId('login').click();
  await signInAtOp(page, 'alice', { app: CROSS_SITE_APP });
  await status(page, 'authenticated');

  const unavailable = page.locator('li[data-type="session_monitor"]');
  await unavailable.filter({ hasText: 'unavailable' }).waitFor({ timeout: 30_000 });
  assert.deepEqual(await unavailable.locator('.detail').allTextContents(), ['unavailable (session_monitor_unavailable)']);
  const answers = await page.evaluate(() => [...window.__checkSessionAnswers]);
  assert.deepEqual(answers, ['changed'], 'the iframe could not see the OP cookie: "changed" at the first poll');
  const counters = await rig.counters();
  assert.equal(counters.authorizeNone, 1, 'one prompt=none check, which the OP answered login_required');

  // Many intervals later (the page's clock, run forward): no poll, no check, no sign-out, one notice.
  await page.clock.runFor(INTERVAL_MS * 12);
  assert.deepEqual(await page.evaluate(() => [...window.__checkSessionAnswers]), answers);
  assert.equal((await rig.counters()).authorizeNone, 1);
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
  assert.deepEqual(await page.locator('li[data-type="signed_out"]').allTextContents(), []);
  assert.equal(await unavailable.count(), 1);

  // A reload remembers it for this sign-in: said again (new page), but the OP is not asked again.
  await page.reload();
  await status(page, 'authenticated');
  await unavailable.filter({ hasText: 'unavailable' }).waitFor({ timeout: 30_000 });
  assert.equal((await rig.counters()).authorizeNone, 1);
  assert.equal(await page.locator('iframe[title="session check"]').count(), 0);
});

test('front-channel logout from an OP on another site does not reach the app: the browser partitions the page frame channel', async ({ rig }) => {
  await rig.hook('/quirks', { method: 'POST', body: { frontchannelLogout: true } });
  // Chrome partitions a third-party frame's storage and channels; Playwright's Chromium does not.
  const browser = await launchPartitioningChromium();
  try {
    const context = await browser.newContext();
    await context.addInitScript(
      ([app]) => {
        if (location.origin !== app) return;
        localStorage.setItem('ngx-oidc-session-demo:session-monitor', 'on');
        // What reaches this page on the front-channel logout page's channel (read only).
        window.__frontchannel = [];
        new BroadcastChannel('ngx-oidc-session:frontchannel-logout').onmessage = (event) => window.__frontchannel.push(event.data);
      },
      [CROSS_SITE_APP],
    );
    const frontchannel = [];
    context.on('requestfinished', (request) => {
      if (request.url().startsWith(`${CROSS_SITE_APP}/frontchannel-logout.html`)) frontchannel.push(new URL(request.url()));
    });
    const page = await context.newPage();
    await page.goto(CROSS_SITE_APP);
    await page.getByTestId('login').click();
    await signInAtOp(page, 'alice', { app: CROSS_SITE_APP });
    await status(page, 'authenticated');

    const other = await context.newPage();
    await other.goto(`${OP}/session/end?client_id=ngx-oidc-demo-no-rotation`);
    await other.locator('button[name="logout"][value="yes"]').click();
    // The OP's page goes on once the front-channel iframe (on the app's origin) has loaded and run.
    await other.getByText('You have been signed out of the dev OP.').waitFor();
    assert.equal(frontchannel.length, 1);
    assert.ok(frontchannel[0].searchParams.get('sid'));

    // A message posted afterwards by a top-level page of the app's origin reaches the app: the
    // channel works, and the front-channel page's message, posted before it, never came.
    const marker = await context.newPage();
    await marker.goto(`${CROSS_SITE_APP}/frontchannel-logout.html`); // no iss, no sid: it posts nothing itself
    await marker.evaluate(() => new BroadcastChannel('ngx-oidc-session:frontchannel-logout').postMessage({ type: 'test-marker' }));
    await page.waitForFunction(() => window.__frontchannel.some((message) => message?.type === 'test-marker'));
    assert.deepEqual(await page.evaluate(() => window.__frontchannel), [{ type: 'test-marker' }]);
    assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
    assert.deepEqual(await page.locator('li[data-type="signed_out"]').allTextContents(), []);
  } finally {
    await browser.close();
  }
});
