// Shared set-up of the end-to-end scenarios: the dev OP in test mode, the built demo served
// on http://localhost:4200, and Chromium driven by playwright-core. Nothing is faked.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDevEnvironment } from '../tools/dev-op/server.mjs';
import { serveStatic } from '../tools/lib/static-server.mjs';
import { CHROMIUM_FLAGS, findChromium } from '../tools/lib/chromium.mjs';

export const APP = 'http://localhost:4200';
export const OP = 'http://localhost:4400';
export const API = 'http://localhost:4500';

const demoDir = fileURLToPath(new URL('../dist/demo/browser', import.meta.url));

/**
 * Starts everything a scenario needs. `ttl` sets the OP's token lifetimes (seconds); `appDir`
 * serves another built app than the demo on the app origin (the benchmarks' probe page).
 * Returns helpers and a `close()` for `after()`.
 */
export async function startRig({ ttl, serveDemo = true, appDir = demoDir } = {}) {
  if (serveDemo && !existsSync(`${appDir}/index.html`)) {
    throw new Error(`${appDir} is missing: build the app first (npm test builds the demo before the e2e suite).`);
  }
  const op = await startDevEnvironment({ testMode: true, ...(ttl ?? {}) });
  let app;
  let browser;
  try {
    if (serveDemo) app = await serveStatic(appDir, { port: 4200 });
    browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: CHROMIUM_FLAGS });
  } catch (error) {
    await app?.close();
    await op.close();
    throw error;
  }
  const hook = async (path, { method = 'GET', body } = {}) => {
    const response = await fetch(`${OP}/__test${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`test hook ${method} ${path} answered ${response.status}`);
    return response.status === 204 ? null : response.json();
  };
  const apiHook = async (path, method = 'GET') => {
    const response = await fetch(`${API}/__test${path}`, { method });
    if (!response.ok) throw new Error(`API test hook ${method} ${path} answered ${response.status}`);
    return response.status === 204 ? null : response.json();
  };
  return {
    op,
    app,
    apiLog: () => apiHook('/api-log'),
    resetApiLog: () => apiHook('/api-log/reset', 'POST'),
    browser,
    hook,
    counters: () => hook('/counters'),
    resetCounters: () => hook('/counters/reset', { method: 'POST' }),
    async close() {
      // Each step runs even when one before it fails: the ports must be free for the next file.
      try {
        await browser.close();
      } finally {
        try {
          await app?.close();
        } finally {
          await op.close();
        }
      }
    },
  };
}

/** Signs in through the dev OP's login and consent pages. */
export async function signInAtOp(page, user = 'alice') {
  await page.waitForURL((url) => url.origin === OP);
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  // Consent page (first sign-in of this user to this client in this OP session).
  await page.waitForURL((url) => url.origin !== OP || url.pathname.includes('/interaction/'));
  if (new URL(page.url()).origin === OP) {
    await page.locator('button[type="submit"]').click();
  }
  await page.waitForURL((url) => url.origin === APP);
}

const openContexts = new Set();

/** Closes every context demoPage() opened: a failed test must not leave a page running. */
export async function closeDemoPages() {
  await Promise.all([...openContexts].map((context) => context.close()));
}

/** A fresh browser context (its own sessionStorage) running the demo with the given renew strategy. */
export async function demoPage(browser, strategy = 'refresh_token', { clock = false } = {}) {
  const context = await browser.newContext();
  openContexts.add(context);
  context.on('close', () => openContexts.delete(context));
  await context.addInitScript((value) => {
    if (location.origin === 'http://localhost:4200') sessionStorage.setItem('ngx-oidc-session-demo:strategy', value);
  }, strategy);
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
