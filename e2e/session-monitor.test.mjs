// OP session monitoring (withSessionMonitor(), the demo's "Session monitoring" switch) against
// the dev OP's own OpenID Connect Session Management and Front-Channel Logout
// (tools/dev-op/session-management.mjs). App and OP are on one site here (localhost, two ports),
// so the OP's check_session iframe reads its cookie in the app's page; the other case is in
// session-monitor-cross-site.test.mjs. Nothing is faked: "another app" is another page of the
// same browser at the OP, signing out there or signing in again there.
import assert from 'node:assert/strict';
import { expect } from '@playwright/test';
import { test } from './fixtures.mjs';
import { API, APP, OP, launchPartitioningChromium, signInAtOp, signInFromHome } from './support.mjs';

const MONITOR_KEY = 'ngx-oidc-session-demo:session-monitor';
/** Another client of the dev OP: the "other app" of these scenarios. */
const OTHER_CLIENT = 'ngx-oidc-demo-no-rotation';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
});

/**
 * A browser context with the demo's session monitoring on (or off), whose pages record every
 * answer the OP's check_session iframe posts to them (read from the page, nothing changed).
 */
async function monitoredContext(newContext, { monitor = true } = {}) {
  const context = await newContext();
  await context.addInitScript(
    ([app, op, key, on]) => {
      if (location.origin !== app) return;
      if (on) localStorage.setItem(key, 'on');
      else localStorage.removeItem(key);
      window.__checkSessionAnswers = [];
      window.addEventListener('message', (event) => {
        if (event.origin === op) window.__checkSessionAnswers.push(event.data);
      });
    },
    [APP, OP, MONITOR_KEY, monitor],
  );
  return context;
}

const status = (page, value) => page.getByTestId('status').filter({ hasText: new RegExp(`^${value}$`) }).waitFor({ timeout: 30_000 });
const events = (page, type) => page.locator(`li[data-type="${type}"]`).allTextContents();
const answers = (page) => page.evaluate(() => [...window.__checkSessionAnswers]);
/** Waits for the demo's event log to show a `session_monitor` event with this status. */
const monitorSays = (page, value) => page.locator('li[data-type="session_monitor"]').filter({ hasText: value }).first().waitFor({ timeout: 30_000 });

/** Signs out of the OP in another page of the same browser, as another app's logout would ("Yes, sign me out"). */
async function signOutAtOp(context) {
  const other = await context.newPage();
  await other.goto(`${OP}/session/end?client_id=${OTHER_CLIENT}`);
  await other.locator('button[name="logout"][value="yes"]').click();
  await other.getByText('You have been signed out of the dev OP.').waitFor();
  return other;
}

test('a sign-out at the OP in another app ends the session in every tab, with signed_out op_session_ended', async ({ newContext, rig }) => {
  const context = await monitoredContext(newContext);
  const first = await context.newPage();
  await signInFromHome(first);
  await monitorSays(first, 'monitoring');
  const second = await context.newPage();
  await second.goto(APP);
  await status(second, 'authenticated');
  await rig.resetCounters();

  await signOutAtOp(context);
  await status(first, 'unauthenticated');
  await status(second, 'unauthenticated');
  const reasons = [...(await events(first, 'signed_out')), ...(await events(second, 'signed_out'))];
  assert.ok(reasons.some((text) => text.includes('op_session_ended')), `one tab saw the OP session end: ${reasons}`);
  // The tab that found out ended it for the others (other_tab), or found out itself.
  assert.ok(reasons.every((text) => /op_session_ended|other_tab/.test(text)), reasons.join(' | '));
  const counters = await rig.counters();
  assert.ok(counters.authorizeNone >= 1, 'the "changed" answer was confirmed with prompt=none before the session ended');
  assert.ok(counters.revocation >= 1, "the ended session's refresh token was revoked");
  assert.deepEqual(await events(first, 'session_expired'), []);
});

test('a new sign-in of the same user at the OP (session_state changes) signs nobody out', async ({ newContext, rig }) => {
  const context = await monitoredContext(newContext);
  const page = await context.newPage();
  await signInFromHome(page);
  await monitorSays(page, 'monitoring');
  await rig.resetCounters();

  // Another app signs the same user in again at the OP (prompt=login): the OP session is a new one.
  const other = await context.newPage();
  const authorize = new URL('/auth', OP);
  for (const [name, value] of Object.entries({
    client_id: OTHER_CLIENT,
    redirect_uri: `${APP}/silent-renew.html`,
    response_type: 'code',
    scope: 'openid',
    state: 'other-app-state',
    nonce: 'other-app-nonce',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    prompt: 'login',
  })) {
    authorize.searchParams.set(name, value);
  }
  await other.goto(authorize.href);
  await signInAtOp(other, 'alice');

  // The app sees "changed", confirms it with prompt=none (same user: kept), then polls with the
  // OP's new session_state and hears "unchanged" again, several times.
  await expect.poll(async () => (await rig.counters()).authorizeNone, { timeout: 30_000 }).toBeGreaterThan(0);
  const confirmedAt = (await answers(page)).length;
  await page.waitForFunction((from) => window.__checkSessionAnswers.slice(from).filter((answer) => answer === 'unchanged').length >= 3, confirmedAt, { timeout: 60_000 });
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
  assert.deepEqual(await events(page, 'signed_out'), []);
  assert.equal((await rig.counters()).authorizeNone, 1, 'one confirmation, no more "changed" after it');
  assert.ok((await answers(page)).includes('changed'));
});

test('front-channel logout: the OP loads frontchannel-logout.html with iss and sid, and the session with that sid ends', async ({ rig }) => {
  // Without a check_session iframe, so that only the front-channel page can end the session.
  await rig.hook('/quirks', { method: 'POST', body: { frontchannelLogout: true, checkSessionIframe: false } });
  // Storage partitioned as in Chrome: app and OP on one site share the channel all the same.
  const browser = await launchPartitioningChromium();
  try {
    const context = await monitoredContext(() => browser.newContext());
    const page = await context.newPage();
    const frontchannel = [];
    context.on('request', (request) => {
      if (request.url().startsWith(`${APP}/frontchannel-logout.html`)) frontchannel.push(new URL(request.url()));
    });
    await signInFromHome(page);
    await monitorSays(page, 'unavailable');
    assert.match((await events(page, 'session_monitor')).join(), /session_monitor_unavailable/);

    await signOutAtOp(context);
    await status(page, 'unauthenticated');
    assert.match((await events(page, 'signed_out')).join(), /op_session_ended/);
    assert.equal(frontchannel.length, 1);
    assert.equal(frontchannel[0].searchParams.get('iss'), OP);
    assert.ok(frontchannel[0].searchParams.get('sid'), 'the OP named the session (sid)');
    assert.deepEqual(await answers(page), [], 'no check_session iframe was polled');
  } finally {
    await browser.close();
  }
});

test('front-channel logout page: opened on its own, or framed by another origin than the OP, it ends nothing (CSRF with a known sid)', async ({ newContext, rig }) => {
  await rig.hook('/quirks', { method: 'POST', body: { frontchannelLogout: true, checkSessionIframe: false } });
  const context = await monitoredContext(newContext);
  await context.addInitScript(
    ([app]) => {
      if (location.origin !== app) return;
      window.__frontchannel = [];
      new BroadcastChannel('ngx-oidc-session:frontchannel-logout').onmessage = (event) => window.__frontchannel.push(event.data);
    },
    [APP],
  );
  const page = await context.newPage();
  await signInFromHome(page);
  // The sid is no secret (an attacker may know it): read from the stored session here.
  const sid = await page.evaluate(() => {
    for (const store of [sessionStorage, localStorage]) {
      for (const key of Object.keys(store)) if (key.endsWith(':session')) return JSON.parse(store.getItem(key)).session.idTokenClaims.sid;
    }
    return null;
  });
  assert.ok(sid, 'the ID token has a sid');
  const forged = `${APP}/frontchannel-logout.html?iss=${encodeURIComponent(OP)}&sid=${encodeURIComponent(sid)}`;
  // Opened at the top: the page does nothing.
  const top = await context.newPage();
  await top.goto(forged);
  // Framed by a page of another origin (the demo API's): the app refuses its embedder.
  const attacker = await context.newPage();
  await attacker.goto(`${API}/`);
  await attacker.evaluate(
    (src) =>
      new Promise((resolve) => {
        const frame = document.createElement('iframe');
        frame.onload = resolve;
        frame.src = src;
        document.body.appendChild(frame);
      }),
    forged,
  );
  await page.waitForFunction(() => window.__frontchannel.length === 1);
  const [message] = await page.evaluate(() => window.__frontchannel);
  assert.equal(message.origin, new URL(API).origin, 'the page names who framed it');
  // A marker posted after the forged message: once it arrived, the app has seen both.
  await top.evaluate(() => new BroadcastChannel('ngx-oidc-session:frontchannel-logout').postMessage({ type: 'test-marker' }));
  await page.waitForFunction(() => window.__frontchannel.some((each) => each?.type === 'test-marker'));
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
  assert.deepEqual(await events(page, 'signed_out'), []);
  // The OP's own logout, which frames the page itself, still ends the session.
  await signOutAtOp(context);
  await status(page, 'unauthenticated');
  assert.match((await events(page, 'signed_out')).join(), /op_session_ended/);
});

test('without withSessionMonitor() nothing watches the OP session: no check_session iframe, no poll', async ({ newContext }) => {
  const context = await monitoredContext(newContext, { monitor: false });
  const page = await context.newPage();
  await page.clock.install();
  await signInFromHome(page);
  // The OP offers it: only the feature is missing.
  const discovery = await (await fetch(`${OP}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.check_session_iframe, `${OP}/session/check`);
  await page.clock.runFor(60_000);
  assert.equal(await page.locator('iframe[title="session check"]').count(), 0);
  assert.deepEqual(await answers(page), []);
  assert.deepEqual(await events(page, 'session_monitor'), []);
  await signOutAtOp(context);
  await page.clock.runFor(60_000);
  assert.equal(await page.getByTestId('status').textContent(), 'authenticated');
});
