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
 * Starts everything a scenario needs. `ttl` sets the OP's token lifetimes (seconds).
 * Returns helpers and a `close()` for `after()`.
 */
export async function startRig({ ttl } = {}) {
  if (!existsSync(`${demoDir}/index.html`)) {
    throw new Error('dist/demo is missing: build the demo first (npm test builds it before the e2e suite).');
  }
  const op = await startDevEnvironment({ testMode: true, quiet: true, ...(ttl ?? {}) });
  let app;
  let browser;
  try {
    app = await serveStatic(demoDir, { port: 4200 });
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
  return {
    op,
    app,
    browser,
    hook,
    counters: () => hook('/counters'),
    resetCounters: () => hook('/counters/reset', { method: 'POST' }),
    async close() {
      await browser.close();
      await app.close();
      await op.close();
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
