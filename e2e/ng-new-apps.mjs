// The fresh `ng new` apps of the ng add scenario (e2e/ng-add.test.mjs). Making one is `ng new`
// and `npm install`, about 40 s that wait on the registry: `npm test` makes them at its start,
// beside the first suites, and the test makes any that is not ready itself.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../tools/lib/run.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

export const NG_ADD_VARIANTS = [
  { name: 'standalone-app', standalone: true, strategy: 'iframe', clientId: 'ngx-oidc-demo-no-refresh' },
  { name: 'module-app', standalone: false, strategy: 'refresh_token', clientId: 'ngx-oidc-demo' },
];

/**
 * Where the apps are made: outside the workspace (`ng new` refuses to run inside one), and one
 * folder per checkout, so that two checkouts on one machine never share it.
 */
export const ngAddWorkDir = join(tmpdir(), `ngx-oidc-session-ng-add-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`);

/** Runs a command; the workspace's own npm_* settings must not leak into the apps' npm runs. */
export async function sh(cwd, command, args, { quiet = false } = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  const { code, out } = await run(command, args, { cwd, env, capture: true, quiet, prefix: '    | ' });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed with ${code}:\n${out.slice(-2000)}`);
  return out;
}

/** `ng new` (with the workspace's CLI version) and `npm install` of a variant, unless already made. */
export async function newApp(variant, { quiet = false } = {}) {
  const appDir = join(ngAddWorkDir, variant.name);
  const ready = join(appDir, '.ng-add-ready');
  if (existsSync(ready)) return 'ready';
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(ngAddWorkDir, { recursive: true });
  const cliVersion = JSON.parse(readFileSync(join(root, 'node_modules/@angular/cli/package.json'), 'utf8')).version;
  await sh(ngAddWorkDir, 'npm', ['exec', '--yes', `--package=@angular/cli@${cliVersion}`, '--', 'ng', 'new', variant.name, `--standalone=${variant.standalone}`, '--skip-git', '--skip-install', '--defaults', '--ssr=false', '--style=css', '--routing', '--package-manager=npm'], { quiet });
  await sh(appDir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { quiet });
  writeFileSync(ready, '');
  return 'made';
}
