// Sign-in core against the real dev OP in Chromium: code + PKCE, reload without OP requests,
// the guard's round trip, logout with revocation and end-session, and rejected tampering.
import assert from 'node:assert/strict';
import { test as base } from './fixtures.mjs';
import { APP, OP, signInAtOp, signInFromHome } from './support.mjs';

/** `newPage()`: a fresh context (closed after the test by the fixture) noting the page's requests to the OP. */
const test = base.extend({
  newPage: async ({ newContext }, use) => use(() => newPage(newContext)),
});
test.beforeEach(({ rig }) => rig.hook('/reset', { method: 'POST' }));

async function newPage(newContext) {
  const context = await newContext();
  const page = await context.newPage();
  const opRequests = [];
  page.on('request', (request) => {
    if (request.url().startsWith(OP)) opRequests.push(request.url());
  });
  return { context, page, opRequests };
}

const status = (page) => page.getByTestId('status').textContent();

test('signs in with code + PKCE and cleans the URL', async ({ newPage, rig }) => {
  const { context, page } = await newPage();
  await signInFromHome(page, 'alice');
  assert.match(await page.getByTestId('user-name').textContent(), /alice/i);
  const url = new URL(page.url());
  assert.equal(url.search, '', 'code, state and iss are gone from the address bar');
  assert.equal(await page.getByTestId('token-type').textContent(), 'Bearer', 'the demo shows the token type (AuthState.tokenType)');
  const counters = await rig.counters();
  assert.equal(counters.tokenAuthorizationCode, 1);
  // The API accepts the token.
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
  await context.close();
});

test('a reload stays signed in with zero requests to the OP', async ({ newPage, rig }) => {
  const { context, page, opRequests } = await newPage();
  await signInFromHome(page);
  await rig.resetCounters();
  opRequests.length = 0;
  await page.reload();
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  assert.deepEqual(opRequests, []);
  const counters = await rig.counters();
  for (const [name, value] of Object.entries(counters)) assert.equal(value, 0, `${name} after reload`);
  await context.close();
});

test('the guard sends a signed-out user to sign in and back to the protected route', async ({ newPage }) => {
  const { context, page } = await newPage();
  await page.goto(`${APP}/protected`);
  await signInAtOp(page);
  await page.getByTestId('protected').waitFor();
  assert.equal(new URL(page.url()).pathname, '/protected');
  assert.equal(new URL(page.url()).search, '');
  await context.close();
});

test('a return URL that normalizes to a protocol-relative path, percent-encoded through the match guard, lands on "/"', async ({ newPage }) => {
  const { context, page } = await newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.name));
  // The router decodes the segment to `.//evil.example`; authMatchGuard returns to `/.//evil.example`,
  // which normalizes to `//evil.example`: another host.
  await page.goto(`${APP}/.%2F%2Fevil.example`);
  await signInAtOp(page);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  assert.equal(page.url(), `${APP}/`);
  assert.equal(await page.getByTestId('error').count(), 0, 'the sign-in completed without an error');
  assert.deepEqual(pageErrors, [], 'start-up threw nothing');
  // The members area itself is reached through the same guard.
  await page.goto(`${APP}/members`);
  await page.getByTestId('protected').waitFor();
  await context.close();
});

test('logout revokes the refresh token and ends the OP session', async ({ newPage, rig }) => {
  const { context, page } = await newPage();
  await signInFromHome(page);
  await page.getByTestId('logout').click();
  await page.waitForURL((url) => url.origin === OP);
  await page.locator('button[name="logout"][value="yes"]').click();
  await page.waitForURL((url) => url.origin === APP);
  await page.getByTestId('status').filter({ hasText: 'unauthenticated' }).waitFor();
  assert.equal(new URL(page.url()).search, '', 'the logout state is removed from the URL');
  const counters = await rig.counters();
  assert.equal(counters.revocation, 1);
  assert.equal(counters.endSessionConfirmed, 1);
  // The OP session is gone: signing in again asks for credentials.
  await page.getByTestId('login').click();
  await page.waitForURL((url) => url.origin === OP);
  await page.locator('input[name="login"]').waitFor();
  await context.close();
});

test('a callback URL loaded again after sign-in changes nothing: same session, no second redemption, URL cleaned', async ({ newPage, rig }) => {
  const { context, page } = await newPage();
  let callback = null;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && frame.url().startsWith(APP) && new URL(frame.url()).searchParams.has('code')) callback = frame.url();
  });
  await signInFromHome(page);
  assert.ok(callback, 'the OP returned with a code');
  const user = await page.getByTestId('user-name').textContent();
  await rig.resetCounters();
  const noCodeLeft = (target) => assert.ok(!['code', 'state', 'iss'].some((name) => new URL(target.url()).searchParams.has(name)), 'the response left the URL');
  // A reload of the callback URL (or history back to it): the code is not redeemed again.
  await page.goto(callback);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  noCodeLeft(page);
  // The same link pasted into a new tab: the session comes from the live tab, no redemption.
  const pasted = await context.newPage();
  await pasted.goto(callback);
  await pasted.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  noCodeLeft(pasted);
  // A callback crafted on another site, with a code and state of its own.
  await page.goto(`${APP}/?code=crafted-code&state=crafted-state&iss=${encodeURIComponent(OP)}`);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  noCodeLeft(page);
  for (const tab of [page, pasted]) {
    assert.equal(await tab.getByTestId('user-name').textContent(), user);
    assert.equal(await tab.getByTestId('error').count(), 0, 'no error is shown');
  }
  const counters = await rig.counters();
  assert.equal(counters.tokenAuthorizationCode, 0, 'no code was redeemed again');
  // The session still works at the API.
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
});

for (const [what, code] of [
  ['state', 'state_mismatch'],
  ['iss', 'iss_mismatch'],
  ['nonce', 'id_token_invalid'],
]) {
  test(`a tampered ${what} is rejected (${code})`, async ({ newPage, rig }) => {
    const { context, page } = await newPage();
    await rig.hook('/tamper', { method: 'POST', body: { what } });
    await page.goto(APP);
    await page.getByTestId('login').click();
    await page.waitForURL((url) => url.origin === OP);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('x');
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.origin !== OP || url.pathname.includes('/interaction/'));
    if (new URL(page.url()).origin === OP) await page.locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.origin === APP);
    await page.getByTestId('error').waitFor();
    assert.equal(await status(page), 'unauthenticated');
    assert.match(await page.getByTestId('error').textContent(), new RegExp(code));
    assert.equal(new URL(page.url()).search, '', 'the rejected response is removed from the URL');
    const counters = await rig.counters();
    // state and iss are checked before the code is redeemed.
    assert.equal(counters.tokenAuthorizationCode, what === 'nonce' ? 1 : 0);
    await context.close();
  });
}
