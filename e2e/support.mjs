// Shared set-up of the end-to-end scenarios: the dev OP in test mode, the built demo served
// on http://localhost:4200 (another port set in the other Playwright workers, see `workerPort`),
// and helpers that drive the demo in Chromium. Nothing is faked.
// The Playwright Test fixtures that use these are in fixtures.mjs.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDevEnvironment } from '../tools/dev-op/server.mjs';
import { testHooks } from '../tools/dev-op/test-client.mjs';
import { serveStatic } from '../tools/lib/static-server.mjs';
import { CHROMIUM_FLAGS, findChromium } from '../tools/lib/chromium.mjs';

/**
 * Playwright runs the e2e files in several workers at once (playwright.config.mjs), and each
 * worker's rig listens on a port set of its own: the `npm start` ports (4200 app, 4400 OP,
 * 4500 API, 45001 look-alike API) plus 1000 per worker index (worker 1: 5200, 5400, 5500,
 * 55001). The index is Playwright's TEST_PARALLEL_INDEX, which no two running workers share
 * and a replacing worker takes over; outside Playwright it is 0. One demo build serves every
 * set: the demo derives its OP and API from its own port (projects/demo/src/app/demo-settings.ts).
 */
export const WORKER_INDEX = Number(process.env.TEST_PARALLEL_INDEX ?? 0);
const PORT_STEP = 1000;
// The look-alike API's port is the API's port followed by a digit: 65001 is the last that fits.
if (!Number.isInteger(WORKER_INDEX) || WORKER_INDEX < 0 || WORKER_INDEX > 2) {
  throw new Error(`e2e workers have port sets for TEST_PARALLEL_INDEX 0 to 2, got ${process.env.TEST_PARALLEL_INDEX}: use at most 3 workers`);
}

/** A port of the default set, moved to this worker's set. */
export const workerPort = (port) => port + WORKER_INDEX * PORT_STEP;

/**
 * The look-alike API's port: the API port followed by one more digit (45001 beside 4500), the
 * origin that a check comparing string prefixes would wrongly match. The demo derives it so too.
 */
export const lookalikePortOf = (apiPort) => Number(`${apiPort}1`);

/** This worker's port set. */
export const PORTS = Object.freeze({ app: workerPort(4200), op: workerPort(4400), api: workerPort(4500), lookalike: lookalikePortOf(workerPort(4500)) });

export const APP = `http://localhost:${PORTS.app}`;
export const OP = `http://localhost:${PORTS.op}`;
export const API = `http://localhost:${PORTS.api}`;
/** The look-alike API's origin (test mode only): it must never get a token. */
export const LOOKALIKE = `http://localhost:${PORTS.lookalike}`;
/** The second OP (several OPs in one app): the dev environment starts it five ports above the OP. */
export const PARTNER_OP = `http://localhost:${PORTS.op + 5}`;

const demoDir = fileURLToPath(new URL('../dist/demo/browser', import.meta.url));

/**
 * A copy of a built app whose index.html has another `<base href>`: what `ng build --base-href`
 * writes, the only difference in the output. Returns the copy's folder and its removal.
 */
function withBaseHref(appDir, baseHref) {
  const dir = mkdtempSync(join(tmpdir(), 'ngx-oidc-demo-base-'));
  cpSync(appDir, dir, { recursive: true });
  const index = join(dir, 'index.html');
  const html = readFileSync(index, 'utf8');
  const rewritten = html.replace(/<base href="[^"]*">/, `<base href="${baseHref}">`);
  if (rewritten === html) throw new Error(`${appDir}/index.html has no <base href> to rewrite`);
  writeFileSync(index, rewritten);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts everything a scenario needs. `ttl` sets the OP's token lifetimes (seconds); `appDir`
 * serves another built app than the demo on the app origin (the benchmarks' probe page).
 * `baseHref` ('/app/') serves the app under that path, with its `<base href>` rewritten, and
 * registers its redirect URIs there at the OP. `appRequests()` lists the requests the app's
 * server got (method, path, whether an Authorization header came: never its value).
 * `browser` is the Chromium to use (Playwright Test's worker browser); without it the rig
 * launches its own, and closes it again (the benchmarks run outside Playwright Test).
 * The rig listens on this worker's ports (`PORTS`) and registers the app there at the OP;
 * `ports` and `appOrigins` move the OP (without the demo) off them, for a suite that must run
 * beside the others. Returns helpers and a `close()`.
 */
export async function startRig({ ttl, serveDemo = true, appDir = demoDir, baseHref, browser, ports, appOrigins } = {}) {
  if (serveDemo && !existsSync(`${appDir}/index.html`)) {
    throw new Error(`${appDir} is missing: build the app first (npm test builds the demo before the e2e suite).`);
  }
  const ownBrowser = !browser;
  appOrigins ??= [baseHref ? `${APP}${baseHref}` : APP];
  ports ??= { port: PORTS.op, apiPort: PORTS.api, lookalikePort: PORTS.lookalike };
  const op = await startDevEnvironment({ testMode: true, ...(ttl ?? {}), ...ports, appOrigins });
  let app;
  let copy;
  const appRequests = [];
  try {
    if (serveDemo && baseHref) copy = withBaseHref(appDir, baseHref);
    if (serveDemo) app = await serveStatic(copy?.dir ?? appDir, { port: PORTS.app, basePath: baseHref ?? '/', requestLog: appRequests });
    if (ownBrowser) browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: CHROMIUM_FLAGS });
  } catch (error) {
    await app?.close();
    copy?.remove();
    await op.close();
    throw error;
  }
  return {
    op,
    app,
    browser,
    ...testHooks(op),
    appRequests: () => [...appRequests],
    resetAppRequests: () => void appRequests.splice(0),
    async close() {
      // Each step runs even when one before it fails: the ports must be free for the next file.
      try {
        if (ownBrowser) await browser.close();
      } finally {
        try {
          await app?.close();
        } finally {
          copy?.remove();
          await op.close();
        }
      }
    },
  };
}

/**
 * Signs in through the dev OP's login and consent pages and waits until the app has the page
 * back. `op` and `app` name the origins of a rig on other ports than the default one.
 */
export async function signInAtOp(page, user = 'alice', { op = OP, app = APP } = {}) {
  await page.waitForURL((url) => url.origin === op);
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  // Consent page (first sign-in of this user to this client in this OP session).
  await page.waitForURL((url) => url.origin !== op || url.pathname.includes('/interaction/'));
  if (new URL(page.url()).origin === op) {
    await page.locator('button[type="submit"]').click();
  }
  await page.waitForURL((url) => url.origin === app);
}

/**
 * A fresh browser context (its own sessionStorage) running the demo with the given renew
 * strategy. `newContext` opens the context: in tests, the fixture that closes it afterwards.
 * `testOverride` ({ config, logout }) is the demo's test-only bad config and logout options
 * (projects/demo/src/app/demo-settings.ts).
 */
export async function demoPage(newContext, strategy = 'refresh_token', { clock = false, testOverride } = {}) {
  const context = await newContext();
  await context.addInitScript(
    ([app, value, override]) => {
      if (location.origin !== app) return;
      sessionStorage.setItem('ngx-oidc-session-demo:strategy', value);
      if (override) sessionStorage.setItem('ngx-oidc-session-demo:test-override', override);
    },
    [APP, strategy, testOverride ? JSON.stringify(testOverride) : null],
  );
  const page = await context.newPage();
  if (clock) await page.clock.install();
  const opNavigations = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && frame.url().startsWith(OP)) opNavigations.push(frame.url());
  });
  return { context, page, opNavigations };
}

/** Signs in from the demo's home page and waits for the authenticated state. */
export async function signInFromHome(page, user = 'alice') {
  await page.goto(APP);
  await page.getByTestId('login').click();
  await signInAtOp(page, user);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
}

/** How many events of a type the demo's event log shows. */
export function eventCount(page, type) {
  return page.locator(`li[data-type="${type}"]`).count();
}

/** Waits until the demo's event log shows at least `count` events of `type`. */
export function waitForEvents(page, type, count, timeout = 60_000) {
  return page.waitForFunction(
    ([eventType, wanted]) => document.querySelectorAll(`li[data-type="${eventType}"]`).length >= wanted,
    [type, count],
    { timeout },
  );
}

/**
 * A Chromium that partitions third-party storage (BroadcastChannel, localStorage, ... of a frame
 * on another site than the page) as Chrome does. Playwright launches Chromium with that
 * partitioning turned off, in its own --disable-features list (microsoft/playwright#32230); a
 * later --disable-features replaces that list. Close it after use.
 */
export function launchPartitioningChromium() {
  return chromium.launch({ executablePath: findChromium(), headless: true, args: [...CHROMIUM_FLAGS, '--disable-features=MediaRouter'] });
}
