// Pushed authorization requests (RFC 9126) against the dev OP, which offers them: every flow
// pushes its parameters first and sends the browser with client_id and request_uri only. The
// OP's quirks hide or require PAR, for the auto/always/never choices.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { assertParSeen, resetAuthorizationRequests } from './par-support.mjs';
import { APP, OP, signInFromHome, waitForEvents } from './support.mjs';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
});

const CLIENT = { refresh_token: 'ngx-oidc-demo', iframe: 'ngx-oidc-demo-no-refresh' };

test('redirect sign-in pushes its request (auto, the default)', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  // The OP answers /auth with a redirect at once: the request is seen, not a committed page.
  const authorize = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (request.isNavigationRequest() && url.origin === OP && url.pathname === '/auth') authorize.push([...url.searchParams.keys()].sort());
  });
  await signInFromHome(page);
  await assertParSeen(rig, { clientId: CLIENT.refresh_token });
  assert.deepEqual(authorize, [['client_id', 'request_uri']], 'what the browser was sent to');
  assert.equal((await rig.counters()).par, 1);
});

test('iframe renewal pushes its prompt=none request', async ({ demoPage, rig }) => {
  const { page } = await demoPage('iframe');
  await signInFromHome(page);
  await resetAuthorizationRequests(rig);
  await page.getByTestId('renew').click();
  await waitForEvents(page, 'token_renewed', 1);
  await assertParSeen(rig, { clientId: CLIENT.iframe, prompt: 'none' });
});

test('auto with an OP that does not offer PAR: the plain request, and the sign-in works', async ({ demoPage, rig }) => {
  await rig.hook('/quirks', { method: 'POST', body: { par: 'off' } });
  const { page } = await demoPage('refresh_token');
  await signInFromHome(page);
  const log = await rig.hook('/authorization-requests');
  assert.deepEqual(log.pushed, []);
  assert.equal(log.authorize.length, 1);
  assert.ok(log.authorize[0].params.includes('code_challenge') && !log.authorize[0].pushed);
});

test('auto with an OP that requires PAR: signs in', async ({ demoPage, rig }) => {
  await rig.hook('/quirks', { method: 'POST', body: { par: 'required' } });
  const { page } = await demoPage('refresh_token');
  await signInFromHome(page);
  await assertParSeen(rig, { clientId: CLIENT.refresh_token });
});

for (const [mode, quirk] of [
  ['always', 'off'],
  ['never', 'required'],
]) {
  test(`pushedAuthorization '${mode}' with an OP whose PAR is ${quirk}: config_invalid, and the browser stays`, async ({ demoPage, rig }) => {
    await rig.hook('/quirks', { method: 'POST', body: { par: quirk } });
    const { page, opNavigations } = await demoPage('refresh_token', { testOverride: { config: { pushedAuthorization: mode } } });
    await page.goto(APP);
    await page.getByTestId('login').click();
    await page.getByTestId('error').filter({ hasText: 'config_invalid' }).waitFor();
    assert.deepEqual(opNavigations, []);
    const log = await rig.hook('/authorization-requests');
    assert.deepEqual([log.pushed.length, log.authorize.length], [0, 0]);
  });
}
