/**
 * Runs the specs of the calling describe() as a production build runs the library: with
 * ngDevMode false, so without the dev-mode checks and messages (the production build replaces
 * ngDevMode by false; here the global is switched for each spec and restored after it).
 */
export function asProductionBuild(): void {
  const global = globalThis as unknown as { ngDevMode: unknown };
  let devMode: unknown;
  beforeEach(() => {
    devMode = global.ngDevMode;
    global.ngDevMode = false;
  });
  afterEach(() => (global.ngDevMode = devMode));
}
