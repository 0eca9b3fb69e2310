import { SchematicTestRunner, UnitTestTree } from '@angular-devkit/schematics/testing';
import { HostTree } from '@angular-devkit/schematics';
import { join } from 'node:path';
import { ownPackageVersion } from './index';

const collectionPath = join(__dirname, '..', 'collection.json');

describe('ng-add', () => {
  const runner = new SchematicTestRunner('ngx-oidc-session', collectionPath);

  async function workspace(): Promise<UnitTestTree> {
    const tree = await runner.runExternalSchematic('@schematics/angular', 'workspace', {
      name: 'workspace',
      version: '22.0.0',
      newProjectRoot: 'projects',
    });
    return runner.runExternalSchematic('@schematics/angular', 'application', { name: 'app' }, tree);
  }

  it('adds the package to dependencies at its own version', async () => {
    const tree = await runner.runSchematic('ng-add', {}, await workspace());
    const manifest = JSON.parse(tree.readText('/package.json'));
    expect(ownPackageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.dependencies['ngx-oidc-session']).toBe(`^${ownPackageVersion()}`);
  });

  it('changes nothing when run twice', async () => {
    const once = await runner.runSchematic('ng-add', {}, await workspace());
    const first = once.readText('/package.json');
    const twice = await runner.runSchematic('ng-add', {}, once);
    expect(twice.readText('/package.json')).toBe(first);
  });

  it('rejects an unknown --project with the known names', async () => {
    await expectAsync(runner.runSchematic('ng-add', { project: 'nope' }, await workspace())).toBeRejectedWithError(
      /Project "nope" is not in angular.json \(projects: app\)/,
    );
  });

  it('fails clearly outside a workspace', async () => {
    await expectAsync(runner.runSchematic('ng-add', {}, new UnitTestTree(new HostTree()))).toBeRejectedWithError(
      /No package\.json at the workspace root/,
    );
  });
});
