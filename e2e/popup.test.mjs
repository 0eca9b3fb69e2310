// Popup sign-in against the real dev OP in Chromium: the app stays on its page while the user
// signs in in a popup, which lands on silent-renew.html and hands the response back. Also the
// browser refusing the popup, a popup the user closes, and an OP whose Cross-Origin-Opener-Policy
// cuts the popup's link to the app (the BroadcastChannel fallback).
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { assertParSeen } from './par-support.mjs';
import { APP, OP, signInFromHome } from './support.mjs';
import { CHROMIUM_FLAGS, findChromium } from '../tools/lib/chromium.mjs';

// Playwright starts Chromium with --disable-popup-blocking; this file keeps the popup blocker of
// a real browser on, so that the popups below pass it as they would for a user: from a click.
test.use({ launchOptions: { executablePath: findChromium(), args: CHROMIUM_FLAGS, ignoreDefaultArgs: ['--disable-popup-blocking'] } });
test.beforeEach(({ rig }) => rig.hook('/reset', { method: 'POST' }));

const status = (page) => page.getByTestId('status');

/** The demo's home page, signed out, noting every navigation of its main frame. */
async function homePage(demoPage, options) {
  const demo = await demoPage('refresh_token', options);
  const navigations = [];
  demo.page.on('framenavigated', (frame) => {
    if (frame === demo.page.mainFrame()) navigations.push(frame.url());
  });
  await demo.page.goto(APP);
  await status(demo.page).filter({ hasText: /^unauthenticated$/ }).waitFor();
  return { ...demo, navigations };
}

/** Clicks "Sign in with popup" and returns the popup, once it is at the OP's login page. */
async function openPopup(page) {
  const opened = page.waitForEvent('popup');
  await page.getByTestId('login-popup').click();
  const popup = await opened;
  await popup.waitForURL((url) => url.origin === OP && url.pathname.includes('/interaction/'));
  await popup.locator('input[name="login"]').waitFor();
  return popup;
}

/** Signs in at the OP's login and consent pages in the popup, and waits until it closed itself. */
async function signInInPopup(popup, user = 'alice') {
  const closed = popup.waitForEvent('close');
  await popup.locator('input[name="login"]').fill(user);
  await popup.locator('input[name="password"]').fill('any password');
  await popup.locator('button[type="submit"]').click();
  await popup.waitForURL((url) => url.origin !== OP || url.pathname.endsWith('/consent') || url.pathname.includes('/interaction/'));
  if (!popup.isClosed() && new URL(popup.url()).origin === OP) await popup.locator('button[type="submit"]').click();
  await closed;
}

test('signs in in a popup: the app never leaves its page, the popup closes itself, the request was pushed (PAR), the API call works', async ({ demoPage, rig }) => {
  const { page, navigations } = await homePage(demoPage);
  const before = navigations.length;
  const popup = await openPopup(page);
  await signInInPopup(popup, 'alice');
  await status(page).filter({ hasText: /^authenticated$/ }).waitFor();
  assert.match(await page.getByTestId('user-name').textContent(), /alice/i);
  assert.deepEqual(navigations.slice(before), [], 'the app page did not navigate');
  assert.equal(page.url(), `${APP}/`);
  assert.equal((await rig.counters()).tokenAuthorizationCode, 1);
  // PAR (RFC 9126) applies to the popup too: its parameters were pushed, the popup got only
  // client_id and request_uri.
  await assertParSeen(rig, { clientId: 'ngx-oidc-demo' });
  // Nothing of the attempt is left in the app's storage.
  const keys = await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key.endsWith(':sign-in')));
  assert.deepEqual(keys, []);
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
});

test('a popup the browser refuses: popup_blocked, no window opens, nothing sent to the OP', async ({ demoPage, rig }) => {
  // The refusal is the browser's own: the app's page comes with a CSP sandbox that allows
  // scripts and its own origin but no popups, so window.open() returns null even for a click.
  // (A popup opened without a click was blocked by Chromium's popup blocker in most runs but not
  // in all: its heuristics are outside this test's control.)
  const demo = await demoPage('refresh_token');
  await demo.page.route(`${APP}/`, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': 'sandbox allow-scripts allow-same-origin allow-forms' } });
  });
  const popups = [];
  demo.context.on('page', (opened) => popups.push(opened));
  await demo.page.goto(APP);
  await status(demo.page).filter({ hasText: /^unauthenticated$/ }).waitFor();
  await demo.page.getByTestId('login-popup').click();
  await demo.page.getByTestId('error').filter({ hasText: 'popup_blocked' }).waitFor();
  assert.equal(await status(demo.page).textContent(), 'unauthenticated');
  assert.deepEqual(popups, []);
  assert.equal((await rig.counters()).authorize, 0);
});

test('the user closes the popup at the OP and clicks again: the first attempt ends (popup_closed), the new popup signs in', async ({ demoPage, rig }) => {
  const { page } = await homePage(demoPage);
  const popup = await openPopup(page);
  await popup.close();
  // Back in the app's window: a popup seen closed at the OP may be one COOP cut off, so the
  // first login() stays pending; clicking again ends it for good and opens a new popup.
  await page.bringToFront();
  const again = await openPopup(page);
  await page.getByTestId('error').filter({ hasText: 'popup_closed' }).waitFor();
  assert.equal(await status(page).textContent(), 'unauthenticated');
  assert.equal((await rig.counters()).tokenAuthorizationCode, 0);
  await signInInPopup(again, 'alice');
  await status(page).filter({ hasText: /^authenticated$/ }).waitFor();
  assert.equal(await page.getByTestId('error').count(), 0, 'the sign-in cleared the error');
  assert.equal((await rig.counters()).tokenAuthorizationCode, 1);
});

test("with the OP's Cross-Origin-Opener-Policy cutting the popup's link, the response comes over the BroadcastChannel", async ({ demoPage, rig }) => {
  await rig.hook('/quirks', { method: 'POST', body: { coopSameOrigin: true } });
  const { page, context, navigations } = await homePage(demoPage);
  // What the popup's page sees: no opener once COOP has cut the link.
  const openers = [];
  await context.exposeBinding('reportOpener', (_source, opener) => openers.push(opener));
  await context.addInitScript(() => {
    if (location.pathname.endsWith('/silent-renew.html')) window.reportOpener(window.opener === null ? 'none' : 'present');
  });
  const before = navigations.length;
  const coopHeaders = [];
  const popup = await openPopup(page);
  popup.on('response', (response) => {
    if (response.url().startsWith(OP)) coopHeaders.push(response.headers()['cross-origin-opener-policy'] ?? null);
  });
  // The user looks back at the app while signing in: the browser reports the popup closed
  // (COOP cut the link), and nothing tells that apart from a closed popup, so login() stays
  // pending; finishing the sign-in in the popup resolves it.
  await page.bringToFront();
  await page.locator('h1').click();
  assert.equal(popup.isClosed(), false, 'the popup is still open');
  await popup.bringToFront();
  await signInInPopup(popup, 'alice');
  await status(page).filter({ hasText: /^authenticated$/ }).waitFor();
  assert.equal(await page.getByTestId('error').count(), 0, 'no error: login() never rejected');
  assert.deepEqual(openers, ['none']);
  assert.ok(coopHeaders.includes('same-origin'), 'the OP sent COOP on its pages');
  assert.deepEqual(navigations.slice(before), []);
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
});

test("with a COOP OP, another tab's sign-in ends the pending popup sign-in for good: its late response signs nobody in", async ({ demoPage, rig }) => {
  await rig.hook('/quirks', { method: 'POST', body: { coopSameOrigin: true } });
  const { page, context } = await homePage(demoPage);
  // What the popup's page leaves in its address bar once it read it: no code, state or iss.
  const landed = [];
  await context.exposeBinding('reportLanding', (_source, search) => landed.push(search));
  await context.addInitScript(() => {
    if (!location.pathname.endsWith('/silent-renew.html')) return;
    const replace = history.replaceState.bind(history);
    history.replaceState = (...args) => {
      replace(...args);
      window.reportLanding(location.search + location.hash);
    };
  });
  const popup = await openPopup(page);
  // The user signs in as bob in another tab meanwhile: this tab takes the session in.
  const other = await context.newPage();
  await signInFromHome(other, 'bob');
  await page.getByTestId('user-name').filter({ hasText: /bob/i }).waitFor();
  // Minutes later, the user finishes alice's sign-in in the popup (still open behind); its page
  // posts the response on the channel, which this tab hears.
  const heard = page.evaluate(
    () =>
      new Promise((resolve) => {
        const channel = new BroadcastChannel('ngx-oidc-session:popup-sign-in');
        channel.onmessage = (event) => {
          channel.close();
          resolve(new URL(event.data.url).searchParams.has('code'));
        };
      }),
  );
  const codeRedemptions = [];
  page.on('request', (request) => {
    if (request.url().startsWith(`${OP}/`) && /grant_type=authorization_code/.test(request.postData() ?? '')) codeRedemptions.push(request.url());
  });
  await popup.bringToFront();
  await signInInPopup(popup, 'alice');
  assert.equal(await heard, true, "alice's response reached this tab");
  assert.deepEqual(landed, [''], 'the popup page cleaned its address bar');
  // A task later the app has handled it too (the same message, the same event loop): it took nothing.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve)));
  assert.deepEqual(codeRedemptions, [], 'this tab redeemed no code');
  assert.equal((await rig.counters()).tokenAuthorizationCode, 1, "only bob's code was redeemed");
  assert.match(await page.getByTestId('user-name').textContent(), /bob/i);
  assert.match(await other.getByTestId('user-name').textContent(), /bob/i);
  // The popup's login() was ended for good when bob's sign-in reached this tab.
  assert.match(await page.getByTestId('error').textContent(), /popup_closed/);
  // (No API call here: once alice signed in at the dev OP in this browser, the OP refused bob's
  // access token, 401 invalid_token; seen while writing this test, an OP session matter.)
});
