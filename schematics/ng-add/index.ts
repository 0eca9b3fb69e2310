import { Rule, SchematicContext, SchematicsException, Tree, callRule, chain } from '@angular-devkit/schematics';
import { ProjectDefinition, addRootImport, addRootProvider, readWorkspace, updateWorkspace } from '@schematics/angular/utility';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { NgAddOptions } from './schema';
import { bootstrapKind, localImports, mergeIntoProvideHttpClient } from './source-edits';

const PACKAGE_NAME = 'ngx-oidc-session';
/** The collection is compiled to <package>/schematics/ng-add: the package root is two levels up. */
const PACKAGE_ROOT = join(__dirname, '..', '..');

/** The version of the package this schematic ships in; never hard-coded. */
export function ownPackageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name?: string; version?: string };
  if (manifest.name !== PACKAGE_NAME || !manifest.version) {
    throw new SchematicsException(`Cannot read the ${PACKAGE_NAME} version from its package.json.`);
  }
  return manifest.version;
}

/**
 * Adds the package to the workspace's dependencies at this schematic's own version. An entry
 * that is already there is kept: `ng add` itself may have written it (a registry range, or a
 * `file:` spec when installing a tarball), and that is what npm can install.
 */
export function addPackageDependency(version: string, changes: string[]): Rule {
  return (tree: Tree) => {
    const path = '/package.json';
    const text = tree.readText(path);
    const manifest = JSON.parse(text) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const wanted = `^${version}`;
    if (manifest.dependencies?.[PACKAGE_NAME] || manifest.devDependencies?.[PACKAGE_NAME]) return tree;
    manifest.dependencies = Object.fromEntries(
      Object.entries({ ...manifest.dependencies, [PACKAGE_NAME]: wanted }).sort(([a], [b]) => a.localeCompare(b)),
    );
    const indent = /^\s+/m.exec(text.split('\n')[1] ?? '')?.[0] ?? '  ';
    tree.overwrite(path, JSON.stringify(manifest, null, indent) + '\n');
    changes.push(`added ${PACKAGE_NAME} ${wanted} to dependencies`);
    return tree;
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * C0 and C1 control characters, a lone carriage return among them: in a value they would
 * corrupt the generated file, and printed raw they could rewrite the user's terminal line.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A value as it may be printed: quoted, with every control character escaped. */
function shown(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function requireOptions(options: NgAddOptions): Required<Pick<NgAddOptions, 'authority' | 'clientId' | 'strategy' | 'popup'>> & { api: string } {
  // Checked before trimming: a trailing lone CR would otherwise vanish unseen.
  for (const [flag, value] of [['--authority', options.authority], ['--client-id', options.clientId], ['--api', options.api], ['--project', options.project]] as const) {
    if (typeof value === 'string' && CONTROL_CHARACTERS.test(value)) {
      throw new SchematicsException(`${flag} must not contain control characters such as a carriage return (got ${shown(value)}).`);
    }
  }
  const authority = options.authority?.trim();
  if (!authority) throw new SchematicsException('Missing --authority: the OpenID Provider issuer URL, e.g. --authority=https://login.example.com');
  if (!isHttpUrl(authority)) throw new SchematicsException(`--authority must be an absolute http(s) URL (got ${shown(authority)}).`);
  const clientId = options.clientId?.trim();
  if (!clientId) throw new SchematicsException("Missing --client-id: this app's client id at the OpenID Provider.");
  const strategy = options.strategy ?? 'refresh_token';
  if (strategy !== 'refresh_token' && strategy !== 'iframe') {
    throw new SchematicsException(`--strategy must be "refresh_token" or "iframe" (got ${shown(String(strategy))}).`);
  }
  const api = (options.api ?? '').trim();
  if (api && !isHttpUrl(api) && !api.startsWith('/')) {
    throw new SchematicsException(`--api must be an absolute URL or an app-relative path starting with "/" (got ${shown(api)}).`);
  }
  return { authority, clientId, strategy, api, popup: options.popup === true };
}

function pickProject(projects: Map<string, ProjectDefinition>, requested: string | undefined): string {
  const applications = [...projects.entries()].filter(([, project]) => project.extensions['projectType'] === 'application');
  if (requested) {
    const project = projects.get(requested);
    if (!project) {
      throw new SchematicsException(`Project ${shown(requested)} is not in angular.json (projects: ${[...projects.keys()].join(', ') || 'none'}).`);
    }
    if (project.extensions['projectType'] !== 'application') {
      throw new SchematicsException(`Project "${requested}" is a ${String(project.extensions['projectType'] ?? 'non-application')} project; ng add ${PACKAGE_NAME} needs an application.`);
    }
    return requested;
  }
  if (applications.length === 1) return applications[0][0];
  if (applications.length === 0) throw new SchematicsException(`The workspace has no application to add ${PACKAGE_NAME} to.`);
  throw new SchematicsException(`The workspace has several applications (${applications.map(([name]) => name).join(', ')}): choose one with --project.`);
}

/** A single-quoted TypeScript string literal: a quote or backslash in a value cannot break the file. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\r?\n/g, '\\n')}'`;
}

function configFileText(options: ReturnType<typeof requireOptions>): string {
  const renew =
    options.strategy === 'iframe'
      ? `  renew: {
    // A hidden iframe renews the tokens with a silent (prompt=none) sign-in. It lands on
    // silent-renew.html, which ng add put in the build; register that URL at the OP too.
    strategy: 'iframe',
    silentRenewUrl: '/silent-renew.html',
  },`
      : `  renew: {
    // Tokens are renewed with the refresh-token grant shortly before they expire.
    strategy: 'refresh_token',
  },`;
  const apis = options.api ? `[${literal(options.api)}]` : '[]';
  // No key is needed: the popup lands on /silent-renew.html by default (withPopupSignIn({ redirectUrl })).
  const popup = options.popup
    ? `
  // Popup sign-in (withPopupSignIn() next to provideAuth): the popup lands on
  // /silent-renew.html, which ng add put in the build; register that URL at the OP too.`
    : '';
  return `import { AuthConfig } from '${PACKAGE_NAME}';

/**
 * Sign-in with OpenID Connect, generated by \`ng add ${PACKAGE_NAME}\`.
 * Every key is described in the ${PACKAGE_NAME} README (Configuration).
 */
export const authConfig: AuthConfig = {
  // The OpenID Provider's issuer URL. Discovery must report exactly this issuer.
  authority: ${literal(options.authority)},
  // This app's client id at the OP: a public client (no secret) with PKCE.
  clientId: ${literal(options.clientId)},
  // Where the OP sends the browser back after sign-in and sign-out. Register both at the OP.
  redirectUrl: '/',
  postLogoutRedirectUrl: '/',
  scope: 'openid profile email',${popup}
${renew}
  // Your APIs: the HTTP interceptor sends the access token to these URLs and nowhere else.
  secureApis: ${apis},
};
`;
}

function relativeImport(fromFile: string, toFile: string): string {
  const path = posix.relative(posix.dirname(fromFile), toFile).replace(/\.ts$/, '');
  return path.startsWith('.') ? path : `./${path}`;
}

function manualLines(kind: 'standalone' | 'ngmodule', configImport: string, popup: boolean): string {
  const features = popup ? ', withPopupSignIn()' : '';
  const imported = popup ? ', withPopupSignIn' : '';
  return kind === 'standalone'
    ? `Add these lines to your application config by hand:
  import { provideHttpClient, withInterceptors } from '@angular/common/http';
  import { authInterceptor, provideAuth${imported} } from '${PACKAGE_NAME}';
  import { authConfig } from '${configImport}';
and in its providers:
  provideHttpClient(withInterceptors([authInterceptor])),
  provideAuth(authConfig${features}),`
    : `Add these lines to your root NgModule by hand:
  import { HTTP_INTERCEPTORS, provideHttpClient, withInterceptorsFromDi } from '@angular/common/http';
  import { AuthInterceptor, AuthModule${imported} } from '${PACKAGE_NAME}';
  import { authConfig } from '${configImport}';
in its imports:
  AuthModule.forRoot(authConfig${features}),
and in its providers:
  provideHttpClient(withInterceptorsFromDi()),
  { provide: HTTP_INTERCEPTORS, useClass: AuthInterceptor, multi: true },`;
}

/** Runs a rule from @schematics/angular; if it cannot edit this app, says what to add by hand. */
function orManual(rule: Rule, manual: string): Rule {
  return async (tree: Tree, context: SchematicContext) => {
    try {
      return await lastValueFrom(callRule(rule, tree, context));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SchematicsException(`ng add ${PACKAGE_NAME} cannot edit this app automatically (${reason}).\n${manual}`);
    }
  };
}

export function ngAdd(options: NgAddOptions): Rule {
  return async (tree: Tree) => {
    if (!tree.exists('/package.json')) {
      throw new SchematicsException('No package.json at the workspace root: run `ng add` inside an Angular workspace.');
    }
    if (!tree.exists('/angular.json')) {
      throw new SchematicsException('No angular.json at the workspace root: run `ng add` inside an Angular CLI workspace.');
    }
    const workspace = await readWorkspace(tree);
    const projectName = pickProject(workspace.projects as unknown as Map<string, ProjectDefinition>, options.project);
    const project = workspace.projects.get(projectName)!;
    const settings = requireOptions(options);

    const buildOptions = project.targets.get('build')?.options ?? {};
    const mainFile = (buildOptions['browser'] ?? buildOptions['main']) as string | undefined;
    if (!mainFile || !tree.exists(mainFile)) {
      throw new SchematicsException(
        `Project "${projectName}" has no main file${mainFile ? ` (${mainFile} does not exist)` : ' in its build target (options.browser)'}: ng add ${PACKAGE_NAME} needs the file that bootstraps the app.`,
      );
    }
    const mainPath = `/${mainFile.replace(/^\//, '')}`;
    const mainText = tree.readText(mainPath);
    const sourceRoot = `/${(project.sourceRoot ?? posix.join(project.root, 'src')).replace(/^\//, '')}`;
    const configPath = `${sourceRoot}/app/auth.config.ts`;
    const kind = bootstrapKind(mainPath, mainText);
    if (!kind) {
      throw new SchematicsException(`ng add ${PACKAGE_NAME} cannot edit this app automatically (${mainFile} calls neither bootstrapApplication nor bootstrapModule).\n${manualLines('standalone', relativeImport(mainPath, configPath), settings.popup)}`);
    }

    // The files that set up the app: main.ts and the local files it imports (app.config.ts, app-module.ts).
    const setupFiles = [mainPath, ...localImports(mainPath, mainText)].filter((path) => tree.exists(path));
    const setupFile = setupFiles.find((path) => /providers\s*:|@NgModule/.test(tree.readText(path))) ?? mainPath;
    const configImport = relativeImport(setupFile, configPath);
    const manual = manualLines(kind, configImport, settings.popup);
    const anySetupFile = (pattern: RegExp) => setupFiles.some((path) => pattern.test(tree.readText(path)));

    const changes: string[] = [];
    const rules: Rule[] = [addPackageDependency(ownPackageVersion(), changes)];

    if (!tree.exists(configPath)) {
      tree.create(configPath, configFileText(settings));
      changes.push(`created ${configPath.slice(1)}`);
    }

    if (!anySetupFile(kind === 'standalone' ? /\bprovideAuth\s*\(/ : /\bAuthModule\.forRoot\s*\(/)) {
      rules.push(
        orManual(
          kind === 'standalone'
            ? addRootProvider(projectName, ({ code, external }) =>
                settings.popup
                  ? code`${external('provideAuth', PACKAGE_NAME)}(${external('authConfig', configImport)}, ${external('withPopupSignIn', PACKAGE_NAME)}())`
                  : code`${external('provideAuth', PACKAGE_NAME)}(${external('authConfig', configImport)})`,
              )
            : addRootImport(projectName, ({ code, external }) =>
                settings.popup
                  ? code`${external('AuthModule', PACKAGE_NAME)}.forRoot(${external('authConfig', configImport)}, ${external('withPopupSignIn', PACKAGE_NAME)}())`
                  : code`${external('AuthModule', PACKAGE_NAME)}.forRoot(${external('authConfig', configImport)})`,
              ),
          manual,
        ),
      );
      const call = kind === 'standalone' ? 'provideAuth' : 'AuthModule.forRoot';
      const added = `${call}(authConfig${settings.popup ? ', withPopupSignIn()' : ''})`;
      changes.push(kind === 'standalone' ? `added ${added} to ${setupFile.slice(1)}` : `imported ${added} in ${setupFile.slice(1)}`);
    }

    rules.push(wireInterceptor(kind, setupFiles, projectName, manual, changes));
    // The page of iframe renewal and of popup sign-in alike.
    if (settings.strategy === 'iframe' || settings.popup) rules.push(addSilentRenewPage(projectName, project, sourceRoot, changes, settings.popup));

    rules.push((_tree, ctx) => {
      if (changes.length === 0) {
        ctx.logger.info(`${PACKAGE_NAME} is already set up in project "${projectName}": nothing changed.`);
        return;
      }
      ctx.logger.info(`${PACKAGE_NAME} set up in project "${projectName}":`);
      for (const change of changes) ctx.logger.info(`  - ${change}`);
      ctx.logger.info(`Register these at your OpenID Provider for client "${settings.clientId}": redirect URI and post-logout redirect URI <app origin>/${settings.strategy === 'iframe' || settings.popup ? ', and <app origin>/silent-renew.html as a redirect URI' : ''}.`);
    });
    return chain(rules);
  };
}

function wireInterceptor(kind: 'standalone' | 'ngmodule', setupFiles: string[], projectName: string, manual: string, changes: string[]): Rule {
  return (tree: Tree) => {
    const rules: Rule[] = [];
    const wired = setupFiles.some((path) => (kind === 'standalone' ? /\bauthInterceptor\b/ : /\bAuthInterceptor\b/).test(tree.readText(path)));
    if (wired) return;
    let merged = false;
    for (const path of setupFiles) {
      const result = mergeIntoProvideHttpClient(path, tree.readText(path), kind === 'standalone' ? 'functional' : 'di');
      if (result.kind === 'unsupported') throw new SchematicsException(`ng add ${PACKAGE_NAME} cannot edit this app automatically (${result.reason}).\n${manual}`);
      if (result.kind === 'absent') continue;
      merged = true;
      if (result.kind === 'merged') {
        tree.overwrite(path, result.text);
        changes.push(`added the interceptor to the existing provideHttpClient() in ${path.slice(1)}`);
      }
      break;
    }
    if (!merged) {
      rules.push(
        orManual(
          addRootProvider(projectName, ({ code, external }) =>
            kind === 'standalone'
              ? code`${external('provideHttpClient', '@angular/common/http')}(${external('withInterceptors', '@angular/common/http')}([${external('authInterceptor', PACKAGE_NAME)}]))`
              : code`${external('provideHttpClient', '@angular/common/http')}(${external('withInterceptorsFromDi', '@angular/common/http')}())`,
          ),
          manual,
        ),
      );
      changes.push(kind === 'standalone' ? 'added provideHttpClient(withInterceptors([authInterceptor]))' : 'added provideHttpClient(withInterceptorsFromDi())');
    }
    if (kind === 'ngmodule') {
      rules.push(
        orManual(
          addRootProvider(projectName, ({ code, external }) =>
            code`{ provide: ${external('HTTP_INTERCEPTORS', '@angular/common/http')}, useClass: ${external('AuthInterceptor', PACKAGE_NAME)}, multi: true }`,
          ),
          manual,
        ),
      );
      changes.push('registered AuthInterceptor in HTTP_INTERCEPTORS');
    }
    return chain(rules);
  };
}

type AssetEntry = string | { glob?: string; input?: string; output?: string };

/** Whether an assets list already copies `file` (in `dir`) to the output root. */
function assetsCover(assets: AssetEntry[], dir: string, file: string): boolean {
  const clean = (path: string) => path.replace(/^\/|\/$/g, '');
  return assets.some((asset) =>
    typeof asset === 'string'
      ? clean(asset) === clean(`${dir}/${file}`)
      : clean(asset.input ?? '') === clean(dir) && (asset.glob === '**/*' || asset.glob === file) && (asset.output ?? '/') === '/',
  );
}

/** What only a page that handles popup sign-in has: the message it posts to the app. */
const POPUP_PAGE_MARKER = 'ngx-oidc-session:popup-sign-in';

function addSilentRenewPage(projectName: string, project: ProjectDefinition, sourceRoot: string, changes: string[], popup: boolean): Rule {
  return (tree: Tree) => {
    const root = project.root ? `/${project.root.replace(/^\//, '')}` : '';
    const publicDir = `${root}/public`;
    const hasPublic = tree.getDir(publicDir).subfiles.length > 0 || tree.getDir(publicDir).subdirs.length > 0;
    const dir = hasPublic ? publicDir : sourceRoot;
    const page = `${dir}/silent-renew.html`;
    const current = readFileSync(join(PACKAGE_ROOT, 'assets', 'silent-renew.html'), 'utf8');
    if (!tree.exists(page)) {
      tree.create(page, current);
      changes.push(`created ${page.slice(1)}`);
    } else if (popup && !tree.readText(page).includes(POPUP_PAGE_MARKER)) {
      // A page of an older version (iframe renewal only) would leave the popup waiting until its timeout.
      tree.overwrite(page, current);
      changes.push(`replaced ${page.slice(1)}: the existing one (an older version) does not handle popup sign-in; any changes you made to it are gone`);
    }
    const input = dir.slice(1);
    return updateWorkspace((workspace) => {
      const target = workspace.projects.get(projectName)!;
      for (const name of ['build', 'test']) {
        const definition = target.targets.get(name);
        if (!definition) continue;
        // Only builders with an assets option; the unit-test (Vitest) builder has none.
        if (name === 'test' && !/karma/.test(definition.builder)) continue;
        definition.options ??= {};
        const assets = (definition.options['assets'] ?? []) as AssetEntry[];
        if (assetsCover(assets, input, 'silent-renew.html')) continue;
        definition.options['assets'] = [...assets, { glob: 'silent-renew.html', input, output: '/' }];
        changes.push(`added silent-renew.html to the assets of ${projectName}:${name}`);
      }
    });
  };
}
