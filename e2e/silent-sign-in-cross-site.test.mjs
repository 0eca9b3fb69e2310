// Silent sign-in where the browser does not send the OP's session cookie in the hidden iframe:
// the demo served from 127.0.0.1 and the dev OP on localhost are two sites, and the OP's
// cookies are SameSite=Lax (oidc-provider's default over http), which Chromium does not send
// in a cross-site iframe. Nothing is faked: the OP session exists (a top-level request to the
// OP signs the user in without a form), yet the hidden request gets login_required, at once.
// (A third-party-cookie switch of Chromium cannot be shown with this OP: its cookies are never
// SameSite=None, which needs https, so they are withheld cross-site whatever the switch says.)
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, signInAtOp } from './support.mjs';

const CROSS_SITE_APP = APP.replace('//localhost:', '//127.0.0.1:');
test.use({ rigOptions: { appOrigins: [CROSS_SITE_APP] } });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
});

const decided = (page, status) => page.getByTestId('status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor();

test('an OP on another site, whose cookie the iframe does not get: no_op_session from the OP at once, no redirect', async ({ newContext, rig }) => {
  assert.notEqual(new URL(CROSS_SITE_APP).hostname, new URL(APP).hostname);
  const context = await newContext();
  await context.addInitScript((origin) => {
    if (location.origin === origin) localStorage.setItem('ngx-oidc-session-demo:silent-sign-in', 'on');
  }, CROSS_SITE_APP);
  const first = await context.newPage();
  await first.goto(CROSS_SITE_APP);
  await decided(first, 'unauthenticated');
  await first.getByTestId('login').click();
  await signInAtOp(first, 'alice', { app: CROSS_SITE_APP });
  await decided(first, 'authenticated');
  await first.close();
  await rig.resetCounters();

  const page = await context.newPage();
  await page.goto(CROSS_SITE_APP);
  await decided(page, 'unauthenticated');
  const outcomes = await page.locator('li[data-type="silent_sign_in"]').allTextContents();
  assert.equal(outcomes.length, 1);
  assert.match(outcomes[0], /no_op_session \(login_required\)/);
  assert.equal(new URL(page.url()).origin, CROSS_SITE_APP);
  const counters = await rig.counters();
  assert.equal(counters.authorizeNone, 1, 'the OP answered the hidden request itself (no timeout)');
  assert.equal(counters.tokenAuthorizationCode, 0);

  // The OP session is there all along: a top-level request carries the cookie and signs in without a form.
  await page.getByTestId('login').click();
  await decided(page, 'authenticated');
  assert.equal((await rig.counters()).tokenAuthorizationCode, 1);
});
