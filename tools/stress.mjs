#!/usr/bin/env node
// `npm run stress`: the long variant of the many-tabs suites, on demand (not part of npm test).
// Builds the library and the demo, then runs the five-tab e2e and the tab stress e2e again and
// again, each time with a fresh OP and browser, and reports how many runs passed.
//
//   npm run stress                         10 runs, 12 held renewals per stress run
//   npm run stress -- --runs 20 --cycles 30
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureNode22, run } from './lib/run.mjs';
import { CHROMIUM_FLAGS, findChromium } from './lib/chromium.mjs';

await ensureNode22(import.meta.url);

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, cycles: { type: 'string', default: '12' }, 'skip-build': { type: 'boolean', default: false } },
});
const runs = Number(values.runs);
const cycles = Number(values.cycles);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(cycles) || cycles < 1) {
  console.error('--runs and --cycles must be positive integers');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const env = { CHROME_BIN: findChromium(), CHROMIUM_FLAGS: CHROMIUM_FLAGS.join(' '), STRESS_CYCLES: String(cycles) };

if (!values['skip-build']) {
  for (const [command, args] of [
    ['npm', ['run', '--silent', 'build:lib']],
    ['ng', ['build', 'demo', '--progress=false']],
  ]) {
    const { code } = await run(command, args, { cwd: root, quiet: true });
    if (code !== 0) {
      console.error(`${command} ${args.join(' ')} failed`);
      process.exit(1);
    }
  }
}

let passed = 0;
for (let index = 1; index <= runs; index++) {
  const started = Date.now();
  const { code, out } = await run('playwright', ['test', '--project=e2e', 'e2e/tabs.test.mjs', 'e2e/tabs-stress.test.mjs'], {
    cwd: root,
    env: { ...env, STRESS_SEED: String(index * 0x9e3779b9) },
    capture: true,
    quiet: true,
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (code === 0) passed++;
  console.log(`run ${index}/${runs}: ${code === 0 ? 'passed' : 'FAILED'} (${seconds} s)`);
  if (code !== 0) {
    // Playwright's list reporter marks a failed test with ✘; its error report follows, at the end.
    const report = out.slice(Math.max(0, out.indexOf('  1) ')));
    console.log(report.split('\n').filter((line) => line.trim() && !/^\s+at /.test(line)).slice(0, 40).join('\n'));
  }
}
console.log(`${passed} passed, ${runs - passed} failed`);
process.exit(passed === runs ? 0 : 1);
