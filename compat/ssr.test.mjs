// Server-side rendering for real: compat/ssr-22 (@angular/ssr, Express, hydration) with the
// packed library, provideAuth, authGuard and the interceptor, built for production and run as
// its own Node server (dist/ssr-22/server/server.mjs) with a tripwire preloaded that reports
// any use of a browser API on the server. Against the dev OP on the compat ports.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signInAtOp } from '../e2e/support.mjs';
import { ACCESS_TOKEN_TTL, test as base } from './fixtures.mjs';
import { OP, SSR_APP, addLibrary, appDir, appOrigin, buildApp, installApp, recordTokens } from './support.mjs';

const SSR = appOrigin(SSR_APP);
const serverEntry = join(appDir(SSR_APP), 'dist', SSR_APP.name, 'server/server.mjs');
const tripwire = fileURLToPath(new URL('./ssr-tripwire.mjs', import.meta.url));
// Far below a held request (which never ends) and far above a render (tens of milliseconds).
const FAST_RENDER_MS = 2_000;

/** The built SSR server, started once per worker (after the build test); `output()` is what it printed. */
const test = base.extend({
  ssrServer: [
    async ({}, use) => {
      assert.ok(existsSync(serverEntry), `${serverEntry} is built by the first test`);
      const child = spawn('node', ['--import', tripwire, serverEntry], {
        env: { ...process.env, PORT: String(SSR_APP.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const listening = new Promise((resolve, reject) => {
        const collect = (chunk) => {
          output += chunk;
          if (/listening on/.test(output)) resolve();
        };
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.on('exit', (code) => reject(new Error(`the SSR server exited with ${code}:\n${output}`)));
      });
      try {
        await listening;
        await use({ output: () => output });
      } finally {
        child.kill();
      }
    },
    { scope: 'worker', timeout: 30_000 },
  ],
});

/** The server's answer for a path, timed; `headers` as a browser sends them (cookies). */
async function render(path, headers = {}) {
  const started = performance.now();
  const response = await fetch(`${SSR}${path}`, { headers });
  const html = await response.text();
  return { status: response.status, html, ms: performance.now() - started };
}

/** The transfer state the server put into the page for the browser (<script id="ng-state">). */
function transferState(html) {
  return html.match(/<script id="ng-state" type="application\/json">([\s\S]*?)<\/script>/)?.[1];
}

const OP_ENDPOINTS = ['discovery', 'jwks', 'authorize', 'interaction', 'token', 'userinfo', 'revocation', 'end_session', 'par'];

test.describe.configure({ mode: 'serial' });

test.beforeEach(async ({ compatOp }) => {
  await compatOp.hook('/reset', { method: 'POST' });
  await compatOp.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
  await compatOp.resetApiLog();
});

test('installs the packed library and builds the server and browser bundles', async ({ tarball }) => {
  await installApp(SSR_APP);
  await addLibrary(SSR_APP, tarball);
  const dist = await buildApp(SSR_APP);
  assert.ok(existsSync(join(dist, 'server/server.mjs')), 'the Node server');
  assert.ok(existsSync(join(dist, 'browser/index.csr.html')) || existsSync(join(dist, 'browser/index.html')), 'the browser bundle');
});

test('renders fast with every OP endpoint held: no request to the OP, no browser API', async ({ compatOp, ssrServer }) => {
  // Every OP request would now wait until released: a render that needed the OP would hang.
  await compatOp.hook('/hold', { method: 'POST', body: { endpoints: OP_ENDPOINTS } });
  try {
    const home = await render('/');
    assert.equal(home.status, 200, 'the home page rendered');
    assert.ok(home.ms < FAST_RENDER_MS, `rendered in ${Math.round(home.ms)} ms`);
    assert.match(home.html, /ng-server-context="ssr"/, 'rendered on the server');
    assert.match(home.html, /<span id="status">unknown<\/span>/, 'the server does not know the session');
    assert.match(home.html, /<span id="angular-version">22\.2\.0<\/span>/);
    // The guarded route is client-rendered (app.routes.server.ts): the server sends the shell.
    const guarded = await render('/protected');
    assert.equal(guarded.status, 200, 'the guarded route answered');
    assert.ok(guarded.ms < FAST_RENDER_MS, `answered in ${Math.round(guarded.ms)} ms`);
    const hold = await compatOp.hook('/hold');
    assert.equal(hold.heldTotal, 0, 'no request reached the OP');
    const counters = await compatOp.counters();
    assert.deepEqual(Object.entries(counters).filter(([, value]) => value !== 0), [], 'the OP counted no request');
  } finally {
    await compatOp.hook('/hold/release', { method: 'POST' });
  }
  assert.doesNotMatch(ssrServer.output(), /\[tripwire\]/, 'no browser API was touched on the server');
  assert.doesNotMatch(ssrServer.output(), /ERROR|Error:/, 'the server logged no error');
});

test('an API call made while rendering goes without a token and does not fail the render', async ({ compatOp, ssrServer }) => {
  const { status, html } = await render('/');
  assert.equal(status, 200);
  // The API refuses a call without a token; the page renders that answer.
  assert.match(html, /<span id="render-call">401<\/span>/, 'the render waited for the call and shows its answer');
  const log = await compatOp.apiLog();
  assert.deepEqual(log.map((entry) => [entry.path, entry.hadAuthorization, entry.status]), [['/api/hello', false, 401]]);
  assert.doesNotMatch(ssrServer.output(), /\[tripwire\]|ERROR|Error:/);
});

test('a guarded route renders no protected content on the server, and none shows before sign-in', async ({ newContext, ssrServer }) => {
  const { status, html } = await render('/protected');
  assert.equal(status, 200);
  assert.match(html, /<app-root><\/app-root>/, "the app's shell, for the browser to render");
  assert.doesNotMatch(html, /id="protected"|Protected content/, 'no protected content in the server HTML');

  // In the browser, the signed-out user goes to the OP; the protected content never enters the DOM.
  const context = await newContext();
  const page = await context.newPage();
  const sightings = [];
  await page.exposeFunction('reportProtected', (url) => sightings.push(url));
  await page.addInitScript(() => {
    new MutationObserver(() => {
      if (document.getElementById('protected')) window.reportProtected(location.href);
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${SSR}/protected`);
  await page.waitForURL((url) => url.origin === OP, { timeout: 10_000 });
  assert.deepEqual(sightings, [], 'the protected content never showed');
  assert.doesNotMatch(ssrServer.output(), /\[tripwire\]|ERROR|Error:/);
});

test('after hydration the browser signs in, renews and calls the API through the interceptor', async ({ compatOp, newContext }) => {
  const context = await newContext();
  const page = await context.newPage();
  // The server's DOM node, noted before the app's scripts run: hydration keeps it, a client
  // render would replace it.
  await page.addInitScript(() => {
    document.addEventListener('readystatechange', () => {
      if (document.readyState === 'interactive') window.serverNode = document.getElementById('angular-version');
    });
  });
  await page.goto(SSR);
  await page.locator('#status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.equal(await page.evaluate(() => window.serverNode?.isConnected && window.serverNode === document.getElementById('angular-version')), true, 'hydrated: the server-rendered DOM was kept');

  await page.locator('#sign-in').click();
  await signInAtOp(page, 'frank', { op: OP, app: SSR });
  await page.locator('#status').filter({ hasText: /^authenticated$/ }).waitFor();
  await page.locator('#renewals').filter({ hasText: /^[1-9]/ }).waitFor({ timeout: ACCESS_TOKEN_TTL * 3000 });
  const counters = await compatOp.counters();
  assert.ok(counters.tokenRefresh >= 1, `renewed with the refresh token (${JSON.stringify(counters)})`);
  assert.equal(counters.tokenRefreshFailed, 0);

  await compatOp.resetApiLog();
  await page.locator('#call-api').click();
  await page.locator('#api-status').filter({ hasText: '200 for frank' }).waitFor();
  const log = await compatOp.apiLog();
  assert.deepEqual(log.map((entry) => [entry.path, entry.status, entry.hadAuthorization]), [['/api/hello', 200, true]]);

  // The guarded route, loaded afresh: the server renders no protected content, the browser does.
  const { html } = await render('/protected');
  assert.doesNotMatch(html, /id="protected"/);
  await page.goto(`${SSR}/protected`);
  await page.locator('#protected').filter({ hasText: 'Protected content for frank' }).waitFor();
  assert.equal(new URL(page.url()).origin, SSR, 'no new sign-in');
});

test("with the signed-in browser's cookies, the server's HTML and transfer state carry no token", async ({ newContext, ssrServer }) => {
  const context = await newContext();
  const page = await context.newPage();
  const { tokens } = await recordTokens(page);
  await page.goto(SSR);
  await page.locator('#sign-in').click();
  await signInAtOp(page, 'grace', { op: OP, app: SSR });
  await page.locator('#status').filter({ hasText: /^authenticated$/ }).waitFor();
  await page.locator('#renewals').filter({ hasText: /^[1-9]/ }).waitFor({ timeout: ACCESS_TOKEN_TTL * 3000 });
  const known = tokens();
  assert.ok(known.length >= 5, `the sign-in and the renewal's tokens were seen (${known.length})`);
  // The OP's session cookies are for localhost, so the browser sends them to the SSR server too.
  assert.ok((await context.cookies(SSR)).length > 0, 'the browser has cookies for the server');

  for (const path of ['/', '/protected']) {
    // The browser context's own request client: its cookies, as a page load would send them.
    const response = await context.request.get(`${SSR}${path}`);
    assert.equal(response.status(), 200);
    const html = await response.text();
    // The server-rendered page carries the transfer state; the client-rendered guarded route has none.
    const state = transferState(html) ?? '';
    if (path === '/') assert.match(state, /^\{/, 'the rendered page carries a transfer state');
    for (const [index, token] of known.entries()) {
      // Never the token itself in a message: only which one it was.
      assert.ok(!html.includes(token), `token #${index} is not in the HTML of ${path}`);
    }
    assert.doesNotMatch(html, /eyJ[\w-]+\.[\w-]+\./, `no JWT in the HTML of ${path}`);
    assert.doesNotMatch(state, /token|Bearer/i, `no token in the transfer state of ${path}`);
    assert.doesNotMatch(html, /id="protected"/);
  }
  assert.doesNotMatch(ssrServer.output(), /\[tripwire\]|ERROR|Error:/);
});
