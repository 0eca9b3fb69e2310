// Renew cost and interceptor overhead, measured in Chromium against the dev OP: the probe page
// (bench/app/src/main.probe.ts, built as dist/bench/probe) is served on the app origin, signs
// in for real, and is driven through the `window.benchProbe` API it exposes.
import { APP, OP, signInAtOp, startRig } from '../../e2e/support.mjs';
import { outputRoot } from './size.mjs';

const STRATEGY_KEY = 'ngx-oidc-session-bench:strategy';
const DPOP_KEY = 'ngx-oidc-session-bench:dpop';

/** Opens the probe in a fresh context with the given renew strategy (and withDPoP() or not) and signs in. */
async function signedInProbe(browser, strategy, { dpop = false } = {}) {
  const context = await browser.newContext();
  await context.addInitScript(([settings, app]) => {
    if (location.origin === app) for (const [key, value] of settings) sessionStorage.setItem(key, value);
  }, [[[STRATEGY_KEY, strategy], ...(dpop ? [[DPOP_KEY, 'on']] : [])], APP]);
  const page = await context.newPage();
  await page.goto(APP);
  await page.waitForFunction(() => 'benchProbe' in window);
  await page.evaluate(() => {
    void window.benchProbe.login();
  });
  await signInAtOp(page);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  return { context, page };
}

/** Median and spread of a list of numbers. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/**
 * Forces `rounds` renewals one after another and records, for each, the time until the new
 * token is usable and the requests the page made (to the OP, and to the app's origin).
 */
async function measureRenewals(page, rounds) {
  const requests = [];
  page.on('request', (request) => requests.push(new URL(request.url())));
  // One renewal first, so that the lock, the iframe page and the connection are warm alike for every round.
  await page.evaluate(() => window.benchProbe.renew());
  const durations = [];
  const opRequests = [];
  const appRequests = [];
  const endpoints = new Map();
  for (let i = 0; i < rounds; i++) {
    const mark = requests.length;
    durations.push(await page.evaluate(() => window.benchProbe.renew()));
    const made = requests.slice(mark);
    const toOp = made.filter((url) => url.origin === OP);
    opRequests.push(toOp.length);
    appRequests.push(made.filter((url) => url.origin === APP).length);
    for (const url of toOp) endpoints.set(url.pathname, (endpoints.get(url.pathname) ?? 0) + 1);
  }
  return {
    ms: summarize(durations),
    opRequests: summarize(opRequests),
    appRequests: summarize(appRequests),
    endpoints: Object.fromEntries([...endpoints].map(([path, count]) => [path, count / rounds])),
  };
}

/**
 * Runs both measurements. Returns
 * `{ renew: { refresh_token, iframe }, interceptor: { secureUs, otherUs, baselineUs }, interceptorDPoP: { ..., tokenType } }`.
 */
export async function runProbe({ rounds = 25, batches = 31, perBatch = 2000, log = console.log } = {}) {
  const rig = await startRig({ appDir: `${outputRoot}/probe/browser` });
  try {
    const renew = {};
    let interceptor;
    for (const strategy of ['refresh_token', 'iframe']) {
      if (rounds === 0 && strategy === 'iframe') continue;
      const { context, page } = await signedInProbe(rig.browser, strategy);
      try {
        if (rounds > 0) {
          log(`  renew cost, ${strategy}: ${rounds} renewals`);
          renew[strategy] = await measureRenewals(page, rounds);
        }
        if (strategy === 'refresh_token' && batches > 0) {
          log(`  interceptor overhead: ${batches} batches of ${perBatch} requests per setup`);
          interceptor = await page.evaluate(([b, n]) => window.benchProbe.interceptorOverhead(b, n), [batches, perBatch]);
        }
      } finally {
        await context.close();
      }
    }
    let interceptorDPoP;
    if (batches > 0) {
      // The same measurement with withDPoP(): a real proof (WebCrypto, P-256) per request.
      const { context, page } = await signedInProbe(rig.browser, 'refresh_token', { dpop: true });
      try {
        log(`  interceptor overhead with withDPoP(): ${batches} batches of ${perBatch} requests per setup`);
        interceptorDPoP = await page.evaluate(([b, n]) => window.benchProbe.interceptorOverhead(b, n), [batches, perBatch]);
        interceptorDPoP.tokenType = await page.evaluate(() => window.benchProbe.tokenType());
        if (interceptorDPoP.tokenType !== 'DPoP') log(`  (the withDPoP() page holds a ${interceptorDPoP.tokenType} token set: no proofs were made)`);
      } finally {
        await context.close();
      }
    }
    return { renew, interceptor, interceptorDPoP, chromium: rig.browser.version() };
  } finally {
    await rig.close();
  }
}
