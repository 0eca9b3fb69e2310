#!/usr/bin/env node
// Compiles schematics/ into the built package (dist/ngx-oidc-session/schematics), or with
// --test into out-tsc/schematics-test with the specs, laid out like the package so that the
// schematic reads its package.json the same way in both places.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './lib/run.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const forTests = process.argv.includes('--test');
const packageRoot = forTests ? `${root}out-tsc/schematics-test` : `${root}dist/ngx-oidc-session`;
const outDir = `${packageRoot}/schematics`;

if (!forTests && !existsSync(`${packageRoot}/package.json`)) {
  console.error('dist/ngx-oidc-session is missing: build the library first (ng build ngx-oidc-session).');
  process.exit(1);
}
rmSync(outDir, { recursive: true, force: true });
const tsconfig = forTests ? 'schematics/tsconfig.spec.json' : 'schematics/tsconfig.json';
const { code } = await run('tsc', ['-p', tsconfig], { cwd: root });
if (code !== 0) process.exit(code);

// JSON files (collection, schemas) and templates are not emitted by tsc.
cpSync(`${root}schematics`, outDir, {
  recursive: true,
  filter: (source) => !source.endsWith('.ts') || source.includes('/files/'),
});
rmSync(`${outDir}/tsconfig.json`, { force: true });
rmSync(`${outDir}/tsconfig.spec.json`, { force: true });
// The package itself is ESM ("type": "module"); the CLI loads schematics with require().
writeFileSync(`${outDir}/package.json`, JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');

if (forTests) {
  mkdirSync(packageRoot, { recursive: true });
  cpSync(`${root}projects/ngx-oidc-session/package.json`, `${packageRoot}/package.json`);
  cpSync(`${root}projects/ngx-oidc-session/assets`, `${packageRoot}/assets`, { recursive: true });
} else {
  const manifestPath = `${packageRoot}/package.json`;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (manifest.schematics !== './schematics/collection.json') {
    console.error('dist/ngx-oidc-session/package.json lacks "schematics": "./schematics/collection.json".');
    process.exit(1);
  }
}
console.log(`schematics compiled to ${outDir.replace(root, '')}`);
