// Assertions about pushed authorization requests (RFC 9126) at the dev OP, for any flow that
// sends an authorization request (redirect sign-in, iframe renewal, popup, silent sign-in).
import assert from 'node:assert/strict';

/** Forgets the authorization requests the OP recorded so far. */
export function resetAuthorizationRequests(rig) {
  return rig.hook('/authorization-requests/reset', { method: 'POST' });
}

/**
 * Asserts that since the last reset every authorization request of `clientId` was pushed
 * first: `count` pushed requests with that `prompt` (null: none), and every authorization
 * request of the client carrying only client_id and request_uri (RFC 9126 4). Returns the log.
 */
export async function assertParSeen(rig, { clientId, prompt = null, count = 1 }) {
  const log = await rig.hook('/authorization-requests');
  const pushed = log.pushed.filter((entry) => entry.clientId === clientId);
  const authorize = log.authorize.filter((entry) => entry.clientId === clientId);
  assert.deepEqual(
    pushed.map((entry) => entry.prompt),
    Array(count).fill(prompt),
    `pushed requests of ${clientId} (${JSON.stringify(log)})`,
  );
  for (const entry of pushed) {
    for (const name of ['redirect_uri', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'scope', 'response_type']) {
      assert.ok(entry.params.includes(name), `the pushed request carries ${name}`);
    }
  }
  assert.equal(authorize.length, count, `authorization requests of ${clientId} (${JSON.stringify(log)})`);
  for (const entry of authorize) {
    assert.deepEqual(entry.params, ['client_id', 'request_uri'], 'the authorization request carries only client_id and request_uri');
    assert.equal(entry.pushed, true, 'its request_uri is one the OP issued');
  }
  return log;
}

/**
 * The parameters of the page's next authorization request, as the OP gets them: the body of the
 * pushed request (RFC 9126) when there is one, else the authorization URL's query.
 */
export async function nextAuthorizationParams(page, op) {
  const request = await page.waitForRequest((candidate) => {
    const url = new URL(candidate.url());
    if (url.origin !== op) return false;
    return (url.pathname === '/request' && candidate.method() === 'POST') || (url.pathname === '/auth' && !url.searchParams.has('request_uri'));
  });
  const url = new URL(request.url());
  return url.pathname === '/request' ? new URLSearchParams(request.postData() ?? '') : url.searchParams;
}
