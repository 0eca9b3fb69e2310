// Helpers of the provider-profile scenarios (e2e/provider-*.test.mjs): the dev OP's quirks and a
// logout that leaves for the OP and comes back.
import { APP, OP } from './support.mjs';

/** Sets dev OP quirks (tools/dev-op/test-hooks.mjs); each test's /reset puts them back. */
export const setQuirks = (rig, quirks) => rig.hook('/quirks', { method: 'POST', body: quirks });

/**
 * Resolves with the app URL the main frame commits after it has been at the OP: where a logout
 * that went to the OP comes back. Set up before the click that starts the logout.
 */
export function returnFromOp(page) {
  return new Promise((resolve) => {
    let atOp = false;
    const onNavigated = (frame) => {
      if (frame !== page.mainFrame()) return;
      const origin = new URL(frame.url()).origin;
      if (origin === OP) atOp = true;
      else if (atOp && origin === APP) {
        page.off('framenavigated', onNavigated);
        resolve(frame.url());
      }
    };
    page.on('framenavigated', onNavigated);
  });
}

/** The query parameters of the browser's requests to `path` at the OP, in order, as [name, value] pairs. */
export function requestsTo(page, path) {
  const seen = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === OP && url.pathname === path) seen.push([...url.searchParams]);
  });
  return seen;
}

/**
 * Starts a sign-in from the demo's home page and says whether the OP asked for a login: false
 * when its session knew the user, who then signed in at once or was only asked for consent (a
 * revoked refresh token takes its grant with it).
 */
export async function opAsksForLogin(page) {
  await page.getByTestId('login').click();
  const login = page.locator('input[name="login"]').waitFor().then(() => true);
  const consent = page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' }).then(() => false);
  const signedIn = page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor().then(() => false);
  return Promise.race([login, consent, signedIn]);
}
