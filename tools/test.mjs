#!/usr/bin/env node
// `npm test`: every check and test suite of the workspace, in dependency order, with one
// summary at the end. Each suite reports passed/failed counts; a check (lint, type-check,
// build) counts as one test. The last line is `N passed, N failed` over all suites.
//
//   npm test                  everything
//   npm test -- unit e2e      only the named suites (build, demo, e2e, lint, typecheck, unit,
//                             size, schematics, compat, ssr); later suites may need earlier
//                             ones' output (size, compat and ssr the build, e2e the build and demo)
//
// The e2e suite mostly waits on real time (token lifetimes, renewals), so it runs beside the
// others: the library and the demo are built first, then e2e starts in the background and the
// other suites run one after another in front meanwhile; its output is printed as one block
// when it ends. Within e2e, Playwright runs three workers, file by file, each with a rig on
// ports of its own (e2e/support.mjs: worker N adds 1000 × N to 4200/4400/4500/45001;
// playwright.config.mjs). compat and ssr stay in front: most of their time is ng builds, CPU
// that would only slow the rest down (tried in the background: their builds ran past the
// test timeout on the shared 2 cores); their registry installs start at the beginning.
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

/**
 * Where a suite's output goes: straight through for the suite in front, or kept for a suite
 * in the background and printed as one block when it ends, so that no two suites' lines mix.
 * `run` is tools/lib/run.mjs's run, `log` console.log.
 */
function suiteOutput(background) {
  if (!background) return { run, log: (line) => console.log(line), kept: () => '' };
  let kept = '';
  return {
    async run(command, args, options = {}) {
      const result = await run(command, args, { ...options, capture: true, quiet: true });
      if (!options.quiet) kept += result.out;
      return result;
    },
    log: (line) => void (kept += `${line}\n`),
    kept: () => kept,
  };
}

const check = (name, command, args) => ({
  name,
  async run(io) {
    const { code } = await io.run(command, args, { cwd: root });
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
async function playwright(io, project, env, args = []) {
  const file = `${resultsDir}/${project}.json`;
  const { code } = await io.run('playwright', ['test', `--project=${project}`, ...args], {
    cwd: root,
    env: { ...env, PLAYWRIGHT_SUMMARY_FILE: file },
  });
  return readSummary(file, code);
}

/**
 * The apps that the compat, ssr and e2e (ng add) suites install wait on the registry more than
 * on the CPU: their installs start at once, one after another, beside the first suites, and
 * those suites wait for them (ng add's first: the e2e suite starts earliest). Their output is
 * kept quiet; a failed install fails the app's first test, which installs again and shows the output.
 */
const installs = new Map(); // suite name -> Promise of report lines
function startInstalls(suiteNames, { APPS, SSR_APP, installApp }, { NG_ADD_VARIANTS, newApp, ngAddWorkDir }) {
  const timed = async (label, install) => {
    const started = Date.now();
    const outcome = await install().catch((error) => `failed (${error.message.split('\n')[0]})`);
    return `  ${label}: ${outcome} (${Math.round((Date.now() - started) / 1000)} s)`;
  };
  const jobs = [
    ['e2e', NG_ADD_VARIANTS.map((variant) => [`ng new + npm install ${variant.name} (ng add)`, () => newApp(variant, { quiet: true })])],
    ['compat', APPS.map((app) => [`npm ci compat/${app.name}`, () => installApp(app)])],
    ['ssr', [[`npm ci compat/${SSR_APP.name}`, () => installApp(SSR_APP)]]],
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
  async run(io) {
    const env = chromiumEnv();
    const lines = await installs.get(name);
    io.log(lines.join('\n'));
    return playwright(io, name, env);
  },
});

const suites = [
  // First the builds that e2e needs, so that it can start early.
  check('build', 'npm', ['run', '--silent', 'build:lib']),
  check('demo', 'ng', ['build', 'demo', '--progress=false']),
  {
    name: 'e2e',
    // Mostly waiting on real time: it runs beside the suites below (see the top of this file).
    lane: 'e2e',
    async run(io) {
      const env = chromiumEnv();
      // The dev OP's self-test stays on node:test (no browser; ports of its own): it runs while
      // the ng add apps are still installing. The browser scenarios run on Playwright Test.
      const [{ code, out }, installLines] = await Promise.all([
        run('node', ['--test', '--test-reporter=spec', 'tools/dev-op/selftest.mjs'], { cwd: root, env, capture: true, quiet: true }),
        installs.get('e2e'),
      ]);
      io.log(installLines.join('\n'));
      io.log(out.trimEnd());
      const selftest = nodeTestSummary(out, code);
      const browser = await playwright(io, 'e2e', env);
      return { passed: selftest.passed + browser.passed, failed: selftest.failed + browser.failed, note: browser.note };
    },
  },
  check('lint', 'eslint', ['.', '--max-warnings=0']),
  {
    name: 'typecheck',
    async run(io) {
      let passed = 0;
      let failed = 0;
      for (const project of [
        'projects/ngx-oidc-session/tsconfig.lib.json',
        'projects/ngx-oidc-session/tsconfig.spec.json',
        'projects/demo/tsconfig.app.json',
        'schematics/tsconfig.spec.json',
      ]) {
        const { code } = await io.run('tsc', ['-p', project, '--noEmit'], { cwd: root });
        io.log(`  tsc -p ${project}: ${code === 0 ? 'ok' : 'errors'}`);
        code === 0 ? passed++ : failed++;
      }
      return { passed, failed };
    },
  },
  {
    name: 'unit',
    async run(io) {
      const file = `${resultsDir}/unit.json`;
      const { code } = await io.run('ng', ['test', 'ngx-oidc-session', '--watch=false', '--progress=false'], {
        cwd: root,
        env: { ...chromiumEnv(), KARMA_SUMMARY_FILE: file },
      });
      return readSummary(file, code);
    },
  },
  // The library's bundle cost in the bench app against bench/size-budget.json (needs the build above).
  check('size', 'node', ['bench/check-size-budget.mjs']),
  {
    name: 'schematics',
    async run(io) {
      const file = `${resultsDir}/schematics.json`;
      const { code } = await io.run('node', ['tools/test-schematics.mjs'], {
        cwd: root,
        env: { SCHEMATICS_SUMMARY_FILE: file },
      });
      return readSummary(file, code);
    },
  },
  appSuite('compat'),
  appSuite('ssr'),
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

/** Runs one suite; resolves with its counts and seconds. */
async function runSuite(suite, io) {
  const started = Date.now();
  let result;
  try {
    result = await suite.run(io);
  } catch (error) {
    if (!(error instanceof ChromiumNotFoundError)) throw error;
    io.log(error.message);
    result = { passed: 0, failed: 1, note: 'Chromium missing' };
  }
  return { name: suite.name, ...result, seconds: Math.round((Date.now() - started) / 1000) };
}

const selected = suites.filter((suite) => !wanted.length || wanted.includes(suite.name));
const results = [];
const inBackground = []; // { suite, io, done }, in the order they started
const lanes = new Map(); // lane -> Promise of its last suite
for (const [index, suite] of selected.entries()) {
  // A suite of a background lane goes beside the suites after it, once the suite before it in
  // its lane has ended; when only background suites are left, they run in front.
  if (suite.lane && selected.slice(index + 1).some((next) => !next.lane)) {
    console.log(`\n=== ${suite.name} (started in the background: its output follows when it ends) ===`);
    const io = suiteOutput(true);
    const done = (lanes.get(suite.lane) ?? Promise.resolve())
      .then(() => runSuite(suite, io))
      // A crash is that suite's failure, reported with its output, not the end of the others.
      .catch((error) => {
        io.log(error.stack);
        return { name: suite.name, passed: 0, failed: 1, note: 'the suite crashed', seconds: 0 };
      });
    lanes.set(suite.lane, done);
    inBackground.push({ suite, io, done });
    continue;
  }
  console.log(`\n=== ${suite.name} ===`);
  results.push(await runSuite(suite, suiteOutput(false)));
}
for (const { suite, io, done } of inBackground) {
  console.log(`\n(waiting for ${suite.name}, which runs in the background)`);
  const result = await done;
  console.log(`\n=== ${suite.name} (ran in the background) ===`);
  process.stdout.write(io.kept());
  results.push(result);
}
// The summary in the suites' order.
results.sort((a, b) => selected.findIndex((suite) => suite.name === a.name) - selected.findIndex((suite) => suite.name === b.name));

console.log('\n=== summary ===');
for (const r of results) {
  const status = r.failed ? 'FAIL' : 'ok  ';
  console.log(`${status} ${r.name.padEnd(11)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed  (${r.seconds}s)${r.note ? `  ${r.note}` : ''}`);
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
