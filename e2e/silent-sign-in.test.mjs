// Silent sign-in at start-up (withSilentSignIn, switched on in the demo through localStorage)
// against the dev OP: a page that opens with no session of its own is signed in from the OP's
// session without a redirect, or stays signed out after exactly one hidden request.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { assertParSeen } from './par-support.mjs';
import { APP, OP, signInFromHome } from './support.mjs';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
});

const CLIENT_ID = 'ngx-oidc-demo';

/** A context with the demo's silent sign-in switched on, and a page in it. */
async function silentDemo(demoPage, testOverride) {
  const demo = await demoPage('refresh_token', { testOverride });
  await demo.context.addInitScript((origin) => {
    if (location.origin === origin) localStorage.setItem('ngx-oidc-session-demo:silent-sign-in', 'on');
  }, APP);
  return demo;
}

/** Opens the demo in a new tab of `context`, recording the tab's own navigations to the OP. */
async function openTab(context) {
  const page = await context.newPage();
  const opNavigations = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && frame.url().startsWith(OP)) opNavigations.push(frame.url());
  });
  await page.goto(APP);
  return { page, opNavigations };
}

const silentOutcomes = (page) => page.locator('li[data-type="silent_sign_in"]').allTextContents();
const decided = (page, status) => page.getByTestId('status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor();

test('with an OP session and no session in the tab: signed in with no redirect, reported in the events', async ({ demoPage, rig }) => {
  const { context, page } = await silentDemo(demoPage);
  await signInFromHome(page);
  // The tab that signed in closes: the next one has no session of its own and no tab to hand one over.
  await page.close();
  await rig.resetCounters();
  await rig.hook('/authorization-requests/reset', { method: 'POST' });

  const tab = await openTab(context);
  await decided(tab.page, 'authenticated');
  assert.match(await tab.page.getByTestId('user-name').textContent(), /alice/i);
  assert.deepEqual(tab.opNavigations, [], 'no redirect to the OP');
  const outcomes = await silentOutcomes(tab.page);
  assert.equal(outcomes.length, 1);
  assert.match(outcomes[0], /signed_in/);
  assert.equal(await tab.page.locator('li[data-type="signed_in"]').count(), 1);
  const counters = await rig.counters();
  assert.equal(counters.authorizeNone, 1);
  assert.equal(counters.tokenAuthorizationCode, 1);
  // The hidden request was pushed too (PAR on by default).
  await assertParSeen(rig, { clientId: CLIENT_ID, prompt: 'none' });
  // The API takes the token of the silent sign-in.
  await tab.page.getByTestId('call-api').click();
  await tab.page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
});

test('without an OP session: unauthenticated, no redirect, no loop, exactly one authorization request', async ({ demoPage, rig }) => {
  const { page, opNavigations } = await silentDemo(demoPage);
  await page.goto(APP);
  await decided(page, 'unauthenticated');
  // Everything the start-up began has finished: the hidden request and whatever it might start.
  await page.waitForLoadState('networkidle');
  assert.deepEqual(opNavigations, []);
  assert.equal(new URL(page.url()).origin, APP);
  assert.equal(await page.getByTestId('error').count(), 0, 'no error state');
  const outcomes = await silentOutcomes(page);
  assert.equal(outcomes.length, 1);
  assert.match(outcomes[0], /no_op_session \(login_required\)/);
  const counters = await rig.counters();
  assert.equal(counters.authorize, 1, 'exactly one authorization request');
  assert.equal(counters.authorizeNone, 1);
  assert.equal(counters.tokenAuthorizationCode, 0);
  assert.equal(await page.locator('iframe').count(), 0, 'the hidden iframe is gone');
});

test("no silent sign-in after this tab's logout, although the OP session lives on (local-only logout)", async ({ demoPage, rig }) => {
  const { page } = await silentDemo(demoPage, { logout: { localOnly: true } });
  await signInFromHome(page);
  await page.getByTestId('logout').click();
  await decided(page, 'unauthenticated');
  await rig.resetCounters();
  await page.reload();
  await decided(page, 'unauthenticated');
  await page.waitForLoadState('networkidle');
  assert.equal((await rig.counters()).authorize, 0);
  assert.deepEqual(await silentOutcomes(page), []);
  // Signing in again is one click and no login form: the OP session is still there.
  await page.getByTestId('login').click();
  await decided(page, 'authenticated');
});

test('after a local-only logout, a new tab does not sign in silently either, until the next interactive sign-in', async ({ demoPage, rig }) => {
  const { context, page } = await silentDemo(demoPage, { logout: { localOnly: true } });
  await signInFromHome(page);
  await page.getByTestId('logout').click();
  await decided(page, 'unauthenticated');
  await rig.resetCounters();
  // A new tab has no per-tab marker: the browser-wide record of the logout keeps it from trying
  // (its sign-in would also be shared with the first tab, undoing the logout there).
  const tab = await openTab(context);
  await decided(tab.page, 'unauthenticated');
  await tab.page.waitForLoadState('networkidle');
  assert.equal((await rig.counters()).authorize, 0);
  assert.deepEqual(await silentOutcomes(tab.page), []);
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  // An interactive sign-in lifts it: once both tabs are closed, a new tab signs in silently.
  await tab.page.getByTestId('login').click();
  await decided(tab.page, 'authenticated');
  await decided(page, 'authenticated');
  await tab.page.close();
  await page.close();
  const next = await openTab(context);
  await decided(next.page, 'authenticated');
  assert.match((await silentOutcomes(next.page))[0] ?? '', /signed_in/);
});
