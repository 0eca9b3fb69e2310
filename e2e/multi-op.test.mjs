// Several OPs in one app: the demo's own sign-in (default instance, first OP) and the "Partner
// OP" section (withName('partner'), second OP, another client), side by side in one page. Each
// API call carries only its own instance's token, as the API's log shows by client id (the log
// never holds a token); a logout of one leaves the other signed in and working.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { API, APP, PARTNER_OP, signInAtOp, signInFromHome } from './support.mjs';

const DEMO_CLIENT = 'ngx-oidc-demo';
const PARTNER_CLIENT = 'ngx-oidc-demo-partner';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.resetApiLog();
});

/** Clicks a button that calls an API and waits for that API's answer. */
async function call(page, button, path) {
  const answered = page.waitForResponse((response) => response.url() === `${API}${path}`);
  await page.getByTestId(button).click();
  return (await answered).status();
}

/** The API log as [path, status, whether a token came, whose client it was]. */
async function apiCalls(rig) {
  return (await rig.apiLog()).map((entry) => [entry.path, entry.status, entry.hadAuthorization, entry.clientId ?? null]);
}

/** Signs in to the partner OP from the demo's home page, as another user. */
async function signInToPartner(page, user) {
  await page.getByTestId('partner-login').click();
  await signInAtOp(page, user, { op: PARTNER_OP });
  await page.getByTestId('partner-status').filter({ hasText: /^authenticated$/ }).waitFor();
}

test('two instances signed in to two OPs: each token goes to its own API only', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  let partnerCallback = null;
  page.on('framenavigated', (frame) => {
    const url = new URL(frame.url());
    if (frame === page.mainFrame() && url.origin === APP && url.searchParams.has('code')) partnerCallback = url;
  });
  await signInFromHome(page, 'alice');
  partnerCallback = null;
  await signInToPartner(page, 'bob');

  // The partner's callback went to the partner instance; the demo's own instance neither refused
  // it nor lost its session, and the response left the address bar.
  assert.ok(partnerCallback, 'the partner OP came back with a code');
  assert.equal(partnerCallback.searchParams.get('iss'), PARTNER_OP);
  // At the partner's own redirect URL (mix-up defence, RFC 9700 4.4.2), not the demo's.
  assert.equal(partnerCallback.searchParams.get('op'), 'partner');
  assert.equal(new URL(page.url()).search, '');
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
  assert.match(await page.getByTestId('user-name').textContent(), /Alice/);
  assert.match(await page.getByTestId('partner-user').textContent(), /bob|Bob/);
  assert.equal(await page.getByTestId('error').count(), 0);
  assert.equal(await page.getByTestId('partner-error').count(), 0);

  await rig.resetApiLog();
  assert.equal(await call(page, 'call-api', '/api/hello'), 200);
  assert.equal(await call(page, 'partner-call-api', '/partner-api/hello'), 200);
  assert.deepEqual(await apiCalls(rig), [
    ['/api/hello', 200, true, DEMO_CLIENT],
    ['/partner-api/hello', 200, true, PARTNER_CLIENT],
  ]);

  // A reload restores both sessions, each from its own storage keys.
  await page.reload();
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  await page.getByTestId('partner-status').filter({ hasText: /^authenticated$/ }).waitFor();
  const keys = await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key.endsWith(':session')).sort());
  assert.deepEqual(keys, [`ngx-oidc-session:${PARTNER_CLIENT}@${PARTNER_OP}/#partner:session`, `ngx-oidc-session:${DEMO_CLIENT}@${rig.op.issuer}/:session`]);
});

test('a logout of the partner leaves the demo signed in and working, and the other way round', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await signInFromHome(page, 'alice');
  await signInToPartner(page, 'bob');

  // The partner signs out at its OP; the logout response comes back to the partner instance.
  await page.getByTestId('partner-logout').click();
  await page.waitForURL((url) => url.origin === PARTNER_OP);
  await page.locator('button[name="logout"][value="yes"]').click();
  await page.waitForURL((url) => url.origin === APP);
  await page.getByTestId('partner-status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(new URL(page.url()).search, '', 'the logout state left the address bar');
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
  assert.equal(await page.getByTestId('error').count(), 0);

  await rig.resetApiLog();
  assert.equal(await call(page, 'call-api', '/api/hello'), 200);
  // Signed out of the partner: its API gets no token at all, not the demo's either.
  assert.equal(await call(page, 'partner-call-api', '/partner-api/hello'), 401);
  assert.deepEqual(await apiCalls(rig), [
    ['/api/hello', 200, true, DEMO_CLIENT],
    ['/partner-api/hello', 401, false, null],
  ]);

  // Signed in to the partner again, the demo signs out locally: the partner goes on.
  await signInToPartner(page, 'carol');
  await page.getByTestId('logout').click();
  await page.waitForURL((url) => url.origin === new URL(rig.op.issuer).origin);
  await page.locator('button[name="logout"][value="yes"]').click();
  await page.waitForURL((url) => url.origin === APP);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(await page.getByTestId('partner-status').textContent(), 'authenticated');
  await rig.resetApiLog();
  assert.equal(await call(page, 'partner-call-api', '/partner-api/hello'), 200);
  assert.equal(await call(page, 'call-api', '/api/hello'), 401);
  assert.deepEqual(await apiCalls(rig), [
    ['/partner-api/hello', 200, true, PARTNER_CLIENT],
    ['/api/hello', 401, false, null],
  ]);
});
