// Step-up sign-in against the real dev OP (issue 15, item 11): login({ maxAge: 0, acrValues })
// makes the OP authenticate the user again, the library checks auth_time against max_age, and
// the app reads acr and auth_time of the new ID token from the auth state.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { OP, signInAtOp, signInFromHome } from './support.mjs';

test.beforeEach(({ rig }) => rig.hook('/reset', { method: 'POST' }));

const text = (page, testId) => page.getByTestId(testId).textContent();

test('step-up: login({ maxAge: 0, acrValues }) signs the user in again at the OP, and the app reads the new acr and auth_time', async ({ demoPage }) => {
  const { page, opNavigations } = await demoPage('refresh_token');
  await signInFromHome(page);
  // oidc-provider names acr and auth_time only when the request asked for them.
  assert.equal(await text(page, 'acr'), 'none', 'a plain sign-in names no level');
  assert.equal(await page.getByTestId('stepped-up').count(), 0);
  const steppedUpAfter = Math.floor(Date.now() / 1000);

  const request = page.waitForRequest((candidate) => candidate.url().startsWith(`${OP}/auth?`));
  await page.getByTestId('step-up').click();
  const authorize = new URL((await request).url());
  assert.equal(authorize.searchParams.get('max_age'), '0');
  assert.equal(authorize.searchParams.get('acr_values'), 'urn:dev-op:loa:2');
  // The OP has a session, yet asks for the password again: max_age 0.
  await page.waitForURL((url) => url.origin === OP && url.pathname.startsWith('/interaction/'));
  assert.equal(await page.locator('input[name="login"]').count(), 1, 'the OP shows its login form again');
  await signInAtOp(page);
  await page.getByTestId('stepped-up').waitFor();
  assert.equal(await text(page, 'acr'), 'urn:dev-op:loa:2');
  // (amr: oidc-provider releases it only through a claims request, which the demo does not make.)
  const authTime = Number(await text(page, 'auth-time'));
  assert.ok(authTime >= steppedUpAfter - 1 && authTime <= Date.now() / 1000 + 1, 'auth_time is that of the new authentication');
  assert.equal(await text(page, 'status'), 'authenticated');
  assert.equal(await page.getByTestId('error').count(), 0);
  assert.ok(opNavigations.length >= 2);
});

test('an acr_values entry the OP does not support is ignored, not an error: the app sees the acr the OP chose', async ({ demoPage }) => {
  const { page } = await demoPage('refresh_token');
  // The demo's sign-in button asks for no acr; this page asks for one the dev OP lacks.
  await page.route((url) => url.href.startsWith(`${OP}/auth?`), (route) => {
    const url = new URL(route.request().url());
    url.searchParams.set('acr_values', 'urn:example:unknown-level');
    return route.continue({ url: url.href });
  });
  await signInFromHome(page);
  assert.equal(await text(page, 'acr'), 'urn:dev-op:loa:1');
  assert.equal(await page.getByTestId('stepped-up').count(), 0);
});
