import { HttpBackend, HttpErrorResponse, HttpHeaders, HttpRequest, HttpResponse } from '@angular/common/http';

type FetchInit = { method: string; headers: Record<string, string>; body?: unknown; signal?: AbortSignal | null };

/**
 * The fetch oauth4webapi uses for the library's own requests to the OP: through Angular's
 * HttpBackend, past every app interceptor (so no interceptor can add or log anything on them),
 * through `withFetch()` when the app chose it, and replaceable by HttpTestingController in
 * tests. Without provideHttpClient(), the global fetch. Redirects are never followed.
 */
export function backendFetch(backend: HttpBackend | null, timeoutMs: number): (url: string, init: FetchInit) => Promise<Response> {
  return async (url, init) => {
    // A timer of our own, cleared when the answer is in: AbortSignal.timeout() would keep the
    // request (its body holds a refresh token or code verifier) and the response (its tokens)
    // reachable until it fires, also after a logout.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('The OP did not answer in time.', 'TimeoutError')), timeoutMs);
    try {
      const request = { ...init, signal: controller.signal };
      return await (backend ? viaBackend(backend, url, request) : viaFetch(url, request));
    } finally {
      clearTimeout(timer);
    }
  };
}

function viaFetch(url: string, init: FetchInit): Promise<Response> {
  return globalThis.fetch(url, {
    method: init.method,
    headers: init.headers,
    body: init.body as BodyInit | undefined,
    signal: init.signal,
    redirect: 'manual',
  });
}

function viaBackend(backend: HttpBackend, url: string, init: FetchInit): Promise<Response> {
  const body = init.body instanceof URLSearchParams ? init.body.toString() : ((init.body as string | undefined) ?? null);
  const request = new HttpRequest<string | null>(init.method as 'POST', url, body, {
    headers: new HttpHeaders(init.headers),
    responseType: 'text',
  });
  const signal = init.signal;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new DOMException('The request was aborted.', 'AbortError'));
      return;
    }
    const running: { subscription?: { unsubscribe(): void } } = {};
    const onAbort = () => {
      running.subscription?.unsubscribe();
      reject(signal?.reason ?? new DOMException('The request was aborted.', 'AbortError'));
    };
    // The listener holds the request, and with it the body: it goes as soon as the answer is in.
    const settle = (outcome: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    running.subscription = backend.handle(request).subscribe({
      next: (event) => {
        if (event instanceof HttpResponse) settle(() => resolve(toResponse(event.status, event.headers, event.body)));
      },
      error: (error: unknown) => {
        if (error instanceof HttpErrorResponse && error.status !== 0) {
          const text = typeof error.error === 'string' ? error.error : error.error == null ? null : JSON.stringify(error.error);
          settle(() => resolve(toResponse(error.status, error.headers, text)));
        } else {
          // Status 0: the request never got an HTTP answer (offline, DNS, CORS refusal).
          settle(() => reject(new TypeError('Network request failed')));
        }
      },
    });
  });
}

function toResponse(status: number, headers: HttpHeaders, body: string | null): Response {
  const responseHeaders = new Headers();
  for (const name of headers.keys()) {
    for (const value of headers.getAll(name) ?? []) responseHeaders.append(name, value);
  }
  const bodyless = status === 204 || status === 205 || status === 304;
  return new Response(bodyless ? null : (body ?? ''), { status, headers: responseHeaders });
}
