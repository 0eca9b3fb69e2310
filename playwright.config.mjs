// Playwright Test runs the browser suites: `e2e` (the demo against the dev OP), `compat` (the
// packed library in apps of each supported Angular major) and `ssr` (a server-rendered app).
// `npm test` starts each project on its own (tools/test.mjs); by hand:
//   npx playwright test --project=e2e e2e/renew.test.mjs
import { defineConfig } from '@playwright/test';
import { CHROMIUM_FLAGS, findChromium } from './tools/lib/chromium.mjs';

export default defineConfig({
  // Three workers: the e2e scenarios mostly wait on real time (token lifetimes, renewals), and
  // each worker's rig listens on a port set of its own (e2e/support.mjs: worker N adds 1000 × N
  // to 4200/4400/4500/45001; three sets fit below port 65536). A failure is a failure (no retries).
  workers: 3,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  timeout: 90_000,
  reporter: [['list'], ['./tools/lib/playwright-summary.mjs']],
  use: {
    browserName: 'chromium',
    headless: true,
    // Chromium from apt (no browser downloads here), with the flags it needs as root and offline.
    launchOptions: { executablePath: findChromium(), args: CHROMIUM_FLAGS },
    trace: 'retain-on-failure',
  },
  // Each project keeps its failures' traces in a folder of its own, so projects can run at once.
  projects: [
    // e2e: file by file over the workers (measured: as fast as test by test, since the long
    // files, ng-add and renew, each take a worker of their own). The many-tab files take the
    // lock 'many-tabs': test by test, three at once on the loaded 2 cores, they saw 401s.
    { name: 'e2e', testDir: 'e2e', testMatch: '*.test.mjs', outputDir: '.test-results/playwright/e2e' },
    // compat and ssr: one worker each, their dev OP has fixed ports (compat/support.mjs).
    { name: 'compat', testDir: 'compat', testMatch: 'compat.test.mjs', outputDir: '.test-results/playwright/compat', workers: 1 },
    { name: 'ssr', testDir: 'compat', testMatch: 'ssr.test.mjs', outputDir: '.test-results/playwright/ssr', workers: 1 },
  ],
});
