// DPoP (withDPoP() through the demo's switch) in two tabs of one browser with refresh-token
// rotation and 10-second access tokens, against the real dev OP that binds refresh tokens to
// the key: the refreshes carry proofs of the one key, no rotated refresh token comes back, and
// both tabs, the second with the key it read from IndexedDB, call the API with 200 after the
// rotations. The real clock only: the API checks each proof's iat within 60 s.
import assert from 'node:assert/strict';
import { expect } from '@playwright/test';
import { test } from './fixtures.mjs';
import { callApi, signInWithDPoP, storedKeys } from './dpop-support.mjs';
import { APP, OP } from './support.mjs';

const TTL = 10;
const RENEWALS = 3;
test.use({ rigOptions: { ttl: { accessTokenTtl: TTL } } });
test.describe.configure({ timeout: 120_000 });
// As the other many-tab files (tabs.test.mjs): renewals timed to the second.
test.describe.configure({ lock: 'many-tabs' });
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: TTL } });
});

test('two tabs share one DPoP session: refreshes rotate with proofs of one key, no reuse, both tabs call the API with 200', async ({ demoPage, rig }) => {
  const { context, page: first } = await demoPage('refresh_token');
  await signInWithDPoP(first);
  const keys = await storedKeys(first);
  assert.equal(keys.length, 1);

  // A second tab of the same browser: signed in from the shared session, no redirect.
  const second = await context.newPage();
  const toOp = [];
  second.on('framenavigated', (frame) => {
    if (frame === second.mainFrame() && frame.url().startsWith(OP)) toOp.push(frame.url());
  });
  await second.goto(APP);
  await second.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  assert.deepEqual(toOp, [], 'the second tab was signed in without a redirect');
  assert.equal(await second.getByTestId('token-type').textContent(), 'DPoP');

  await rig.resetCounters();
  await rig.resetDpopLog();
  await rig.resetApiLog();
  for (const tab of [first, second]) await tab.getByTestId('auto-call').click();
  // Refreshes that went through (tokenRefresh also counts the nonce challenges, as failed ones).
  const refreshed = async () => {
    const { tokenRefresh, tokenRefreshFailed } = await rig.counters();
    return tokenRefresh - tokenRefreshFailed;
  };
  await expect.poll(refreshed, { timeout: 90_000, intervals: [500] }).toBeGreaterThanOrEqual(RENEWALS);
  for (const tab of [first, second]) await tab.getByTestId('auto-call').click();

  const counters = await rig.counters();
  assert.equal(counters.refreshTokenReuse, 0, 'no rotated refresh token was presented again');
  assert.equal(counters.tokenRefreshWithDPoP, counters.tokenRefresh, 'every refresh carried a proof');
  const refreshLog = (await rig.dpopLog()).filter((entry) => entry.endpoint === 'token' && entry.grantType === 'refresh_token');
  // A tab that has not talked to the OP yet has no OP nonce: its first refresh is challenged
  // once (400 use_dpop_nonce, which the OP counts as a failed refresh) and sent again. Nothing else fails.
  const failed = refreshLog.filter((entry) => entry.status !== 200);
  assert.deepEqual(failed.map((entry) => entry.error), failed.map(() => 'use_dpop_nonce'), `only nonce challenges failed: ${JSON.stringify(refreshLog)}`);
  assert.ok(failed.every((entry) => entry.nonceChallenged));
  assert.ok(failed.length <= 2, 'at most one challenge per tab');
  assert.equal(counters.tokenRefreshFailed, failed.length);
  const refreshes = refreshLog.filter((entry) => entry.status === 200);
  assert.ok(refreshes.length >= RENEWALS && refreshes.every((entry) => entry.tokenType === 'DPoP'), `refreshed as DPoP: ${JSON.stringify(refreshes)}`);
  const log = await rig.apiLog();
  assert.ok(log.length >= 4, `both tabs called the API (${log.length} calls)`);
  assert.deepEqual(
    log.filter((entry) => !(entry.scheme === 'DPoP' && (entry.dpop === 'ok' || entry.dpop === 'use_dpop_nonce'))),
    [],
    'every call was DPoP, ok or a nonce challenge',
  );

  // After the rotations, each tab still calls the API with its proof and gets 200.
  for (const tab of [first, second]) {
    await rig.resetApiLog();
    assert.equal(await callApi(tab), 200);
    expect((await rig.apiLog()).at(-1)).toMatchObject({ scheme: 'DPoP', dpop: 'ok', status: 200 });
    assert.equal(await tab.getByTestId('api-unauthorized-count').textContent(), '0');
    assert.equal(await tab.getByTestId('token-type').textContent(), 'DPoP');
  }
  assert.deepEqual(await storedKeys(second), keys, 'one key for the whole session');
});
