// The Google profile (docs/providers/google.md): not supported as a pure SPA. Google's token
// endpoint wants the client secret of a "Web application" client even with PKCE, and this
// library has no client secret to send (a browser app cannot keep one). Against the dev OP's
// reproduction the sign-in fails with a typed error that carries the OP's answer, the user
// stays signed out, and nothing is stored.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { setQuirks } from './provider-support.mjs';
import { APP, signInAtOp } from './support.mjs';

test.beforeEach(({ rig }) => rig.hook('/reset', { method: 'POST' }));

test("tokenEndpointAuth secret-required: the code exchange's 400 invalid_request is token_error, the user stays signed out, nothing is stored", async ({ demoPage, rig }) => {
  await setQuirks(rig, { tokenEndpointAuth: 'secret-required' });
  const { page } = await demoPage('refresh_token');
  const tokenRequests = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/token') tokenRequests.push(request.postData() ?? '');
  });
  await page.goto(APP);
  await page.getByTestId('login').click();
  await signInAtOp(page);

  const error = page.getByTestId('error');
  await error.filter({ hasText: 'token_error' }).waitFor();
  assert.equal(await page.getByTestId('error-oauth').textContent(), '(the OP said invalid_request: client_secret is missing.)');
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  assert.equal(tokenRequests.length, 1, 'one code exchange, not retried');
  assert.equal(new URLSearchParams(tokenRequests[0]).has('client_secret'), false, 'the library sends no client secret');
  assert.equal(new URL(page.url()).search, '', 'code and state left the address bar');

  const stored = await page.evaluate(() =>
    [sessionStorage, localStorage].flatMap((storage) => Object.keys(storage).map((name) => [name, storage.getItem(name) ?? ''])),
  );
  const ours = stored.filter(([name]) => name.startsWith('ngx-oidc-session:'));
  assert.deepEqual(ours.filter(([name]) => /:(session|sign-in)$/.test(name)).map(([name]) => name), [], 'no session and no sign-in attempt left');
  assert.ok(ours.every(([, value]) => !/accessToken|refreshToken|idToken|codeVerifier/.test(value)), 'no token material in storage');
});

test("idTokenIss scheme-less: an ID token whose iss lacks the scheme (Google's legacy accounts.google.com) is refused: id_token_invalid, the user stays signed out", async ({ demoPage, rig }) => {
  await setQuirks(rig, { idTokenIss: 'scheme-less' });
  const { page } = await demoPage('refresh_token');
  await page.goto(APP);
  await page.getByTestId('login').click();
  await signInAtOp(page);
  await page.getByTestId('error').filter({ hasText: 'id_token_invalid' }).waitFor();
  assert.equal(await page.getByTestId('status').textContent(), 'unauthenticated');
  assert.equal((await rig.counters()).tokenAuthorizationCode, 1, 'the code was redeemed once; its ID token was refused');
  const sessions = await page.evaluate(() => [...Object.keys(sessionStorage), ...Object.keys(localStorage)].filter((name) => name.endsWith(':session')));
  assert.deepEqual(sessions, [], 'no session stored');
});
