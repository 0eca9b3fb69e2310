// The demo served under <base href="/app/">, as `ng build --base-href /app/` makes it: relative
// request URLs are matched against document.baseURI, where the browser sends them, not against
// the origin's root. The app's server logs whether each request carried an Authorization header.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, signInAtOp } from './support.mjs';

test.use({ rigOptions: { baseHref: '/app/' } });

test('under <base href="/app/">, a relative api/ URL gets the token under /app/, and /api/ at the origin root does not', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await page.goto(`${APP}/app/`);
  await page.getByTestId('login').click();
  await signInAtOp(page);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/app/', 'the OP returned to the redirect URL under the base href');

  rig.resetAppRequests();
  await page.getByTestId('call-relative-api').click();
  await page.getByTestId('own-api-result').filter({ hasText: 'api/hello: sent to /app/api/hello, HTTP 200' }).waitFor();
  await page.getByTestId('call-root-api').click();
  await page.getByTestId('own-api-result').filter({ hasText: '/api/hello: sent to /api/hello, HTTP 404' }).waitFor();
  const calls = rig.appRequests().filter((entry) => entry.path.endsWith('/api/hello'));
  assert.deepEqual(
    calls.map(({ path, hadAuthorization }) => [path, hadAuthorization]),
    [
      ['/app/api/hello', true],
      ['/api/hello', false],
    ],
  );
});
