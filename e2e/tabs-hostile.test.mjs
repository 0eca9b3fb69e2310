// Tabs in a hostile world (issue 15, items 9 and 10): a logout wins over a renewal that lands
// after it, another user's sign-in in another tab is a sign-out and a sign-in (never a silent
// switch), no tab keeps token material after a logout, and a full storage leaves the
// session running in memory with one error event.
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';
import { APP, OP, eventCount, signInAtOp, signInFromHome, waitForEvents } from './support.mjs';

const TTL = 10;
test.use({ rigOptions: { ttl: { accessTokenTtl: TTL } } });
test.describe.configure({ timeout: 90_000 });
test.afterEach(({ rig }) => rig.hook('/hold/release', { method: 'POST' }));
test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await rig.hook('/config', { method: 'POST', body: { accessTokenTtl: TTL } });
  await rig.resetApiLog();
});

/**
 * Collects every token the OP hands the pages of `context`, to look for them afterwards. The
 * values stay in this process: assertions name them by kind, never print them.
 */
async function recordTokens(context) {
  const tokens = new Map();
  await context.route(`${OP}/token`, async (route) => {
    const response = await route.fetch();
    if (route.request().method() === 'POST' && response.status() === 200) {
      const body = await response.json();
      for (const kind of ['access_token', 'refresh_token', 'id_token']) if (typeof body[kind] === 'string') tokens.set(body[kind], kind);
    }
    await route.fulfill({ response });
  });
  return tokens;
}

/** The JavaScript heap of `page` after a full garbage collection, as the text of a snapshot. */
async function heapText(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.collectGarbage');
    const chunks = [];
    cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => chunks.push(chunk));
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    return chunks.join('');
  } finally {
    await cdp.detach();
  }
}

/** The event types of the demo's log, oldest first. */
async function eventTypes(page) {
  const newestFirst = await page.locator('[data-testid="events"] li').evaluateAll((items) => items.map((item) => item.getAttribute('data-type')));
  return newestFirst.reverse();
}

test('a renewal that lands after a logout in another tab signs no tab back in, and no tab keeps a token', async ({ demoPage, rig }) => {
  const { context, page: renewing } = await demoPage('refresh_token');
  const tokens = await recordTokens(context);
  await signInFromHome(renewing);
  const other = await context.newPage();
  await other.goto(APP);
  await other.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();

  // The next renewal is held at the OP: it is in flight in one tab when the other logs out
  // (which waits for it under the renewal lock, then revokes what it brought).
  const senders = [];
  for (const tab of [renewing, other]) {
    tab.on('request', (request) => {
      if (request.method() === 'POST' && request.url() === `${OP}/token`) senders.push(tab);
    });
  }
  await rig.hook('/hold', { method: 'POST', body: { endpoints: ['token'] } });
  await rig.hook('/hold/wait', { method: 'POST', body: { count: 1, timeoutMs: TTL * 2000 } });
  const renewer = senders.at(-1);
  const loggingOut = renewer === renewing ? other : renewing;
  await loggingOut.getByTestId('logout').click();
  await rig.hook('/hold/release', { method: 'POST' });
  await loggingOut.waitForURL((url) => url.origin === OP);

  const left = renewer;
  await left.getByTestId('status').filter({ hasText: 'unauthenticated' }).waitFor();
  const counters = await rig.counters();
  assert.equal(counters.refreshTokenReuse, 0);
  assert.ok(counters.revocation >= 1, `the logout revoked the refresh token the late renewal brought (${JSON.stringify(counters)})`);
  const types = await eventTypes(left);
  const signedOutAt = types.lastIndexOf('signed_out');
  assert.ok(signedOutAt >= 0, `the tab that renewed was signed out (${types.join(', ')})`);
  assert.ok(!types.slice(signedOutAt).includes('signed_in'), `and never signed in again (${types.join(', ')})`);

  // A tab opened now finds no session, in storage or in another tab.
  const later = await context.newPage();
  await later.goto(APP);
  await later.getByTestId('status').filter({ hasText: 'unauthenticated' }).waitFor();
  for (const tab of [left, later]) {
    const stored = await tab.evaluate(() => [localStorage, sessionStorage].flatMap((area) => Object.keys(area).filter((key) => key.endsWith(':session'))));
    assert.deepEqual(stored, [], 'no session is left in storage');
  }

  // No token the OP issued is still in the memory of the tab that stayed.
  assert.ok(tokens.size >= 3, 'tokens were recorded');
  const heap = await heapText(left);
  const kept = [...tokens].filter(([token]) => heap.includes(token)).map(([, kind]) => kind);
  assert.deepEqual(kept, [], 'token material left in the memory of a signed-out tab');
});

test("another user's sign-in in another tab is a sign-out and a sign-in here, never a silent switch", async ({ demoPage }) => {
  const { context, page: alices } = await demoPage('refresh_token');
  await signInFromHome(alices, 'alice');
  const switching = await context.newPage();
  await switching.goto(APP);
  await switching.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  await switching.getByTestId('switch-account').click();
  await signInAtOp(switching, 'bob');
  await switching.getByTestId('user-name').filter({ hasText: /bob/i }).waitFor();

  await alices.getByTestId('user-name').filter({ hasText: /bob/i }).waitFor();
  const types = await eventTypes(alices);
  const switchedAt = types.lastIndexOf('signed_out');
  assert.ok(switchedAt >= 0, `alice's tab saw a sign-out (${types.join(', ')})`);
  assert.equal(types[switchedAt + 1], 'signed_in', `followed by bob's sign-in (${types.join(', ')})`);
  assert.match(await alices.locator('[data-testid="events"] li[data-type="signed_in"]').first().textContent(), /bob/i);
});

test('a full storage after sign-in: the session goes on in memory, with one error event', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await signInFromHome(page);
  // Another script of the origin fills the session's storage (the demo keeps it in
  // sessionStorage, the default): there is no room left, not even for the entry it pushes out.
  const filled = await page.evaluate(() => {
    const fill = () => {
      let size = 1 << 20;
      let index = Object.keys(sessionStorage).length;
      while (size >= 1) {
        try {
          sessionStorage.setItem(`filler-${index++}`, 'x'.repeat(size));
        } catch {
          size >>= 1;
        }
      }
    };
    fill();
    for (const key of Object.keys(sessionStorage)) if (key.endsWith(':session')) sessionStorage.removeItem(key);
    fill();
    try {
      // Room for what the session needs (a long key and a few kB of tokens)? Not a byte of it.
      sessionStorage.setItem(`probe-${'k'.repeat(60)}`, 'x'.repeat(200));
      return false;
    } catch {
      return true;
    }
  });
  assert.ok(filled, 'sessionStorage is full');
  await rig.resetCounters();
  const renewed = await eventCount(page, 'token_renewed');
  await waitForEvents(page, 'token_renewed', renewed + 2, 40_000);
  assert.equal(await eventCount(page, 'error'), 1, 'one error event');
  assert.match(await page.locator('li[data-type="error"]').textContent(), /storage_unavailable/);
  const counters = await rig.counters();
  assert.ok(counters.tokenRefresh >= 2);
  assert.equal(counters.tokenRefreshFailed, 0);
  assert.equal(counters.refreshTokenReuse, 0, 'each renewal used the refresh token kept in memory');
  await page.getByTestId('call-api').click();
  await page.getByTestId('api-status').filter({ hasText: '200' }).waitFor();
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
});
