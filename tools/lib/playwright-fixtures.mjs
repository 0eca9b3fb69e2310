// Fixtures shared by the Playwright Test suites (e2e, compat, ssr).

/**
 * `newContext`: opens browser contexts for a test and closes every one of them after it,
 * passed or failed, so no page of a test runs into the next one.
 */
export async function newContextFixture({ browser }, use) {
  const contexts = [];
  await use(async (options) => {
    const context = await browser.newContext(options);
    contexts.push(context);
    return context;
  });
  await Promise.all(contexts.map((context) => context.close()));
}
