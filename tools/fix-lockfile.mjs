#!/usr/bin/env node
// Makes package-lock.json acceptable to `npm ci` on this project's machines.
//
// Why: the registry these machines reach holds only the linux-x64 builds of some
// platform-specific optional packages (oxc-parser, msgpackr-extract, ...). `npm install`
// then writes a lockfile without entries for the other platforms, and `npm ci` rejects
// that lockfile as out of sync ("Missing: @oxc-parser/binding-... from lock file").
// An entry marked optional for a package that cannot be installed on this platform is
// exactly what npm itself would write, so we add those entries. Run it after every
// `npm install` that changes the lockfile: `npm run lock:fix` (the workspace's lockfile), or
// `npm run lock:fix -- compat/angular-20/package-lock.json ...` (the compat apps' lockfiles).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lockPaths = process.argv.slice(2).map((path) => resolve(path));
if (lockPaths.length === 0) lockPaths.push(`${root}package-lock.json`);
for (const lockPath of lockPaths) fixLockfile(lockPath);

/** Where npm would look for `name` when required from the package at `fromPath`. */
function resolveFrom(packages, fromPath, name) {
  let base = fromPath;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

function fixLockfile(lockPath) {
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  const packages = lock.packages;
  const added = [];
  for (const [path, entry] of Object.entries(packages)) {
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
      if (resolveFrom(packages, path, name)) continue;
      const key = `node_modules/${name}`;
      const stub = { version: range.replace(/^[\^~=]/, ''), optional: true };
      if (entry.dev) stub.dev = true;
      packages[key] = stub;
      added.push(name);
    }
  }
  if (added.length > 0) {
    lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
    writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
  }
  const where = lockPath.startsWith(root) ? lockPath.slice(root.length) : lockPath;
  console.log(`fix-lockfile: ${added.length} optional platform package entr${added.length === 1 ? 'y' : 'ies'} added to ${where}`);
}
