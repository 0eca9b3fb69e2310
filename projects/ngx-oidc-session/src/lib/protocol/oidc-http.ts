import { HttpBackend, HttpErrorResponse, HttpHeaders, HttpRequest, HttpResponse } from '@angular/common/http';

type FetchInit = { method: string; headers: Record<string, string>; body?: unknown; signal?: AbortSignal | null };

/**
 * The fetch oauth4webapi uses for the library's own requests to the OP: through Angular's
 * HttpBackend, past every app interceptor (so no interceptor can add or log anything on them),
 * through `withFetch()` when the app chose it, and replaceable by HttpTestingController in
 * tests. Without provideHttpClient(), the global fetch. Redirects are never followed.
 */
export function backendFetch(backend: HttpBackend | null): (url: string, init: FetchInit) => Promise<Response> {
  return (url, init) => (backend ? viaBackend(backend, url, init) : viaFetch(url, init));
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
    const subscription = backend.handle(request).subscribe({
      next: (event) => {
        if (event instanceof HttpResponse) resolve(toResponse(event.status, event.headers, event.body));
      },
      error: (error: unknown) => {
        if (error instanceof HttpErrorResponse && error.status !== 0) {
          const text = typeof error.error === 'string' ? error.error : error.error == null ? null : JSON.stringify(error.error);
          resolve(toResponse(error.status, error.headers, text));
        } else {
          // Status 0: the request never got an HTTP answer (offline, DNS, CORS refusal).
          reject(new TypeError('Network request failed'));
        }
      },
    });
    signal?.addEventListener('abort', () => {
      subscription.unsubscribe();
      reject(signal.reason ?? new DOMException('The request was aborted.', 'AbortError'));
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
