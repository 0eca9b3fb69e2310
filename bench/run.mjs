#!/usr/bin/env node
// `npm run bench`: what ngx-oidc-session costs, side by side with the libraries Angular teams
// use today. Prints a table and writes it to bench/results/<date>.md (and .json).
//
//   npm run bench                      everything (about a minute on 2 cores)
//   npm run bench -- size              only the bundle cost
//   npm run bench -- renew interceptor only the browser measurements
//
// Not part of `npm test`; the size budget check there (bench/check-size-budget.mjs) reuses
// the same build and measurement.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ensureNode22, run } from '../tools/lib/run.mjs';

await ensureNode22(import.meta.url);

const { SIZE_VARIANTS, benchDir, buildVariant, bytesByModule, kB, measureInitialJs, measureLazyJs, measureOauth4webapiAlone, outputRoot, readBudget } = await import(
  './lib/size.mjs'
);
const { runProbe } = await import('./lib/probe.mjs');

const PARTS = ['size', 'renew', 'interceptor'];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((part) => !PARTS.includes(part));
if (unknown.length) {
  console.error(`Unknown part(s): ${unknown.join(', ')}. Known: ${PARTS.join(', ')}`);
  process.exit(2);
}
const doing = (part) => wanted.length === 0 || wanted.includes(part);
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const versionOf = (dir, name) => JSON.parse(readFileSync(`${dir}/node_modules/${name}/package.json`, 'utf8')).version;

async function step(label, command, args, cwd) {
  console.log(`\n> ${label}`);
  const { code } = await run(command, args, { cwd });
  if (code !== 0) {
    console.error(`${label} failed (exit ${code})`);
    process.exit(1);
  }
}

// The other libraries live in bench/node_modules, pinned by bench/package-lock.json. Without
// their peer dependencies, so that Angular and rxjs resolve to the workspace's own copies.
if (doing('size')) {
  const lock = readFileSync(`${benchDir}/package-lock.json`, 'utf8');
  const marker = `${benchDir}/node_modules/.installed-from-lock`;
  const installed = existsSync(marker) ? readFileSync(marker, 'utf8') : '';
  if (installed !== lock) {
    await step('install the compared libraries (bench/package-lock.json)', 'npm', ['ci', '--legacy-peer-deps', '--no-audit', '--no-fund'], benchDir);
    writeFileSync(marker, lock);
  }
}
await step('build ngx-oidc-session (dist/ngx-oidc-session)', 'npm', ['run', '--silent', 'build:lib'], root);

const results = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.versions.node}`,
  versions: { '@angular/core': versionOf(root, '@angular/core'), '@angular/build': versionOf(root, '@angular/build') },
};

if (doing('size')) {
  console.log('\n> bundle cost: production builds of the bench app, one per library');
  results.size = [];
  for (const variant of SIZE_VARIANTS) {
    process.stdout.write(`  ${variant.label} … `);
    const outputDir = await buildVariant(variant.id);
    const measured = measureInitialJs(outputDir);
    const lazy = measureLazyJs(outputDir);
    const versions = Object.fromEntries(variant.packages.map((name) => [name, versionOf(benchDir, name)]));
    if (variant.id.startsWith('ngx-oidc-session')) {
      versions['ngx-oidc-session'] = JSON.parse(readFileSync(`${root}/dist/ngx-oidc-session/package.json`, 'utf8')).version;
      versions.oauth4webapi = versionOf(root, 'oauth4webapi');
    }
    results.size.push({ id: variant.id, label: variant.label, versions, ...measured, lazy });
    console.log(`${kB(measured.gzip)} kB gzip at start, ${kB(lazy.gzip)} kB on demand`);
  }
  const bare = results.size[0];
  for (const row of results.size) {
    row.delta = { raw: row.raw - bare.raw, gzip: row.gzip - bare.gzip, brotli: row.brotli - bare.brotli };
    // On demand: what the library's import() chunks add (the bare app has none of its own).
    row.lazyDelta = { raw: row.lazy.raw - bare.lazy.raw, gzip: row.lazy.gzip - bare.lazy.gzip, brotli: row.lazy.brotli - bare.lazy.brotli };
  }
  results.budget = readBudget();

  console.log('  where the bytes go: ngx-oidc-session built from source, per module');
  results.oauth4webapiAlone = await measureOauth4webapiAlone(`${root}/dist/ngx-oidc-session/fesm2022`);
  const sourceDir = await buildVariant('ngx-oidc-session-source');
  results.breakdown = breakdown(bytesByModule(`${outputRoot}/bare`), bytesByModule(sourceDir), bytesByModule(sourceDir, 'lazy'));
}

if (doing('renew') || doing('interceptor')) {
  console.log('\n> renew cost and interceptor overhead in Chromium against the dev OP');
  const probeDir = await buildVariant('probe');
  // The asset lives outside the bench workspace, which the builder refuses; the page needs it for iframe renewals.
  copyFileSync(`${root}/dist/ngx-oidc-session/assets/silent-renew.html`, `${probeDir}/browser/silent-renew.html`);
  const probe = await runProbe({
    rounds: doing('renew') ? 25 : 0,
    batches: doing('interceptor') ? 31 : 0,
  });
  results.versions.chromium = probe.chromium;
  if (doing('renew')) results.renew = probe.renew;
  if (doing('interceptor')) {
    results.interceptor = probe.interceptor;
    results.interceptorDPoP = probe.interceptorDPoP;
  }
}

const report = formatReport(results);
console.log(`\n${report}`);
mkdirSync(`${benchDir}/results`, { recursive: true });
const base = `${benchDir}/results/${results.date}${wanted.length ? `-${wanted.join('-')}` : ''}`;
writeFileSync(`${base}.md`, report);
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
console.log(`Written to ${base.slice(root.length + 1)}.md and .json`);

/**
 * The library's bytes by source folder, plus what it pulls in that the bare app does not have
 * (oauth4webapi, more of Angular and rxjs). Minified bytes, before compression.
 */
function breakdown(bareModules, initialModules, lazyModules) {
  const groups = new Map();
  const add = (group, column, bytes) => {
    const entry = groups.get(group) ?? { group, initial: 0, lazy: 0 };
    entry[column] += bytes;
    groups.set(group, entry);
  };
  const group = (input) => {
    const lib = input.match(/projects\/ngx-oidc-session\/src\/(?:lib\/)?([^/]+)/);
    if (lib) return `ngx-oidc-session: ${lib[1].replace(/\.ts$/, '')}`;
    if (input.includes('node_modules/oauth4webapi/')) return 'oauth4webapi';
    if (input.includes('node_modules/rxjs/')) return 'rxjs (more operators)';
    if (input.includes('node_modules/@angular/')) return 'Angular (more of it)';
    return 'app code and other';
  };
  // Every initial module counts with its difference to the bare app, including those only the bare app has.
  for (const input of new Set([...initialModules.keys(), ...bareModules.keys()])) {
    add(group(input), 'initial', (initialModules.get(input) ?? 0) - (bareModules.get(input) ?? 0));
  }
  for (const [input, bytes] of lazyModules) add(group(input), 'lazy', bytes);
  return [...groups.values()].filter(({ initial, lazy }) => initial !== 0 || lazy !== 0).sort((a, b) => b.initial + b.lazy - (a.initial + a.lazy));
}

function formatReport(r) {
  const lines = [`# ngx-oidc-session benchmarks, ${r.date}`, '', `Machine: ${r.machine}. Angular ${r.versions['@angular/core']} (@angular/build ${r.versions['@angular/build']})${r.versions.chromium ? `, Chromium ${r.versions.chromium}` : ''}.`, ''];
  if (r.size) {
    lines.push(
      '## Bundle cost',
      '',
      'JavaScript of the same standalone app (one routed page reading the auth state, `provideHttpClient` with the',
      "library's interceptor for one API origin, code + PKCE with refresh tokens), production build. gzip level 9, brotli",
      'quality 11, each file on its own. **At start**: the scripts loaded before the app starts (the entry and what it',
      'imports statically). **On demand**: the chunks behind `import()`, loaded later (ngx-oidc-session loads its protocol',
      'chunk when the browser is first idle, or at once for a sign-in, a callback or a renewal). Delta = over the app',
      'without auth.',
      '',
      '| build | versions | at start, gzip | Δ at start, gzip | Δ on demand, gzip | Δ in all, gzip | Δ at start, brotli | Δ at start, raw |',
      '|---|---|--:|--:|--:|--:|--:|--:|',
    );
    for (const row of r.size) {
      const versions = Object.entries(row.versions).map(([name, version]) => `${name} ${version}`).join(', ') || '–';
      const cells =
        row.id === 'bare'
          ? ['–', '–', '–', '–', '–']
          : [`${kB(row.delta.gzip)} kB`, `${kB(row.lazyDelta.gzip)} kB`, `${kB(row.delta.gzip + row.lazyDelta.gzip)} kB`, `${kB(row.delta.brotli)} kB`, `${kB(row.delta.raw)} kB`];
      lines.push(`| ${row.label} | ${versions} | ${kB(row.gzip)} kB | ${cells.join(' | ')} |`);
    }
    const own = r.size.find((row) => row.id === 'ngx-oidc-session');
    lines.push(
      '',
      `Size budget (bench/size-budget.json, the app without withDPoP()): ${r.budget.initialGzipBytes} B gzip at start, ${r.budget.totalGzipBytes} B in all; measured ${own.delta.gzip} B and ${own.delta.gzip + own.lazyDelta.gzip} B.`,
      '',
    );
    const dpop = r.size.find((row) => row.id === 'ngx-oidc-session-dpop');
    if (dpop) {
      const bytes = (row) => ({ start: row.delta.gzip, lazy: row.lazyDelta.gzip, all: row.delta.gzip + row.lazyDelta.gzip });
      const [bearer, bound] = [bytes(own), bytes(dpop)];
      lines.push(
        '### What withDPoP() costs',
        '',
        'The same app, once with `provideAuth(config)` and once with `provideAuth(config, withDPoP())` (bench/app/src/auth-features.dpop.ts), gzip, over the app without auth.',
        '',
        '| build | at start | on demand | in all |',
        '|---|--:|--:|--:|',
        `| ngx-oidc-session | ${bearer.start} B | ${bearer.lazy} B | ${bearer.all} B |`,
        `| ngx-oidc-session + withDPoP() | ${bound.start} B | ${bound.lazy} B | ${bound.all} B |`,
        `| withDPoP() adds | ${bound.start - bearer.start} B | ${bound.lazy - bearer.lazy} B | ${bound.all - bearer.all} B |`,
        '',
      );
    }
    lines.push(
      '### Where the bytes of ngx-oidc-session go',
      '',
      'Minified bytes before compression, each module against the bare app, from a build of the library from source (esbuild metafile).',
      '',
      '| part | at start | on demand |',
      '|---|--:|--:|',
    );
    for (const { group, initial, lazy } of r.breakdown) lines.push(`| ${group} | ${initial} | ${lazy} |`);
    const sum = (column) => r.breakdown.reduce((total, entry) => total + entry[column], 0);
    lines.push(`| total | ${sum('initial')} | ${sum('lazy')} |`, '');
    const alone = r.oauth4webapiAlone;
    lines.push(
      `oauth4webapi alone, the ${alone.exports} exports the library uses bundled and minified on their own: ${alone.raw} B raw, ${alone.gzip} B gzip.`,
      '',
    );
  }
  if (r.renew) {
    lines.push(
      '## Renew cost',
      '',
      'Against the dev OP (oidc-provider, same machine), forced with `AuthService.renew()`, which runs the same code as',
      'the timer; time until `getAccessToken()` returns the new token. Requests counted from the page, iframe included.',
      '',
      '| strategy | renewals | median | p10–p90 | min–max | requests to the OP | OP endpoints per renewal | requests to the app |',
      '|---|--:|--:|--:|--:|--:|---|--:|',
    );
    for (const [strategy, m] of Object.entries(r.renew)) {
      const ms = (v) => `${v.toFixed(1)} ms`;
      const endpoints = Object.entries(m.endpoints).map(([path, n]) => `${path} × ${n}`).join(', ');
      lines.push(`| ${strategy} | ${m.ms.n} | ${ms(m.ms.median)} | ${ms(m.ms.p10)}–${ms(m.ms.p90)} | ${ms(m.ms.min)}–${ms(m.ms.max)} | ${m.opRequests.median} (max ${m.opRequests.max}) | ${endpoints} | ${m.appRequests.median} |`);
    }
    lines.push('');
  }
  if (r.interceptor) {
    const us = (v) => `${(Math.abs(v) < 0.05 ? 0 : v).toFixed(1)} µs`; // no "-0.0" from noise
    lines.push(
      '## Interceptor overhead',
      '',
      'Added time per request when no renewal is needed: HttpClient with `authInterceptor` against HttpClient without it,',
      'both ending in an interceptor that answers at once (no network). Median over interleaved batches.',
      '',
      '| request | added per request |',
      '|---|--:|',
      `| to a secure API (token attached) | ${us(r.interceptor.secureUs)} |`,
      `| to another URL (passed through) | ${us(r.interceptor.otherUs)} |`,
      `| for comparison: an empty interceptor \`(req, next) => next(req)\` | ${us(r.interceptor.emptyInterceptorUs)} |`,
      '',
      `Baseline: ${us(r.interceptor.baselineUs)} per request through HttpClient without the interceptor.`,
      '',
    );
  }
  if (r.interceptor && r.interceptorDPoP) {
    const us = (v) => `${(Math.abs(v) < 0.05 ? 0 : v).toFixed(1)} µs`;
    const bound = r.interceptorDPoP;
    lines.push(
      '### Bearer and DPoP side by side',
      '',
      'The same measurement in a page signed in with `withDPoP()`: each request to the secure API gets a new proof, signed',
      'with the session\'s non-extractable P-256 key by WebCrypto in Chromium. Median added time per request.',
      '',
      '| request | Bearer session | DPoP session | a proof adds |',
      '|---|--:|--:|--:|',
      `| to a secure API (token attached) | ${us(r.interceptor.secureUs)} | ${us(bound.secureUs)} | ${us(bound.secureUs - r.interceptor.secureUs)} |`,
      `| to another URL (passed through) | ${us(r.interceptor.otherUs)} | ${us(bound.otherUs)} | – |`,
      '',
      bound.tokenType === 'DPoP'
        ? `The DPoP page held a \`${bound.tokenType}\` token set.`
        : `**Not a DPoP measurement**: the page signed in with withDPoP() held a \`${bound.tokenType}\` token set (withDPoP() not implemented, or the OP issued no DPoP-bound token), so no proof was made.`,
      '',
    );
  }
  return lines.join('\n');
}
