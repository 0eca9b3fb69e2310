import { HttpClient, HttpContext, HttpErrorResponse, HttpHeaders, HttpRequest } from '@angular/common/http';
import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { firstValueFrom } from 'rxjs';
import { AuthConfig } from '../core/config';
import { APP, AuthHarness, InterceptorSetup } from '../../testing/harness';
import { AUTH_TOKEN, withoutAuthToken } from './auth-interceptor';

const SECURE_APIS = ['https://api.example.com', 'http://localhost:4500/api', '/internal'];
const INVALID_TOKEN = { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="expired"' };

interface Setup {
  harness: AuthHarness;
  http: HttpClient;
  controller: HttpTestingController;
}

async function setUp(config: Partial<AuthConfig> = {}, interceptor: InterceptorSetup = 'functional', signIn = true): Promise<Setup> {
  const harness = await AuthHarness.create({ secureApis: SECURE_APIS, ...config });
  harness.interceptor = interceptor;
  if (signIn) await harness.signIn();
  else await harness.load();
  return { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController) };
}

/** Sends a GET and resolves with the request as it reached the backend. */
function send(setup: Setup, url: string, context?: HttpContext, headers?: HttpHeaders) {
  const arrived = firstValueFrom(setup.harness.apiRequests);
  const response = firstValueFrom(setup.http.get(url, { context, headers }));
  response.catch(() => undefined); // asserted where it matters
  return { arrived, response };
}

async function authorizationSentTo(setup: Setup, url: string, context?: HttpContext): Promise<string | null> {
  const { arrived, response } = send(setup, url, context);
  const request: HttpRequest<unknown> = await arrived;
  setup.controller.match(() => true).forEach((pending) => pending.flush({ ok: true }));
  await response;
  return request.headers.get('Authorization');
}

describe('authInterceptor URL matching', () => {
  let setup: Setup;
  beforeEach(async () => {
    setup = await setUp();
  });

  const attached = [
    'https://api.example.com/v1/orders',
    'https://api.example.com',
    'https://api.example.com/',
    'https://API.example.com/v1',
    'http://localhost:4500/api',
    'http://localhost:4500/api/',
    'http://localhost:4500/api/hello?x=1',
    '/internal/report',
    `${APP}/internal`,
  ];
  for (const url of attached) {
    it(`attaches the token to ${url}`, async () => {
      expect(await authorizationSentTo(setup, url)).toBe('Bearer at-1');
    });
  }

  const refused = [
    'https://api.example.com.evil.net/v1',
    'https://api.example.com:8443/v1',
    'http://api.example.com/v1',
    'https://evil.example.com/?target=https://api.example.com',
    'https://evil.example.com/https://api.example.com/v1',
    'http://localhost:45001/api/hello',
    'http://localhost:4500/apis/hello',
    'http://localhost:4500/api-internal',
    'http://localhost:4500/',
    'http://127.0.0.1:4500/api/hello',
    'http://localhost:4500/api/../admin',
    '/internalx',
    '/other',
    'https://other.example.com/internal',
  ];
  for (const url of refused) {
    it(`sends no token to ${url}`, async () => {
      expect(await authorizationSentTo(setup, url)).toBeNull();
    });
  }

  it('never sends the token to the OP, even when its origin is listed', async () => {
    const listed = await setUp({ secureApis: ['https://op.example.com', 'https://api.example.com'] });
    const tokenRequests = listed.harness.op.requests.length;
    await firstValueFrom(listed.http.get('https://op.example.com/userinfo'));
    const seen = listed.harness.op.requests.slice(tokenRequests);
    expect(seen.length).toBe(1);
    expect(seen[0].headers.get('Authorization')).toBeNull();
  });

  it('never sends the token to an OP endpoint that lies under a listed API', async () => {
    const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
    harness.interceptor = 'functional';
    harness.op.metadata['userinfo_endpoint'] = 'https://api.example.com/oidc/userinfo';
    await harness.signIn();
    const withOpOnApi: Setup = { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController) };
    expect(await authorizationSentTo(withOpOnApi, 'https://api.example.com/v1/orders')).toBe('Bearer at-1');
    expect(await authorizationSentTo(withOpOnApi, 'https://api.example.com/oidc/userinfo')).toBeNull();
    expect(await authorizationSentTo(withOpOnApi, 'https://api.example.com/v1/orders')).toBe('Bearer at-1');
  });

  it('learns the OP endpoints before a token leaves a page without the discovery cache', async () => {
    const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
    harness.interceptor = 'functional';
    harness.op.metadata['userinfo_endpoint'] = 'https://api.example.com/oidc/userinfo';
    await harness.signIn();
    // A reload whose discovery cache is gone: the session is restored, the OP metadata not yet known.
    harness.storage.removeItem(`ngx-oidc-session:${harness.op.clientId}@${harness.op.issuer}/:discovery`);
    await harness.load();
    const reloaded: Setup = { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController) };
    const discoveries = () => harness.op.requestsTo('/.well-known/openid-configuration').length;
    const before = discoveries();
    expect(await authorizationSentTo(reloaded, 'https://api.example.com/oidc/userinfo')).toBeNull();
    expect(discoveries()).toBe(before + 1);
    expect(await authorizationSentTo(reloaded, 'https://api.example.com/v1/orders')).toBe('Bearer at-1');
    expect(await authorizationSentTo(reloaded, 'https://api.example.com/oidc/userinfo')).toBeNull();
    expect(discoveries()).toBe(before + 1);
  });

  it('fails a request, typed and unsent, when the OP endpoints cannot be learned', async () => {
    const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
    harness.interceptor = 'functional';
    await harness.signIn();
    harness.storage.removeItem(`ngx-oidc-session:${harness.op.clientId}@${harness.op.issuer}/:discovery`);
    harness.op.handlers['/.well-known/openid-configuration'] = () => ({ status: 503 });
    await harness.load();
    const http = TestBed.inject(HttpClient);
    const controller = TestBed.inject(HttpTestingController);
    const failure = await firstValueFrom(http.get('https://api.example.com/v1/orders')).catch((error: unknown) => error);
    expect(failure).toEqual(jasmine.objectContaining({ name: 'AuthError' }));
    expect(String((failure as Error).message)).not.toContain('at-1');
    controller.expectNone('https://api.example.com/v1/orders');
  });

  it('lets a request opt out with the HttpContext token', async () => {
    expect(await authorizationSentTo(setup, 'https://api.example.com/v1', withoutAuthToken())).toBeNull();
  });

  it('lets a request opt in only for the app origin or a listed origin', async () => {
    const attach = () => new HttpContext().set(AUTH_TOKEN, 'attach');
    expect(await authorizationSentTo(setup, '/other', attach())).toBe('Bearer at-1');
    expect(await authorizationSentTo(setup, 'https://api.example.com/anything', attach())).toBe('Bearer at-1');
    expect(await authorizationSentTo(setup, 'https://evil.example.com/', attach())).toBeNull();
    expect(await authorizationSentTo(setup, 'http://localhost:45001/api', attach())).toBeNull();
    expect(await authorizationSentTo(setup, 'ws://api.example.com/socket', attach())).toBeNull();
  });

  it("leaves an app's own Authorization header alone", async () => {
    const { arrived, response } = send(setup, 'https://api.example.com/v1', undefined, new HttpHeaders({ Authorization: 'Basic abc' }));
    expect((await arrived).headers.get('Authorization')).toBe('Basic abc');
    setup.controller.expectOne('https://api.example.com/v1').flush({});
    await response;
  });
});

describe('authInterceptor under a <base href>', () => {
  /** An app served under /app/ (`<base href="/app/">`), signed in on a page of it. */
  async function underAppBase(secureApis: string[]): Promise<Setup> {
    const harness = await AuthHarness.create({ secureApis });
    harness.interceptor = 'functional';
    harness.browser.baseHref = '/app/';
    await harness.signIn();
    harness.browser.href = `${APP}/app/orders/42`;
    return { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController) };
  }

  it('matches a relative URL where the browser sends it: under document.baseURI', async () => {
    const setup = await underAppBase([`${APP}/app/api`]);
    expect(await authorizationSentTo(setup, 'api/orders')).toBe('Bearer at-1');
  });

  it('does not match a relative URL against the origin root, where it does not go', async () => {
    const setup = await underAppBase([`${APP}/api`]);
    expect(await authorizationSentTo(setup, 'api/orders')).toBeNull();
  });

  it('follows the base when it changes, as in a page without <base href> that navigates', async () => {
    const setup = await underAppBase([`${APP}/app/api`]);
    expect(await authorizationSentTo(setup, 'api/orders')).toBe('Bearer at-1');
    setup.harness.browser.baseHref = null;
    setup.harness.browser.href = `${APP}/shop/cart`; // api/orders is now /shop/api/orders
    expect(await authorizationSentTo(setup, 'api/orders')).toBeNull();
  });

  it('resolves a root-relative URL against the origin root', async () => {
    const atRoot = await underAppBase([`${APP}/api`]);
    expect(await authorizationSentTo(atRoot, '/api/x')).toBe('Bearer at-1');
    const underBase = await underAppBase([`${APP}/app/api`]);
    expect(await authorizationSentTo(underBase, '/api/x')).toBeNull();
  });
});

describe('authInterceptor token freshness', () => {
  it('waits for the renewal of an expiring token and attaches the fresh one, shared by all requests', async () => {
    const setup = await setUp();
    setup.harness.clock.jump(295_000); // 5 s before expiry
    const first = send(setup, 'https://api.example.com/a');
    const second = send(setup, 'http://localhost:4500/api/b');
    expect((await first.arrived).headers.get('Authorization')).toBe('Bearer at-2');
    await second.arrived;
    setup.controller.match(() => true).forEach((request) => {
      expect(request.request.headers.get('Authorization')).toBe('Bearer at-2');
      request.flush({});
    });
    await Promise.all([first.response, second.response]);
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('sends requests without a token when nobody is signed in', async () => {
    const setup = await setUp({}, 'functional', false);
    expect(await authorizationSentTo(setup, 'https://api.example.com/v1')).toBeNull();
  });

  it('fails requests with no_session when configured to, without sending them', async () => {
    const setup = await setUp({ unauthenticatedRequests: 'fail' }, 'functional', false);
    await expectAsync(firstValueFrom(setup.http.get('https://api.example.com/v1'))).toBeRejectedWith(
      jasmine.objectContaining({ code: 'no_session' }),
    );
    setup.controller.expectNone('https://api.example.com/v1');
  });
});

describe('authInterceptor 401 recovery', () => {
  it('renews once for all requests that fail together and retries each once', async () => {
    const setup = await setUp();
    const calls = ['a', 'b', 'c'].map((path) => send(setup, `https://api.example.com/${path}`));
    await Promise.all(calls.map((call) => call.arrived));
    const retried = new Promise<void>((resolve) => {
      let seen = 0;
      const subscription = setup.harness.apiRequests.subscribe(() => {
        if (++seen === 3) {
          subscription.unsubscribe();
          resolve();
        }
      });
    });
    setup.controller.match(() => true).forEach((request) => request.flush({ error: 'invalid_token' }, { status: 401, statusText: 'Unauthorized', headers: INVALID_TOKEN }));
    await retried;
    const retries = setup.controller.match(() => true);
    expect(retries.length).toBe(3);
    for (const retry of retries) {
      expect(retry.request.headers.get('Authorization')).toBe('Bearer at-2');
      retry.flush({ ok: true });
    }
    expect(await Promise.all(calls.map((call) => call.response))).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('takes a token without expires_in for five minutes, and a 401 before then renews and retries', async () => {
    const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
    harness.interceptor = 'functional';
    harness.op.omitExpiresIn = true;
    const requestedAt = harness.clock.now();
    await harness.signIn();
    const setup: Setup = { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController) };
    expect(setup.harness.auth.state().accessTokenExpiresAt).toBe(requestedAt + 300_000); // the documented rule
    setup.harness.clock.advance(60_000); // the OP's real lifetime was shorter: the API refuses the token
    const call = send(setup, 'https://api.example.com/a');
    await call.arrived;
    const retried = firstValueFrom(setup.harness.apiRequests);
    setup.controller.expectOne('https://api.example.com/a').flush({}, { status: 401, statusText: 'Unauthorized', headers: INVALID_TOKEN });
    const retry = await retried;
    expect(retry.headers.get('Authorization')).toBe('Bearer at-2');
    setup.controller.expectOne('https://api.example.com/a').flush({ ok: true });
    expect(await call.response).toEqual({ ok: true });
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('returns a second 401 to the caller: one retry, no loop', async () => {
    const setup = await setUp();
    const call = send(setup, 'https://api.example.com/a');
    await call.arrived;
    const retry = firstValueFrom(setup.harness.apiRequests);
    setup.controller.expectOne('https://api.example.com/a').flush({}, { status: 401, statusText: 'Unauthorized', headers: INVALID_TOKEN });
    await retry;
    setup.controller.expectOne('https://api.example.com/a').flush({}, { status: 401, statusText: 'Unauthorized', headers: INVALID_TOKEN });
    const error = await call.response.then(() => null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpErrorResponse);
    expect((error as HttpErrorResponse).status).toBe(401);
    setup.controller.verify();
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('does not retry a 401 without an invalid_token challenge, unless configured to', async () => {
    const plain = await setUp();
    const call = send(plain, 'https://api.example.com/a');
    await call.arrived;
    plain.controller.expectOne('https://api.example.com/a').flush({}, { status: 401, statusText: 'Unauthorized', headers: { 'WWW-Authenticate': 'Bearer realm="api"' } });
    await expectAsync(call.response).toBeRejected();
    plain.controller.verify();
    expect(plain.harness.refreshGrants().length).toBe(0);

    const any = await setUp({ retryOn401: 'any' });
    const second = send(any, 'https://api.example.com/a');
    await second.arrived;
    const retry = firstValueFrom(any.harness.apiRequests);
    any.controller.expectOne('https://api.example.com/a').flush({}, { status: 401, statusText: 'Unauthorized' });
    await retry;
    any.controller.expectOne('https://api.example.com/a').flush({ ok: true });
    expect(await second.response).toEqual({ ok: true });
  });

  it('does not retry a 401 from a URL it attached no token to', async () => {
    const setup = await setUp();
    const call = send(setup, 'https://other.example.com/a');
    await call.arrived;
    setup.controller.expectOne('https://other.example.com/a').flush({}, { status: 401, statusText: 'Unauthorized', headers: INVALID_TOKEN });
    await expectAsync(call.response).toBeRejected();
    setup.controller.verify();
  });
});

describe('AuthInterceptor (class, withInterceptorsFromDi)', () => {
  it('behaves like the functional interceptor', async () => {
    const setup = await setUp({}, 'class');
    expect(await authorizationSentTo(setup, 'https://api.example.com/v1')).toBe('Bearer at-1');
    expect(await authorizationSentTo(setup, 'https://api.example.com.evil.net/v1')).toBeNull();
  });
});
