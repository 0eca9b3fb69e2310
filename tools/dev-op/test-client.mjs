// The test hooks of a dev environment in test mode, as the browser suites call them (see the
// "Test mode hooks" table in README.md). Answers are JSON; a hook that fails throws.

/** @param {{ issuer: string, apiUrl: string }} environment what startDevEnvironment() resolved to */
export function testHooks({ issuer, apiUrl }) {
  const call = async (url, what, { method = 'GET', body } = {}) => {
    const response = await fetch(url, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${what} ${method} ${new URL(url).pathname} answered ${response.status}`);
    return response.status === 204 ? null : response.json();
  };
  /** An OP hook: `hook('/reset', { method: 'POST' })`. */
  const hook = (path, options) => call(`${issuer}/__test${path}`, 'test hook', options);
  const apiHook = (path, method = 'GET') => call(`${apiUrl}/__test${path}`, 'API test hook', { method });
  return {
    hook,
    counters: () => hook('/counters'),
    resetCounters: () => hook('/counters/reset', { method: 'POST' }),
    apiLog: () => apiHook('/api-log'),
    resetApiLog: () => apiHook('/api-log/reset', 'POST'),
    /**
     * DPoP switches (all optional): `{ opNonceRequired, apiNonceRequired, rotateApiNonce }`;
     * without settings, the current status.
     */
    dpop: (settings) => (settings ? hook('/dpop', { method: 'POST', body: settings }) : hook('/dpop')),
    /** The token, PAR and userinfo requests the OP got: whether each carried a DPoP proof, and how it ended. */
    dpopLog: () => hook('/dpop-log'),
    resetDpopLog: () => hook('/dpop-log/reset', { method: 'POST' }),
  };
}
