// Playwright Test fixtures of the end-to-end scenarios.
//
// - `rig` (per worker): the dev OP in test mode, the demo API and the built demo on
//   http://localhost:4200 (in worker N, the ports 1000 × N higher: support.mjs), with
//   Playwright's own Chromium (`browser`). A file sets the OP's options with
//   `test.use({ rigOptions: { ttl: { accessTokenTtl: 10 } } })`; files with other options get
//   another worker, which starts after the one it replaces has closed its rig, so each rig owns
//   its worker's ports alone. It starts for every test (auto), also for tests that only use
//   Playwright's `page`.
// - `newContext` (per test): opens browser contexts and closes every one of them after the
//   test, passed or failed, so no page of a test runs into the next one.
// - `demoPage` (per test): a fresh context running the demo with a renew strategy.
import { test as base } from '@playwright/test';
import { newContextFixture } from '../tools/lib/playwright-fixtures.mjs';
import { demoPage, startRig } from './support.mjs';

export const test = base.extend({
  rigOptions: [{}, { option: true, scope: 'worker' }],

  rig: [
    async ({ rigOptions, browser }, use) => {
      const rig = await startRig({ ...rigOptions, browser });
      try {
        await use(rig);
      } finally {
        await rig.close();
      }
    },
    { scope: 'worker', auto: true, timeout: 60_000 },
  ],

  newContext: newContextFixture,

  demoPage: async ({ newContext }, use) => {
    await use((strategy, options) => demoPage(newContext, strategy, options));
  },
});
