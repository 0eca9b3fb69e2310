import { SchematicTestRunner, UnitTestTree } from '@angular-devkit/schematics/testing';
import { HostTree } from '@angular-devkit/schematics';
import { join } from 'node:path';
import { ownPackageVersion } from './index';
import { NgAddOptions } from './schema';

const collectionPath = join(__dirname, '..', 'collection.json');
const runner = new SchematicTestRunner('ngx-oidc-session', collectionPath);
const base: NgAddOptions = { authority: 'https://login.example.com', clientId: 'my-spa', api: 'https://api.example.com' };

async function workspace(apps: { name: string; standalone?: boolean }[] = [{ name: 'app' }]): Promise<UnitTestTree> {
  let tree = await runner.runExternalSchematic('@schematics/angular', 'workspace', { name: 'workspace', version: '22.0.0', newProjectRoot: 'projects' });
  for (const app of apps) {
    tree = await runner.runExternalSchematic('@schematics/angular', 'application', { name: app.name, standalone: app.standalone ?? true }, tree);
  }
  return tree;
}

const angularJson = (tree: UnitTestTree) => JSON.parse(tree.readText('/angular.json'));
const buildAssets = (tree: UnitTestTree, project = 'app') => angularJson(tree).projects[project].architect.build.options.assets;

/** Changed files between two trees (text compare), for idempotency checks. */
function changedFiles(before: Map<string, string>, after: UnitTestTree): string[] {
  return after.files.filter((file) => before.get(file) !== Buffer.from(after.readContent(file)).toString('base64'));
}
const snapshot = (tree: UnitTestTree) => new Map(tree.files.map((file) => [file, Buffer.from(tree.readContent(file)).toString('base64')]));

describe('ng-add on a standalone app', () => {
  it('adds the package at its own version, the config file, provideAuth and the interceptor', async () => {
    const tree = await runner.runSchematic('ng-add', base, await workspace());
    expect(JSON.parse(tree.readText('/package.json')).dependencies['ngx-oidc-session']).toBe(`^${ownPackageVersion()}`);
    const config = tree.readText('/projects/app/src/app/auth.config.ts');
    expect(config).toContain("authority: 'https://login.example.com'");
    expect(config).toContain("clientId: 'my-spa'");
    expect(config).toContain("secureApis: ['https://api.example.com']");
    expect(config).toContain("strategy: 'refresh_token'");
    const appConfig = tree.readText('/projects/app/src/app/app.config.ts');
    expect(appConfig).toMatch(/provideAuth\(authConfig\)/);
    expect(appConfig).toMatch(/provideHttpClient\(withInterceptors\(\[authInterceptor\]\)\)/);
    expect(appConfig).toMatch(/import \{ authConfig \} from '\.\/auth\.config';/);
    expect(appConfig).toMatch(/from 'ngx-oidc-session'/);
    expect(tree.exists('/projects/app/public/silent-renew.html')).toBeFalse();
  });

  it('merges into an existing provideHttpClient call instead of adding a second one', async () => {
    const tree = await workspace();
    const path = '/projects/app/src/app/app.config.ts';
    tree.overwrite(
      path,
      tree
        .readText(path)
        .replace("import { provideRouter } from '@angular/router';", "import { provideRouter } from '@angular/router';\nimport { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';\nimport { logging } from './logging';")
        .replace('provideRouter(routes)', 'provideRouter(routes),\n    provideHttpClient(withFetch(), withInterceptors([logging]))'),
    );
    tree.create('/projects/app/src/app/logging.ts', "import { HttpInterceptorFn } from '@angular/common/http';\nexport const logging: HttpInterceptorFn = (req, next) => next(req);\n");
    const result = await runner.runSchematic('ng-add', base, tree);
    const text = result.readText(path);
    expect(text.match(/provideHttpClient\(/g)?.length).toBe(1);
    expect(text).toContain('provideHttpClient(withFetch(), withInterceptors([logging, authInterceptor]))');
    expect(text.match(/import \{[^}]*withInterceptors[^}]*\} from '@angular\/common\/http'/g)?.length).toBe(1);
  });

  it('adds withInterceptors to a provideHttpClient call that has none', async () => {
    const tree = await workspace();
    const path = '/projects/app/src/app/app.config.ts';
    tree.overwrite(path, tree.readText(path).replace("import { provideRouter } from '@angular/router';", "import { provideRouter } from '@angular/router';\nimport { provideHttpClient } from '@angular/common/http';").replace('provideRouter(routes)', 'provideRouter(routes), provideHttpClient()'));
    const text = (await runner.runSchematic('ng-add', base, tree)).readText(path);
    expect(text).toContain('provideHttpClient(withInterceptors([authInterceptor]))');
    expect(text).toMatch(/import \{ provideHttpClient, withInterceptors \} from '@angular\/common\/http'/);
  });

  it("writes values with quotes or backslashes as valid string literals", async () => {
    const tree = await runner.runSchematic('ng-add', { ...base, clientId: "o'brien\\spa" }, await workspace());
    const config = tree.readText('/projects/app/src/app/auth.config.ts');
    expect(config).toContain("clientId: 'o\\'brien\\\\spa',");
  });

  it('merges withInterceptors into the value import, not a type-only one', async () => {
    const tree = await workspace();
    const path = '/projects/app/src/app/app.config.ts';
    tree.overwrite(
      path,
      tree
        .readText(path)
        .replace("import { provideRouter } from '@angular/router';", "import { provideRouter } from '@angular/router';\nimport type { HttpInterceptorFn } from '@angular/common/http';\nimport { provideHttpClient } from '@angular/common/http';")
        .replace('provideRouter(routes)', 'provideRouter(routes), provideHttpClient()'),
    );
    const text = (await runner.runSchematic('ng-add', base, tree)).readText(path);
    expect(text).toContain("import type { HttpInterceptorFn } from '@angular/common/http';");
    expect(text).toContain("import { provideHttpClient, withInterceptors } from '@angular/common/http';");
  });

  it('generates silent-renew.html in public/ for the iframe strategy (served by the existing public/ assets entry)', async () => {
    const before = await workspace();
    const assetsBefore = buildAssets(before);
    const tree = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, before);
    const page = tree.readText('/projects/app/public/silent-renew.html');
    expect(page).toContain('ngx-oidc-session:silent-renew');
    expect(page).not.toMatch(/<script[^>]+src=/);
    expect(buildAssets(tree)).toEqual(assetsBefore);
    const config = tree.readText('/projects/app/src/app/auth.config.ts');
    expect(config).toContain("strategy: 'iframe'");
    expect(config).toContain("silentRenewUrl: '/silent-renew.html'");
  });

  it('puts silent-renew.html in src/ and adds its assets entry in layouts without public/', async () => {
    const tree = await workspace();
    tree.delete('/projects/app/public/favicon.ico');
    const json = angularJson(tree);
    json.projects.app.architect.build.options.assets = ['projects/app/src/favicon.ico'];
    json.projects.app.architect.test = { builder: '@angular/build:karma', options: { assets: ['projects/app/src/favicon.ico'] } };
    tree.overwrite('/angular.json', JSON.stringify(json, null, 2) + '\n');
    const result = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, tree);
    expect(result.exists('/projects/app/src/silent-renew.html')).toBeTrue();
    const entry = { glob: 'silent-renew.html', input: 'projects/app/src', output: '/' };
    expect(buildAssets(result)).toEqual(['projects/app/src/favicon.ico', entry]);
    expect(angularJson(result).projects.app.architect.test.options.assets).toEqual(['projects/app/src/favicon.ico', entry]);
  });

  it('sets up popup sign-in with --popup: withPopupSignIn() and the page the popup lands on', async () => {
    const tree = await runner.runSchematic('ng-add', { ...base, popup: true }, await workspace());
    const appConfig = tree.readText('/projects/app/src/app/app.config.ts');
    expect(appConfig).toMatch(/provideAuth\(authConfig, withPopupSignIn\(\)\)/);
    expect(appConfig).toMatch(/import \{[^}]*withPopupSignIn[^}]*\} from 'ngx-oidc-session';/);
    const page = tree.readText('/projects/app/public/silent-renew.html');
    expect(page).toContain('ngx-oidc-session:popup-sign-in');
    expect(page).toContain('BroadcastChannel');
    expect(page).not.toMatch(/<script[^>]+src=/);
    // No config key is needed (the popup lands on /silent-renew.html); the file says to register it.
    const config = tree.readText('/projects/app/src/app/auth.config.ts');
    expect(config).toContain('/silent-renew.html');
    expect(config).toContain("strategy: 'refresh_token'");
    expect(config).not.toContain('silentRenewUrl');
  });

  it('replaces an older silent-renew.html without popup handling with --popup, and keeps it without', async () => {
    const older = '<!doctype html><script>window.parent.postMessage({ type: "ngx-oidc-session:silent-renew", url: location.href }, location.origin);</script>';
    let tree = await workspace();
    tree.create('/projects/app/public/silent-renew.html', older);
    tree = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, tree);
    expect(tree.readText('/projects/app/public/silent-renew.html')).toBe(older);
    const logs: string[] = [];
    runner.logger.subscribe((entry) => logs.push(entry.message));
    tree = await runner.runSchematic('ng-add', { ...base, popup: true }, tree);
    const page = tree.readText('/projects/app/public/silent-renew.html');
    expect(page).toContain('ngx-oidc-session:popup-sign-in');
    expect(page).toContain('history.replaceState');
    expect(logs.join('\n')).toMatch(/replaced projects\/app\/public\/silent-renew\.html.*does not handle popup sign-in/);
    // The current page is kept as it is.
    const again = await runner.runSchematic('ng-add', { ...base, popup: true }, tree);
    expect(again.readText('/projects/app/public/silent-renew.html')).toBe(page);
  });

  it('adds no popup code or page without --popup', async () => {
    const tree = await runner.runSchematic('ng-add', base, await workspace());
    expect(tree.readText('/projects/app/src/app/app.config.ts')).not.toContain('withPopupSignIn');
    expect(tree.readText('/projects/app/src/app/auth.config.ts')).not.toContain('silent-renew');
  });

  it('keeps the formatting and comments of angular.json', async () => {
    const tree = await workspace();
    tree.delete('/projects/app/public/favicon.ico');
    const text = tree.readText('/angular.json').replace('"version": 1,', '"version": 1, // schema version\n');
    tree.overwrite('/angular.json', text);
    const result = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, tree);
    expect(result.readText('/angular.json')).toContain('// schema version');
  });
});

describe('ng-add dependency', () => {
  it('keeps a dependency entry that ng add already wrote (e.g. a tarball install)', async () => {
    const tree = await workspace();
    const manifest = JSON.parse(tree.readText('/package.json'));
    manifest.dependencies['ngx-oidc-session'] = 'file:../ngx-oidc-session-0.1.0.tgz';
    tree.overwrite('/package.json', JSON.stringify(manifest, null, 2));
    const result = await runner.runSchematic('ng-add', base, tree);
    expect(JSON.parse(result.readText('/package.json')).dependencies['ngx-oidc-session']).toBe('file:../ngx-oidc-session-0.1.0.tgz');
  });
});

describe('ng-add on an NgModule app', () => {
  it('imports AuthModule.forRoot and registers the class interceptor', async () => {
    const tree = await runner.runSchematic('ng-add', base, await workspace([{ name: 'app', standalone: false }]));
    const module = tree.readText('/projects/app/src/app/app-module.ts');
    expect(module).toMatch(/AuthModule\.forRoot\(authConfig\)/);
    expect(module).toMatch(/provideHttpClient\(withInterceptorsFromDi\(\)\)/);
    expect(module).toMatch(/\{ provide: HTTP_INTERCEPTORS, useClass: AuthInterceptor, multi: true \}/);
    expect(module).toMatch(/import \{ authConfig \} from '\.\/auth\.config';/);
    expect(tree.exists('/projects/app/src/app/auth.config.ts')).toBeTrue();
  });

  it('passes withPopupSignIn() to AuthModule.forRoot with --popup', async () => {
    const tree = await runner.runSchematic('ng-add', { ...base, popup: true }, await workspace([{ name: 'app', standalone: false }]));
    expect(tree.readText('/projects/app/src/app/app-module.ts')).toMatch(/AuthModule\.forRoot\(authConfig, withPopupSignIn\(\)\)/);
    expect(tree.exists('/projects/app/public/silent-renew.html')).toBeTrue();
  });

  it('generates silent-renew.html for the iframe strategy too', async () => {
    const tree = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, await workspace([{ name: 'app', standalone: false }]));
    expect(tree.exists('/projects/app/public/silent-renew.html')).toBeTrue();
  });
});

describe('ng-add in a multi-project workspace', () => {
  it('sets up only the chosen project', async () => {
    const tree = await runner.runSchematic('ng-add', { ...base, project: 'shop' }, await workspace([{ name: 'admin' }, { name: 'shop' }]));
    expect(tree.exists('/projects/shop/src/app/auth.config.ts')).toBeTrue();
    expect(tree.exists('/projects/admin/src/app/auth.config.ts')).toBeFalse();
    expect(tree.readText('/projects/admin/src/app/app.config.ts')).not.toContain('provideAuth');
  });

  it('asks for --project when there are several applications', async () => {
    await expectAsync(runner.runSchematic('ng-add', base, await workspace([{ name: 'admin' }, { name: 'shop' }]))).toBeRejectedWithError(
      /several applications \(admin, shop\): choose one with --project/,
    );
  });
});

describe('ng-add idempotency', () => {
  for (const standalone of [true, false]) {
    it(`changes nothing the second time and says so (${standalone ? 'standalone' : 'NgModule'}, iframe)`, async () => {
      const once = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, await workspace([{ name: 'app', standalone }]));
      const before = snapshot(once);
      const messages: string[] = [];
      const subscription = runner.logger.subscribe((entry) => messages.push(entry.message));
      const twice = await runner.runSchematic('ng-add', { ...base, strategy: 'iframe' }, once);
      subscription.unsubscribe();
      expect(changedFiles(before, twice)).toEqual([]);
      expect(messages.join('\n')).toContain('already set up in project "app": nothing changed');
    });
  }
});

describe('ng-add errors', () => {
  it('rejects a library project', async () => {
    let tree = await workspace();
    tree = await runner.runExternalSchematic('@schematics/angular', 'library', { name: 'lib' }, tree);
    await expectAsync(runner.runSchematic('ng-add', { ...base, project: 'lib' }, tree)).toBeRejectedWithError(/"lib" is a library project/);
  });

  it('rejects an unknown --project with the known names', async () => {
    await expectAsync(runner.runSchematic('ng-add', { ...base, project: 'nope' }, await workspace())).toBeRejectedWithError(
      /Project "nope" is not in angular.json \(projects: app\)/,
    );
  });

  it('reports a missing main file', async () => {
    const tree = await workspace();
    tree.delete('/projects/app/src/main.ts');
    await expectAsync(runner.runSchematic('ng-add', base, tree)).toBeRejectedWithError(/has no main file \(projects\/app\/src\/main.ts does not exist\)/);
  });

  it('prints the lines to add by hand for an app shape it cannot edit', async () => {
    const tree = await workspace();
    tree.overwrite('/projects/app/src/main.ts', "import { App } from './app/app';\nexport default App;\n");
    await expectAsync(runner.runSchematic('ng-add', base, tree)).toBeRejectedWithError(/cannot edit this app automatically[\s\S]*provideAuth\(authConfig\),/);
  });

  it('prints withPopupSignIn() among the lines to add by hand with --popup', async () => {
    const tree = await workspace();
    tree.overwrite('/projects/app/src/main.ts', "import { App } from './app/app';\nexport default App;\n");
    await expectAsync(runner.runSchematic('ng-add', { ...base, popup: true }, tree)).toBeRejectedWithError(/provideAuth, withPopupSignIn \}[\s\S]*provideAuth\(authConfig, withPopupSignIn\(\)\),/);
  });

  it('prints the lines to add by hand when provideHttpClient is called twice', async () => {
    const tree = await workspace();
    const path = '/projects/app/src/app/app.config.ts';
    tree.overwrite(path, tree.readText(path).replace('provideRouter(routes)', 'provideRouter(routes), provideHttpClient(), provideHttpClient()'));
    await expectAsync(runner.runSchematic('ng-add', base, tree)).toBeRejectedWithError(/more than once[\s\S]*withInterceptors\(\[authInterceptor\]\)/);
  });

  it('requires --authority and --client-id, and checks them', async () => {
    const tree = await workspace();
    await expectAsync(runner.runSchematic('ng-add', { clientId: 'x' }, tree)).toBeRejectedWithError(/Missing --authority/);
    await expectAsync(runner.runSchematic('ng-add', { authority: 'https://op' }, tree)).toBeRejectedWithError(/Missing --client-id/);
    await expectAsync(runner.runSchematic('ng-add', { ...base, authority: 'login.example.com' }, tree)).toBeRejectedWithError(/--authority must be an absolute/);
    await expectAsync(runner.runSchematic('ng-add', { ...base, api: 'api.example.com' }, tree)).toBeRejectedWithError(/--api must be/);
  });

  it('rejects a lone carriage return and other control characters in its inputs, and never prints them raw', async () => {
    const tree = await workspace();
    for (const [options, flag] of [
      [{ ...base, clientId: 'spa\r' }, '--client-id'],
      [{ ...base, authority: 'https://login.example.com/\rfake' }, '--authority'],
      [{ ...base, api: '/api\u001b[2K' }, '--api'],
      [{ ...base, clientId: 'a\u0000b' }, '--client-id'],
    ] as const) {
      const error = await runner.runSchematic('ng-add', options, tree).then(
        () => null,
        (rejection: unknown) => rejection as Error,
      );
      expect(error?.message).withContext(flag).toContain(`${flag} must not contain control characters`);
      expect(/[\u0000-\u001f\u007f-\u009f]/.test(error?.message ?? '')).withContext(flag).toBeFalse();
    }
    // An unknown project is named escaped.
    const unknown = await runner.runSchematic('ng-add', { ...base, project: 'app\u0085\r' }, tree).then(
      () => null,
      (rejection: unknown) => rejection as Error,
    );
    expect(unknown?.message).toContain('"app\\u0085\\r"');
    expect(tree.exists('/src/app/auth.config.ts')).toBeFalse();
  });

  it('fails clearly outside a workspace', async () => {
    await expectAsync(runner.runSchematic('ng-add', base, new UnitTestTree(new HostTree()))).toBeRejectedWithError(/No package\.json at the workspace root/);
  });
});
