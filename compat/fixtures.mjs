// Playwright Test fixtures of the compat and ssr suites.
// - `compatOp` (per worker): the dev OP and API on the compat ports with 5-second access
//   tokens, so a renewal comes 4 s after sign-in (the library renews in the last fifth).
// - `tarball` (per worker): the library packed from dist/ngx-oidc-session.
// - `newContext` (per test): browser contexts closed after the test, passed or failed.
import { join } from 'node:path';
import { test as base } from '@playwright/test';
import { newContextFixture } from '../tools/lib/playwright-fixtures.mjs';
import { compatDir, packLibrary, startCompatOp } from './support.mjs';

export const ACCESS_TOKEN_TTL = 5;

export const test = base.extend({
  compatOp: [
    async ({}, use) => {
      const op = await startCompatOp({ accessTokenTtl: ACCESS_TOKEN_TTL });
      try {
        await use(op);
      } finally {
        await op.close();
      }
    },
    { scope: 'worker' },
  ],

  tarball: [async ({}, use) => use(await packLibrary(join(compatDir, '.pack'))), { scope: 'worker', timeout: 60_000 }],

  newContext: newContextFixture,
});
