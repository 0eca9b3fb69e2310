import { AuthError } from '../core/errors';
import { OpFetch } from '../platform/op-fetch';

type FetchInit = { method: string; headers: Record<string, string>; body?: unknown; signal?: AbortSignal | null };

/**
 * The fetch oauth4webapi uses for the library's own requests to the OP: always the browser's
 * fetch (past every app interceptor, so none can add or log anything on them), never Angular's
 * HttpBackend. XHR, which HttpBackend uses without `withFetch()`, follows redirects and cannot
 * be told not to: a 307 from the token endpoint would re-send the refresh token or the PKCE
 * verifier to whatever URL the redirect names. Here no redirect is ever followed: a 3xx from
 * the OP is an error (transient: the session stays, the renewal retries with backoff).
 */
export function opFetch(custom: OpFetch | null, timeoutMs: number): (url: string, init: FetchInit) => Promise<Response> {
  const send: OpFetch = custom ?? ((url, init) => globalThis.fetch(url, init));
  return async (url, init) => {
    // A timer of our own, cleared when the answer is in: AbortSignal.timeout() would keep the
    // request (its body holds a refresh token or code verifier) and the response (its tokens)
    // reachable until it fires, also after a logout.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('The OP did not answer in time.', 'TimeoutError')), timeoutMs);
    let response: Response;
    try {
      response = await send(url, {
        method: init.method,
        headers: init.headers,
        body: init.body as BodyInit | undefined,
        signal: controller.signal,
        redirect: 'manual',
      });
    } finally {
      clearTimeout(timer);
    }
    // A browser hides a manual redirect's status behind an opaque response (status 0).
    const redirected = response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400 && response.status !== 304);
    if (!redirected) return response;
    void response.body?.cancel().catch(() => undefined);
    throw new AuthError(
      'invalid_response',
      ngDevMode ? 'The OP answered with a redirect. Requests to the OP never follow redirects, so that no token, code or verifier is sent to another URL.' : '',
      true,
      response.status ? { status: response.status } : {},
    );
  };
}
