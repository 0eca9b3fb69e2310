// `ng add` for real: fresh `ng new` apps (standalone, and --standalone=false) get the packed
// library non-interactively, build, ship silent-renew.html for the iframe strategy, and sign
// in against the dev OP in Chromium.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../tools/lib/static-server.mjs';
import { test } from './fixtures.mjs';
import { NG_ADD_VARIANTS, newApp, ngAddWorkDir as work, sh } from './ng-new-apps.mjs';
import { signInAtOp, workerPort } from './support.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
let tarball;
// The OP alone, on ports of its own: these tests install from the registry, so they run where
// the network is, beside the other suites' rigs. Each test serves its own generated app. The
// ports follow the worker (support.mjs), like the demo rig's.
const PORTS = { port: workerPort(4610), apiPort: workerPort(4710), lookalikePort: workerPort(47011) };
const OP = `http://localhost:${PORTS.port}`;
const API = `http://localhost:${PORTS.apiPort}/api`;
const APP = `http://localhost:${workerPort(4820)}`;
test.use({ rigOptions: { serveDemo: false, ports: PORTS, appOrigins: [APP] } });
// One worker for the whole file, also under --fully-parallel: its tests share the packed
// library and the apps' folder, which beforeAll makes and afterAll removes.
test.describe.configure({ mode: 'default' });
// ng new, npm install, ng add and ng build in one test.
test.describe.configure({ timeout: 240_000 });

// In beforeAll, not at the top: Playwright also loads this file in its runner process to list the tests.
test.beforeAll(async () => {
  if (!existsSync(join(root, 'dist/ngx-oidc-session/package.json'))) {
    throw new Error('dist/ngx-oidc-session is missing: run the build first (npm run build:lib).');
  }
  mkdirSync(work, { recursive: true });
  for (const old of readdirSync(work).filter((name) => name.endsWith('.tgz'))) rmSync(join(work, old));
  await sh(work, 'npm', ['pack', join(root, 'dist/ngx-oidc-session'), '--pack-destination', work, '--silent']);
  tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz')));
});

test.afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** What a developer writes first after ng add: a sign-in button and the auth state. */
function addSignInButton(appDir) {
  writeFileSync(
    join(appDir, 'src/app/app.html'),
    `<button id="sign-in" (click)="auth.login()">Sign in</button>\n<p id="status">{{ auth.state().status }}</p>\n<p id="user">{{ auth.user()?.sub }}</p>\n<router-outlet />\n`,
  );
  const component = join(appDir, 'src/app/app.ts');
  const source = readFileSync(component, 'utf8')
    .replace("import { Component, signal } from '@angular/core';", "import { Component, inject, signal } from '@angular/core';\nimport { AuthService } from 'ngx-oidc-session';")
    .replace('export class App {', 'export class App {\n  protected readonly auth = inject(AuthService);');
  assert.notEqual(source, readFileSync(component, 'utf8'), 'the generated component has the expected shape');
  writeFileSync(component, source);
}

for (const variant of NG_ADD_VARIANTS) {
  test.describe(`ng add on a new ${variant.standalone ? 'standalone' : 'NgModule'} app (${variant.strategy})`, () => {
    // Each test goes on from the one before it.
    test.describe.configure({ mode: 'serial' });
    const dirOf = () => join(work, variant.name);

    test('ng new, ng add from the packed library, ng build', async () => {
      const appDir = dirOf();
      // ng new and npm install; npm test has done them already, beside its first suites.
      await newApp(variant);
      const output = await sh(appDir, 'npx', ['ng', 'add', tarball, '--skip-confirmation', `--authority=${OP}`, `--client-id=${variant.clientId}`, `--strategy=${variant.strategy}`, `--api=${API}`]);
      assert.match(output, /ngx-oidc-session set up in project/);
      const manifest = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
      assert.ok(manifest.dependencies['ngx-oidc-session'], 'the package is a dependency');
      addSignInButton(appDir);
      await sh(appDir, 'npx', ['ng', 'build']);
      const built = join(appDir, 'dist', variant.name, 'browser');
      assert.ok(existsSync(join(built, 'index.html')));
      assert.equal(existsSync(join(built, 'silent-renew.html')), variant.strategy === 'iframe');
    });

    test('ng add a second time changes nothing', async () => {
      const appDir = dirOf();
      const output = await sh(appDir, 'npx', ['ng', 'add', tarball, '--skip-confirmation', `--authority=${OP}`, `--client-id=${variant.clientId}`, `--strategy=${variant.strategy}`, `--api=${API}`]);
      assert.match(output, /already set up in project "[^"]+": nothing changed/);
    });

    test('the built app signs in against the dev OP', async ({ page }) => {
      const server = await serveStatic(join(dirOf(), 'dist', variant.name, 'browser'), { port: Number(new URL(APP).port) });
      try {
        await page.goto(APP);
        await page.locator('#status').filter({ hasText: 'unauthenticated' }).waitFor();
        await page.locator('#sign-in').click();
        await signInAtOp(page, 'dana', { op: OP, app: APP });
        await page.locator('#status').filter({ hasText: /^authenticated$/ }).waitFor();
        assert.equal(await page.locator('#user').textContent(), 'dana');
      } finally {
        await server.close();
      }
    });
  });
}
