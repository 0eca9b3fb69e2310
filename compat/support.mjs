// Shared set-up of the compat and ssr suites: real apps of each supported Angular major, each
// with its own pinned package.json and package-lock.json, the packed library installed into
// them as an app would install it, and a dev OP on ports of their own (4600/4700/47001, apps
// on 48xx), so these suites never meet the e2e rig (4200/4400/4500/45001).
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../tools/lib/run.mjs';
import { startDevEnvironment } from '../tools/dev-op/server.mjs';
import { testHooks } from '../tools/dev-op/test-client.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const compatDir = join(root, 'compat');

export const OP = 'http://localhost:4600';
const PORTS = { port: 4600, apiPort: 4700, lookalikePort: 47001 };

/**
 * The compat apps. `basePath` is the base href the app is built with and served under;
 * `changeDetection` is what the app must report in the page.
 */
export const APPS = [
  { name: 'angular-20', major: 20, port: 4800, basePath: '/', changeDetection: 'zone.js', setup: 'provideAuth, authInterceptor, HttpClient on XHR' },
  { name: 'angular-21', major: 21, port: 4801, basePath: '/', changeDetection: 'zoneless', setup: 'AuthModule.forRoot, class AuthInterceptor' },
  { name: 'angular-22', major: 22, port: 4802, basePath: '/app/', changeDetection: 'zoneless', setup: 'provideAuth, authInterceptor, withFetch, base href /app/' },
];
export const SSR_APP = { name: 'ssr-22', major: 22, port: 4810, basePath: '/' };

export const appOrigin = (app) => `http://localhost:${app.port}`;
export const appUrl = (app) => `${appOrigin(app)}${app.basePath}`;
export const appDir = (app) => join(compatDir, app.name);

/**
 * npm with the workspace's npm_* settings removed: they must not leak into the apps' installs.
 * Quiet: its output is shown only when it fails.
 */
export async function npm(cwd, args) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  const { code, out } = await run('npm', args, { cwd, env, capture: true, quiet: true });
  if (code !== 0) throw new Error(`npm ${args.join(' ')} in ${cwd} failed with ${code}:\n${out.slice(-3000)}`);
  return out;
}

const lockHash = (dir) => createHash('sha256').update(readFileSync(join(dir, 'package-lock.json'))).digest('hex');
const installedMarker = (dir) => join(dir, 'node_modules', '.compat-installed');

/**
 * `npm ci` of an app from its committed lockfile, unless node_modules already holds exactly
 * that lockfile's install (a second local run). `npm test` starts these early, beside the
 * other suites: they wait on the network, not on the CPU.
 */
export async function installApp(app) {
  const dir = appDir(app);
  const hash = lockHash(dir);
  if (existsSync(installedMarker(dir)) && readFileSync(installedMarker(dir), 'utf8') === hash) return 'up to date';
  await npm(dir, ['ci', '--no-audit', '--no-fund']);
  writeFileSync(installedMarker(dir), hash);
  return 'installed';
}

/** The library tarball, as `npm pack` makes it from the build (dist/ngx-oidc-session). */
export async function packLibrary(destination) {
  const dist = join(root, 'dist/ngx-oidc-session');
  if (!existsSync(join(dist, 'package.json'))) {
    throw new Error('dist/ngx-oidc-session is missing: build the library first (npm test runs the build suite before this one).');
  }
  mkdirSync(destination, { recursive: true });
  for (const old of readdirSync(destination).filter((name) => name.endsWith('.tgz'))) rmSync(join(destination, old));
  await npm(destination, ['pack', dist, '--pack-destination', destination, '--silent']);
  return join(destination, readdirSync(destination).find((name) => name.endsWith('.tgz')));
}

/**
 * Puts the shared app sources into the app (src/app/shared, not committed: one copy for every
 * major, compiled against that app's own Angular) and installs the packed library the way an
 * app installs a package, so npm checks the library's peer range against the app's Angular.
 */
export async function addLibrary(app, tarball) {
  const dir = appDir(app);
  const shared = join(dir, 'src/app/shared');
  rmSync(shared, { recursive: true, force: true });
  cpSync(join(compatDir, 'shared'), shared, { recursive: true });
  await npm(dir, ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
  return JSON.parse(readFileSync(join(dir, 'node_modules/ngx-oidc-session/package.json'), 'utf8'));
}

/** A production build with the app's own Angular CLI (not the workspace's), under its base href. */
export async function buildApp(app) {
  const dir = appDir(app);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  const args = [join(dir, 'node_modules/@angular/cli/bin/ng.js'), 'build', '--configuration=production', '--progress=false'];
  if (app.basePath !== '/') args.push(`--base-href=${app.basePath}`);
  const { code, out } = await run('node', args, { cwd: dir, capture: true, quiet: true, env: { NG_CLI_ANALYTICS: 'false' } });
  if (code !== 0) throw new Error(`ng build of ${app.name} failed with ${code}:\n${out.slice(-3000)}`);
  return join(dir, 'dist', app.name);
}

/** The dev OP and API in test mode on the compat ports, accepting every compat app. */
export async function startCompatOp({ accessTokenTtl }) {
  const env = await startDevEnvironment({
    ...PORTS,
    testMode: true,
    accessTokenTtl,
    appOrigins: [...APPS, SSR_APP].map(appUrl),
  });
  return { close: () => env.close(), ...testHooks(env) };
}

/**
 * Records the JavaScript files a page loads, with their answers: `scripts()` lists
 * `{ url, status }` in load order. For checks like "every chunk came from under the base href".
 */
export function recordScripts(page) {
  const loaded = [];
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') loaded.push({ url: response.url(), status: response.status() });
  });
  return { scripts: () => [...loaded] };
}

/**
 * Collects the tokens the OP hands the page, to check they appear nowhere else: the page's
 * token requests go to the OP through Playwright, which reads each answer and passes it on
 * unchanged (a response body read after the fact may already be gone). The values stay in
 * memory: tests assert with messages, never print them.
 */
export async function recordTokens(page) {
  const tokens = new Set();
  await page.route(`${OP}/token`, async (route) => {
    const response = await route.fetch();
    if (route.request().method() === 'POST' && response.status() === 200) {
      const body = await response.json();
      for (const key of ['access_token', 'refresh_token', 'id_token']) if (typeof body[key] === 'string') tokens.add(body[key]);
    }
    await route.fulfill({ response });
  });
  return { tokens: () => [...tokens] };
}
