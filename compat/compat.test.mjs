// The library in real apps of every supported Angular major (compat/angular-20, -21, -22):
// each app installs its pinned packages from its own lockfile, installs the packed library
// (npm checks the peer range), builds for production with its own CLI, and then, in Chromium
// against the dev OP, signs in through authGuard, renews, and calls the API through the
// interceptor. Angular 20 runs zone.js change detection, 21 and 22 are zoneless; the 22 app
// is built and served under the base href /app/.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '../tools/lib/static-server.mjs';
import { ACCESS_TOKEN_TTL, test } from './fixtures.mjs';
import { signInAtOp } from '../e2e/support.mjs';
import { APPS, OP, addLibrary, appDir, appOrigin, appUrl, buildApp, installApp, recordScripts } from './support.mjs';

for (const app of APPS) {
  test.describe(`Angular ${app.major}, ${app.changeDetection} (${app.setup})`, () => {
    // The browser test needs the build of the test before it.
    test.describe.configure({ mode: 'serial' });

    test('installs the packed library and builds for production', async ({ tarball }) => {
      // npm test has installed the app already (beside the earlier suites); by hand, this does.
      await installApp(app);
      const installed = await addLibrary(app, tarball);
      assert.equal(installed.name, 'ngx-oidc-session');
      // Built once, with Angular 22, in partial compilation mode: declarations that the app's
      // own compiler (of any supported major) links, not Angular 22's final instructions.
      const bundle = readFileSync(join(appDir(app), 'node_modules/ngx-oidc-session/fesm2022/ngx-oidc-session.mjs'), 'utf8');
      assert.match(bundle, /ɵɵngDeclareInjectable/);
      assert.doesNotMatch(bundle, /ɵɵdefineInjectable|ɵɵdefineNgModule/, 'no full-compilation output');
      const angular = JSON.parse(readFileSync(join(appDir(app), 'node_modules/@angular/core/package.json'), 'utf8')).version;
      assert.equal(Number(angular.split('.')[0]), app.major, `the app has its own Angular ${app.major} (${angular})`);
      const dist = await buildApp(app);
      const index = readFileSync(join(dist, 'browser/index.html'), 'utf8');
      assert.match(index, new RegExp(`<base href="${app.basePath}">`));
      // The secondary entry point ngx-oidc-session/dpop is in the package, and the app that
      // imports it (Angular 20) has withDPoP()'s key store as a lazy chunk of its own.
      assert.equal(installed.exports?.['./dpop']?.default, './fesm2022/ngx-oidc-session-dpop.mjs');
      assert.ok(existsSync(join(appDir(app), 'node_modules/ngx-oidc-session', installed.exports['./dpop'].default)), 'the packed library holds ngx-oidc-session/dpop');
      const keyStoreChunks = readdirSync(join(dist, 'browser')).filter((file) => file.endsWith('.js') && readFileSync(join(dist, 'browser', file), 'utf8').includes('"ngx-oidc-session-dpop"'));
      assert.equal(keyStoreChunks.length, app.major === 20 ? 1 : 0, `withDPoP()'s key store chunk (${keyStoreChunks.join(', ')})`);
      if (app.major === 20) assert.match(keyStoreChunks[0], /^chunk-[A-Z0-9]+\.js$/, 'the key store is not in the main bundle');
    });

    test('signs in through the guard, renews, and calls the API with the token', async ({ compatOp, newContext }) => {
      test.setTimeout(60_000);
      const browserDir = join(appDir(app), 'dist', app.name, 'browser');
      assert.ok(existsSync(join(browserDir, 'index.html')), 'the build of the test before');
      const server = await serveStatic(browserDir, { port: app.port, basePath: app.basePath });
      try {
        await compatOp.hook('/reset', { method: 'POST' });
        await compatOp.hook('/config', { method: 'POST', body: { accessTokenTtl: ACCESS_TOKEN_TTL } });
        const context = await newContext();
        const page = await context.newPage();
        const { scripts } = recordScripts(page);

        // The guarded route of a signed-out user: to the OP, and back to the same route.
        await page.goto(`${appUrl(app)}protected`);
        await signInAtOp(page, 'erin', { op: OP, app: appOrigin(app) });
        await page.locator('#protected').filter({ hasText: 'Protected content for erin' }).waitFor();
        assert.equal(new URL(page.url()).pathname, `${app.basePath}protected`, 'back on the guarded route, under the base href');
        assert.equal(new URL(page.url()).search, '', 'code and state are gone from the address bar');
        assert.equal(await page.locator('#status').textContent(), 'authenticated');

        // The page runs the app's own major and change detection.
        assert.match(await page.locator('#angular-version').textContent(), new RegExp(`^${app.major}\\.`));
        assert.equal(await page.locator('#change-detection').textContent(), app.changeDetection);
        assert.equal(await page.evaluate(() => 'Zone' in globalThis), app.changeDetection === 'zone.js');

        // A renewal, by the library's own timer, shown by the app's change detection.
        await page.locator('#renewals').filter({ hasText: /^[1-9]/ }).waitFor({ timeout: ACCESS_TOKEN_TTL * 3000 });
        const counters = await compatOp.counters();
        assert.ok(counters.tokenRefresh >= 1, `renewed with the refresh token (${JSON.stringify(counters)})`);
        assert.equal(counters.tokenRefreshFailed, 0);
        assert.equal(counters.refreshTokenReuse, 0);

        // The interceptor attaches the renewed token to the API call.
        await compatOp.resetApiLog();
        await page.locator('#call-api').click();
        await page.locator('#api-status').filter({ hasText: '200 for erin' }).waitFor();
        const log = await compatOp.apiLog();
        assert.deepEqual(log.map((entry) => [entry.path, entry.status, entry.hadAuthorization]), [['/api/hello', 200, true]]);

        // Every JavaScript file came from under the base href, and loaded; the protocol code
        // (oauth4webapi) is a lazy chunk of its own, loaded from there too.
        const loaded = scripts();
        const withProtocol = readdirSync(browserDir).filter((file) => file.endsWith('.js') && readFileSync(join(browserDir, file), 'utf8').includes('oauth4webapi'));
        assert.equal(withProtocol.length, 1, `one chunk holds the protocol code (${withProtocol.join(', ')})`);
        assert.match(withProtocol[0], /^chunk-[A-Z0-9]+\.js$/, 'the protocol code is not in the main bundle');
        assert.ok(!readFileSync(join(browserDir, 'index.html'), 'utf8').includes(withProtocol[0]), 'the protocol chunk is not preloaded by index.html');
        assert.ok(loaded.some(({ url }) => url === `${appUrl(app)}${withProtocol[0]}`), `the protocol chunk loaded from under the base href`);
        assert.ok(loaded.some(({ url }) => /\/main-[A-Z0-9]+\.js$/.test(url)), `the main bundle loaded (${loaded.map(({ url }) => url).join(', ')})`);
        for (const { url, status } of loaded) {
          assert.ok(url.startsWith(appUrl(app)), `${url} is under ${appUrl(app)}`);
          assert.equal(status, 200, `${url} answered ${status}`);
        }
      } finally {
        await server.close();
      }
    });
  });
}
