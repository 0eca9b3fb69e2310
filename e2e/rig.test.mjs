// The rig itself: the demo loads, the browser reaches the dev OP's discovery document, and the
// protected API refuses a request without a token.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { API, APP, OP } from './support.mjs';

test('the demo loads and shows the signed-out state', async ({ page }) => {
  await page.goto(APP);
  await page.getByTestId('status').filter({ hasText: 'unauthenticated' }).waitFor();
  assert.equal(await page.title(), 'ngx-oidc-session demo');
  assert.equal(await page.getByTestId('login').isVisible(), true);
});

test('the browser fetches the dev OP discovery document from the app origin (CORS)', async ({ page }) => {
  await page.goto(APP);
  const metadata = await page.evaluate(async (op) => {
    const response = await fetch(`${op}/.well-known/openid-configuration`);
    return response.json();
  }, OP);
  assert.equal(metadata.issuer, OP);
  assert.equal(metadata.authorization_response_iss_parameter_supported, true);
  assert.ok(metadata.code_challenge_methods_supported.includes('S256'));
  assert.ok(metadata.revocation_endpoint, 'revocation is enabled');
  assert.ok(metadata.end_session_endpoint, 'RP-initiated logout is enabled');
});

test('the protected API answers 401 without a token', async ({ page }) => {
  await page.goto(APP);
  await page.getByTestId('status').filter({ hasText: 'unauthenticated' }).waitFor();
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').waitFor();
  assert.equal(await page.getByTestId('api-status').textContent(), '401');
  assert.match(await page.getByTestId('api-result').textContent(), /without a token/);
  const log = await fetch(`${API}/__test/api-log`).then((response) => response.json());
  assert.ok(log.some((entry) => entry.path === '/api/hello' && entry.hadAuthorization === false && entry.status === 401));
});
