// Bundle cost: builds the bench app (bench/app) for production in one variant per library and
// measures the JavaScript a browser loads before the app starts (the entry points and what
// they import statically), raw, gzip and brotli. Used by `npm run bench` and by the size-budget
// check of `npm test`.
import { readFileSync, existsSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { run } from '../../tools/lib/run.mjs';

export const benchDir = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const outputRoot = fileURLToPath(new URL('../../dist/bench', import.meta.url));

/** The variants of the bench app, in the order the table shows them. */
export const SIZE_VARIANTS = [
  { id: 'bare', label: 'no auth (baseline)', packages: [] },
  { id: 'ngx-oidc-session', label: 'ngx-oidc-session', packages: [] },
  // The same app with provideAuth(config, withDPoP()): what DPoP costs (compared in its own table).
  { id: 'ngx-oidc-session-dpop', label: 'ngx-oidc-session + withDPoP()', packages: [] },
  { id: 'angular-auth-oidc-client', label: 'angular-auth-oidc-client', packages: ['angular-auth-oidc-client'] },
  { id: 'angular-oauth2-oidc', label: 'angular-oauth2-oidc', packages: ['angular-oauth2-oidc'] },
  { id: 'oidc-client-ts', label: 'oidc-client-ts + minimal service', packages: ['oidc-client-ts'] },
  { id: 'keycloak-angular', label: 'keycloak-angular + keycloak-js', packages: ['keycloak-angular', 'keycloak-js'] },
  { id: 'auth0-angular', label: '@auth0/auth0-angular', packages: ['@auth0/auth0-angular', '@auth0/auth0-spa-js'] },
];

/**
 * Builds one variant (`ng build bench-app -c production,<id>`) with esbuild's metafile, so that
 * the bytes can be traced to their modules. Throws when the build fails.
 *
 * Angular re-bundles the output with Rollup once a build has three lazy chunks or more
 * (NG_BUILD_OPTIMIZE_CHUNKS, default threshold 3): it would do so for one variant (the library's
 * chunks) and not for the baseline, whose Angular code would then be minified differently, and
 * the difference would not be the library's. Every variant is built without that pass, as
 * esbuild alone bundles it, so that the numbers compare with each other and over time.
 */
export async function buildVariant(id, { quiet = true } = {}) {
  const { code, out } = await run('ng', ['build', 'bench-app', '--configuration', `production,${id}`, '--stats-json', '--progress=false'], {
    env: { NG_BUILD_OPTIMIZE_CHUNKS: 'false' },
    cwd: benchDir,
    capture: true,
    quiet,
  });
  if (code !== 0) {
    if (quiet) process.stderr.write(out);
    throw new Error(`building the bench app variant "${id}" failed (exit ${code})`);
  }
  return `${outputRoot}/${id}`;
}

/** esbuild's metafile of a build made with --stats-json. */
function readStats(outputDir) {
  const statsFile = [`${outputDir}/browser-stats.json`, `${outputDir}/stats.json`].find((file) => existsSync(file));
  if (!statsFile) throw new Error(`no esbuild metafile in ${outputDir}: build with --stats-json`);
  return JSON.parse(readFileSync(statsFile, 'utf8'));
}

/** The relative script files a built script imports, statically or with import(). */
function importsOf(outputDir, file) {
  const code = readFileSync(`${outputDir}/browser/${file}`, 'utf8');
  const found = (pattern) => [...code.matchAll(pattern)].map((match) => match[1].replace(/^\.\//, ''));
  return {
    // import{a as b}from"./chunk-X.js"; import"./chunk-X.js"; export{a}from"./chunk-X.js"
    static: found(/\b(?:import|export)\s*(?:[\w$*{}\s,]+from\s*)?["'`](\.\/[^"'`()]+\.js)["'`]/g),
    // import("./chunk-X.js"), or with backticks as Angular's chunk optimizer writes it
    dynamic: found(/\bimport\s*\(\s*["'`](\.\/[^"'`()]+\.js)["'`]\s*\)/g),
  };
}

/** The scripts reachable from `start` through static imports, read from the files the build wrote. */
function withStaticImports(outputDir, start, into = new Set()) {
  const pending = [...start];
  while (pending.length) {
    const file = pending.pop();
    if (into.has(file)) continue;
    into.add(file);
    pending.push(...importsOf(outputDir, file).static);
  }
  return into;
}

/**
 * The JavaScript a browser must load before the app starts: the scripts index.html names and
 * every file they import statically, read from the files the build wrote (not from esbuild's
 * metafile: Angular's chunk optimizer may merge chunks after esbuild, so the metafile can name
 * files that were never written).
 */
export function initialScripts(outputDir) {
  const html = readFileSync(`${outputDir}/browser/index.html`, 'utf8');
  const entries = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+\.js)"/g)].map((match) => match[1].replace(/^\.?\//, ''));
  if (entries.length === 0) throw new Error(`no script in ${outputDir}/browser/index.html`);
  return [...withStaticImports(outputDir, entries)].sort();
}

/**
 * The JavaScript an app can load on demand: every chunk reachable with import() from code the
 * app can run (the initial scripts, and the lazy chunks reachable so far), and what those import
 * statically. A chunk the bundler emitted but that no remaining code imports (esbuild emits one
 * for every import() of a library, even where the code calling it was tree-shaken away) costs
 * users nothing and is not counted.
 */
export function lazyScripts(outputDir) {
  const initial = initialScripts(outputDir);
  const reachable = new Set(initial);
  const lazy = new Set();
  const pending = [...initial];
  while (pending.length) {
    for (const target of importsOf(outputDir, pending.pop()).dynamic) {
      for (const file of withStaticImports(outputDir, [target], new Set())) {
        if (reachable.has(file)) continue;
        reachable.add(file);
        lazy.add(file);
        pending.push(file);
      }
    }
  }
  return [...lazy].sort();
}

/** Raw, gzip (level 9) and brotli (quality 11) bytes of scripts, each compressed on its own as a server would. */
function measureScripts(outputDir, files) {
  const total = { raw: 0, gzip: 0, brotli: 0, files: [] };
  for (const file of files) {
    const bytes = readFileSync(`${outputDir}/browser/${file}`);
    total.raw += bytes.length;
    total.gzip += gzipSync(bytes, { level: 9 }).length;
    total.brotli += brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length;
    total.files.push(file);
  }
  return total;
}

/** The initial scripts' bytes. */
export function measureInitialJs(outputDir) {
  return measureScripts(outputDir, initialScripts(outputDir));
}

/** The lazy scripts' bytes (what is loaded on demand). */
export function measureLazyJs(outputDir) {
  return measureScripts(outputDir, lazyScripts(outputDir));
}

/** Minified bytes per input module in the initial (or the lazy) scripts, from esbuild's metafile. */
export function bytesByModule(outputDir, which = 'initial') {
  const stats = readStats(outputDir);
  const wanted = new Set(which === 'initial' ? initialScripts(outputDir) : lazyScripts(outputDir));
  const modules = new Map();
  for (const [output, info] of Object.entries(stats.outputs)) {
    const name = output.split('/').pop();
    if (!wanted.has(name)) continue;
    for (const [input, { bytesInOutput }] of Object.entries(info.inputs)) {
      modules.set(input, (modules.get(input) ?? 0) + bytesInOutput);
    }
  }
  return modules;
}

/** The budget of the library's own cost, recorded in bench/size-budget.json. */
export function readBudget() {
  return JSON.parse(readFileSync(`${benchDir}/size-budget.json`, 'utf8'));
}

/**
 * oauth4webapi on its own: exactly the exports the built library uses (read from its FESM
 * files), bundled and minified by esbuild. Shows the share of the library's cost that depends on
 * oauth4webapi, and that importing fewer functions would not remove it.
 */
export async function measureOauth4webapiAlone(fesmDir) {
  const { readdirSync } = await import('node:fs');
  const source = readdirSync(fesmDir)
    .filter((file) => file.endsWith('.mjs'))
    .map((file) => readFileSync(`${fesmDir}/${file}`, 'utf8'))
    .join('\n');
  const names = new Set([...source.matchAll(/\boauth\.([A-Za-z_$][\w$]*)/g)].map((match) => match[1]));
  for (const match of source.matchAll(/import \{([^}]*)\} from 'oauth4webapi'/g)) {
    for (const name of match[1].split(',')) if (name.trim()) names.add(name.trim().split(/\s+as\s+/)[0]);
  }
  const { build } = await import('esbuild');
  const result = await build({
    stdin: { contents: `export { ${[...names].sort().join(', ')} } from 'oauth4webapi';`, resolveDir: benchDir, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const bytes = Buffer.from(result.outputFiles[0].contents);
  return { exports: names.size, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

export const kB = (bytes) => (bytes / 1000).toFixed(1);
