#!/usr/bin/env node
// The size budget of `npm test`: what ngx-oidc-session (dist/ngx-oidc-session, built by the
// build suite before this runs) adds to the bench app, in gzip bytes, at start and in all (with
// its on-demand chunk), may not exceed the limits recorded in bench/size-budget.json. Growth is allowed only by raising that limit in the same
// commit, so that it is always a decision and shows in review.
import { ensureNode22 } from '../tools/lib/run.mjs';

await ensureNode22(import.meta.url);
const { buildVariant, measureInitialJs, measureLazyJs, readBudget } = await import('./lib/size.mjs');

const budget = readBudget();
const bareDir = await buildVariant('bare');
const libraryDir = await buildVariant('ngx-oidc-session');
const initial = measureInitialJs(libraryDir).gzip - measureInitialJs(bareDir).gzip;
const total = initial + measureLazyJs(libraryDir).gzip - measureLazyJs(bareDir).gzip;

console.log(`  ngx-oidc-session adds ${initial} B gzip at start and ${total} B in all (with its on-demand chunk) to the bench app; budget ${budget.initialGzipBytes} B and ${budget.totalGzipBytes} B.`);
const over = [
  initial > budget.initialGzipBytes && `at start by ${initial - budget.initialGzipBytes} B`,
  total > budget.totalGzipBytes && `in all by ${total - budget.totalGzipBytes} B`,
].filter(Boolean);
if (over.length) {
  console.error(
    `  Over the size budget ${over.join(' and ')} gzip. Make the change smaller, or raise the limit in ` +
      'bench/size-budget.json in the same commit and say why (npm run bench -- size shows where the bytes go).',
  );
  process.exit(1);
}
console.log(`  Within budget (${budget.initialGzipBytes - initial} B and ${budget.totalGzipBytes - total} B to spare).`);
