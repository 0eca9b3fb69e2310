#!/usr/bin/env node
// The size budget of `npm test`: what ngx-oidc-session (dist/ngx-oidc-session, built by the
// build suite before this runs) adds to the bench app, in gzip bytes, may not exceed the limit
// recorded in bench/size-budget.json. Growth is allowed only by raising that limit in the same
// commit, so that it is always a decision and shows in review.
import { ensureNode22 } from '../tools/lib/run.mjs';

await ensureNode22(import.meta.url);
const { buildVariant, measureInitialJs, readBudget } = await import('./lib/size.mjs');

const budget = readBudget();
const bare = measureInitialJs(await buildVariant('bare'));
const withLibrary = measureInitialJs(await buildVariant('ngx-oidc-session'));
const cost = withLibrary.gzip - bare.gzip;

console.log(`  ngx-oidc-session adds ${cost} B gzip (${withLibrary.brotli - bare.brotli} B brotli) to the bench app; budget ${budget.gzipBytes} B.`);
if (cost > budget.gzipBytes) {
  console.error(
    `  Over the size budget by ${cost - budget.gzipBytes} B gzip. Make the change smaller, or raise gzipBytes in ` +
      'bench/size-budget.json in the same commit and say why (npm run bench -- size shows where the bytes go).',
  );
  process.exit(1);
}
console.log(`  Within budget (${budget.gzipBytes - cost} B to spare).`);
