import { Rule, SchematicContext, SchematicsException, Tree } from '@angular-devkit/schematics';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NgAddOptions } from './schema';

const PACKAGE_NAME = 'ngx-oidc-session';

/** The version of the package this schematic ships in; never hard-coded. */
export function ownPackageVersion(): string {
  // The collection is compiled to <package>/schematics/ng-add, so the package.json is two levels up.
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    name?: string;
    version?: string;
  };
  if (manifest.name !== PACKAGE_NAME || !manifest.version) {
    throw new SchematicsException(`Cannot read the ${PACKAGE_NAME} version from its package.json.`);
  }
  return manifest.version;
}

/** Adds the package to the workspace's dependencies at this schematic's own version. */
export function addPackageDependency(version: string): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const path = '/package.json';
    const text = tree.readText(path);
    const manifest = JSON.parse(text) as { dependencies?: Record<string, string> };
    const wanted = `^${version}`;
    if (manifest.dependencies?.[PACKAGE_NAME] === wanted) {
      context.logger.info(`${PACKAGE_NAME} ${wanted} is already in dependencies.`);
      return tree;
    }
    manifest.dependencies = sortKeys({ ...manifest.dependencies, [PACKAGE_NAME]: wanted });
    const indent = /^\s+/m.exec(text.split('\n')[1] ?? '')?.[0] ?? '  ';
    tree.overwrite(path, JSON.stringify(manifest, null, indent) + '\n');
    context.logger.info(`Added ${PACKAGE_NAME} ${wanted} to dependencies.`);
    return tree;
  };
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function assertApplicationExists(tree: Tree, project: string): void {
  const workspace = tree.exists('/angular.json')
    ? (JSON.parse(tree.readText('/angular.json')) as { projects?: Record<string, { projectType?: string }> })
    : {};
  const found = workspace.projects?.[project];
  if (!found) {
    const known = Object.keys(workspace.projects ?? {}).join(', ') || 'none';
    throw new SchematicsException(`Project "${project}" is not in angular.json (projects: ${known}).`);
  }
  if (found.projectType !== 'application') {
    throw new SchematicsException(`Project "${project}" is a ${found.projectType ?? 'non-application'} project; ng add ${PACKAGE_NAME} needs an application.`);
  }
}

export function ngAdd(options: NgAddOptions): Rule {
  return (tree: Tree) => {
    if (!tree.exists('/package.json')) {
      throw new SchematicsException('No package.json at the workspace root: run `ng add` inside an Angular workspace.');
    }
    if (options.project) assertApplicationExists(tree, options.project);
    return addPackageDependency(ownPackageVersion());
  };
}
