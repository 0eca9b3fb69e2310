#!/usr/bin/env node
// Schematic unit specs: Jasmine in Node over the compiled collection (SchematicTestRunner).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Jasmine from 'jasmine';
import { run } from './lib/run.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const build = await run('node', ['tools/build-schematics.mjs', '--test'], { cwd: root });
if (build.code !== 0) process.exit(build.code);

const jasmine = new Jasmine({ projectBaseDir: root });
jasmine.loadConfig({
  spec_dir: 'out-tsc/schematics-test/schematics',
  spec_files: ['**/*.spec.js'],
  random: true,
});
jasmine.exitOnCompletion = false;
let passed = 0;
let failed = 0;
jasmine.addReporter({
  specDone(result) {
    if (result.status === 'passed') passed++;
    else failed++; // failed, pending and excluded all count against us
  },
});
const result = await jasmine.execute();
if (result.overallStatus !== 'passed' && failed === 0) failed = 1;
const summaryFile = process.env.SCHEMATICS_SUMMARY_FILE;
if (summaryFile) {
  mkdirSync(dirname(summaryFile), { recursive: true });
  writeFileSync(summaryFile, JSON.stringify({ passed, failed }));
}
process.exit(failed ? 1 : 0);
