#!/usr/bin/env node
// `npm test`: every check and test suite of the workspace, in dependency order, with one
// summary at the end. Each suite reports passed/failed counts; a check (lint, type-check,
// build) counts as one test. The last line is `N passed, N failed` over all suites.
//
//   npm test                  everything
//   npm test -- unit e2e      only the named suites (lint, typecheck, unit, build, size,
//                             schematics, demo, compat, ssr, e2e); later suites may need
//                             earlier ones' output (compat and ssr the build, e2e the build and demo)
import { mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureNode22, run } from './lib/run.mjs';
import { findChromium, ChromiumNotFoundError, CHROMIUM_FLAGS } from './lib/chromium.mjs';

await ensureNode22(import.meta.url);

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = `${root}.test-results`;
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

let chromium;
function chromiumEnv() {
  chromium ??= findChromium();
  return { CHROME_BIN: chromium, CHROMIUM_FLAGS: CHROMIUM_FLAGS.join(' ') };
}

const check = (name, command, args) => ({
  name,
  async run() {
    const { code } = await run(command, args, { cwd: root });
    return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
  },
});

const readSummary = (file, code) => {
  if (!existsSync(file)) return { passed: 0, failed: 1, note: 'the suite wrote no results' };
  const summary = JSON.parse(readFileSync(file, 'utf8'));
  if (code !== 0 && summary.failed === 0) summary.failed = 1; // the runner failed outside any test
  return summary;
};

/** Counts of a node:test run from its spec reporter's summary ("ℹ pass N", "ℹ fail N", ...). */
function nodeTestSummary(out, code) {
  // The last match: the summary comes last, after anything the tests themselves printed.
  const count = (label) => Number([...out.matchAll(new RegExp(`^\\S*\\s*${label} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
  const passed = count('pass');
  let failed = count('fail') + count('skipped') + count('todo') + count('cancelled');
  if (code !== 0 && failed === 0) failed = 1;
  if (passed + failed === 0) failed = 1; // no test ran: that is a failure, not a pass
  return { passed, failed };
}

/**
 * Runs one project of playwright.config.mjs; tools/lib/playwright-summary.mjs writes its counts
 * (skipped, interrupted and never-run tests count as failed). Traces of failed tests are kept
 * under .test-results/playwright.
 */
async function playwright(project, env, args = []) {
  const file = `${resultsDir}/${project}.json`;
  const { code } = await run('playwright', ['test', `--project=${project}`, ...args], {
    cwd: root,
    env: { ...env, PLAYWRIGHT_SUMMARY_FILE: file },
  });
  return readSummary(file, code);
}

/**
 * The apps that the compat, ssr and e2e (ng add) suites install wait on the registry more than
 * on the CPU: their installs start at once, one after another, beside the first suites, and
 * those suites wait for them. Their output is kept quiet; a failed install fails the app's
 * first test, which installs again and shows the output.
 */
const installs = new Map(); // suite name -> Promise of report lines
function startInstalls(suiteNames, { APPS, SSR_APP, installApp }, { NG_ADD_VARIANTS, newApp, ngAddWorkDir }) {
  const timed = async (label, install) => {
    const started = Date.now();
    const outcome = await install().catch((error) => `failed (${error.message.split('\n')[0]})`);
    return `  ${label}: ${outcome} (${Math.round((Date.now() - started) / 1000)} s)`;
  };
  const jobs = [
    ['compat', APPS.map((app) => [`npm ci compat/${app.name}`, () => installApp(app)])],
    ['ssr', [[`npm ci compat/${SSR_APP.name}`, () => installApp(SSR_APP)]]],
    ['e2e', NG_ADD_VARIANTS.map((variant) => [`ng new + npm install ${variant.name} (ng add)`, () => newApp(variant, { quiet: true })])],
  ];
  // Fresh apps for ng add every run (its test removes them at the end).
  if (suiteNames.includes('e2e')) rmSync(ngAddWorkDir, { recursive: true, force: true });
  let previous = Promise.resolve();
  for (const [suite, steps] of jobs) {
    if (!suiteNames.includes(suite)) continue;
    previous = previous.then(async () => {
      const lines = [];
      for (const [label, install] of steps) lines.push(await timed(label, install));
      return lines;
    });
    installs.set(suite, previous);
  }
}

/** A Playwright suite of apps that the installs above prepare. */
const appSuite = (name) => ({
  name,
  async run() {
    const env = chromiumEnv();
    const lines = await installs.get(name);
    console.log(lines.join('\n'));
    return playwright(name, env);
  },
});

const suites = [
  check('lint', 'eslint', ['.', '--max-warnings=0']),
  {
    name: 'typecheck',
    async run() {
      let passed = 0;
      let failed = 0;
      for (const project of [
        'projects/ngx-oidc-session/tsconfig.lib.json',
        'projects/ngx-oidc-session/tsconfig.spec.json',
        'projects/demo/tsconfig.app.json',
        'schematics/tsconfig.spec.json',
      ]) {
        const { code } = await run('tsc', ['-p', project, '--noEmit'], { cwd: root });
        console.log(`  tsc -p ${project}: ${code === 0 ? 'ok' : 'errors'}`);
        code === 0 ? passed++ : failed++;
      }
      return { passed, failed };
    },
  },
  {
    name: 'unit',
    async run() {
      const file = `${resultsDir}/unit.json`;
      const { code } = await run('ng', ['test', 'ngx-oidc-session', '--watch=false', '--progress=false'], {
        cwd: root,
        env: { ...chromiumEnv(), KARMA_SUMMARY_FILE: file },
      });
      return readSummary(file, code);
    },
  },
  check('build', 'npm', ['run', '--silent', 'build:lib']),
  // The library's bundle cost in the bench app against bench/size-budget.json (needs the build above).
  check('size', 'node', ['bench/check-size-budget.mjs']),
  {
    name: 'schematics',
    async run() {
      const file = `${resultsDir}/schematics.json`;
      const { code } = await run('node', ['tools/test-schematics.mjs'], {
        cwd: root,
        env: { SCHEMATICS_SUMMARY_FILE: file },
      });
      return readSummary(file, code);
    },
  },
  check('demo', 'ng', ['build', 'demo', '--progress=false']),
  // Before e2e: their installs, started at the beginning, are done by then, and the timing-
  // sensitive e2e scenarios run with nothing beside them.
  appSuite('compat'),
  appSuite('ssr'),
  {
    name: 'e2e',
    async run() {
      const env = chromiumEnv();
      console.log((await installs.get('e2e')).join('\n'));
      // The dev OP's self-test stays on node:test (no browser); the browser scenarios run on Playwright Test.
      const { code, out } = await run('node', ['--test', '--test-reporter=spec', 'tools/dev-op/selftest.mjs'], { cwd: root, env, capture: true });
      const selftest = nodeTestSummary(out, code);
      const browser = await playwright('e2e', env);
      return { passed: selftest.passed + browser.passed, failed: selftest.failed + browser.failed, note: browser.note };
    },
  },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !suites.some((suite) => suite.name === name));
if (unknown.length) {
  console.error(`Unknown suite(s): ${unknown.join(', ')}. Known: ${suites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

startInstalls(
  suites.map((suite) => suite.name).filter((name) => !wanted.length || wanted.includes(name)),
  await import('../compat/support.mjs'),
  await import('../e2e/ng-new-apps.mjs'),
);

const results = [];
for (const suite of suites) {
  if (wanted.length && !wanted.includes(suite.name)) continue;
  console.log(`\n=== ${suite.name} ===`);
  const started = Date.now();
  let result;
  try {
    result = await suite.run();
  } catch (error) {
    if (!(error instanceof ChromiumNotFoundError)) throw error;
    console.error(error.message);
    result = { passed: 0, failed: 1, note: 'Chromium missing' };
  }
  result.seconds = Math.round((Date.now() - started) / 1000);
  results.push({ name: suite.name, ...result });
}

console.log('\n=== summary ===');
for (const r of results) {
  const status = r.failed ? 'FAIL' : 'ok  ';
  console.log(`${status} ${r.name.padEnd(11)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed  (${r.seconds}s)${r.note ? `  ${r.note}` : ''}`);
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
