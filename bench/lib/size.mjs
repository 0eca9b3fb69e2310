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
 */
export async function buildVariant(id, { quiet = true } = {}) {
  const { code, out } = await run('ng', ['build', 'bench-app', '--configuration', `production,${id}`, '--stats-json', '--progress=false'], {
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

/**
 * The JavaScript a browser must load before the app starts: the entry points and every file
 * they import statically, followed through the metafile (index.html preloads only some of
 * them). esbuild marks the target of an import() as an entry point too: those, and what only
 * they import, are lazy, not initial.
 */
export function initialScripts(outputDir) {
  const { outputs } = readStats(outputDir);
  const name = (path) => path.split('/').pop();
  const byName = new Map(Object.entries(outputs).map(([path, info]) => [name(path), info]));
  const lazyTargets = new Set(
    Object.values(outputs).flatMap((info) => (info.imports ?? []).filter((imported) => imported.kind === 'dynamic-import').map((imported) => name(imported.path))),
  );
  const pending = Object.entries(outputs)
    .filter(([path, info]) => info.entryPoint && path.endsWith('.js') && !lazyTargets.has(name(path)))
    .map(([path]) => name(path));
  const files = new Set();
  while (pending.length) {
    const file = pending.pop();
    if (files.has(file)) continue;
    files.add(file);
    for (const imported of byName.get(file)?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) pending.push(name(imported.path));
    }
  }
  if (files.size === 0) throw new Error(`no entry point in the metafile of ${outputDir}`);
  return [...files].sort();
}

/** The JavaScript loaded on demand (behind import()), that is every other script of the build. */
export function lazyScripts(outputDir) {
  const { outputs } = readStats(outputDir);
  const initial = new Set(initialScripts(outputDir));
  return Object.keys(outputs)
    .map((path) => path.split('/').pop())
    .filter((file) => file.endsWith('.js') && !initial.has(file))
    .sort();
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
