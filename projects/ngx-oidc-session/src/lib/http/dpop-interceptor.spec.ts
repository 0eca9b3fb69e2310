import { HttpClient, HttpErrorResponse, HttpRequest } from '@angular/common/http';
import { HttpTestingController, TestRequest } from '@angular/common/http/testing';
import { Provider } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Subject, firstValueFrom, take, toArray } from 'rxjs';
import { APP, AuthHarness } from '../../testing/harness';
import { Session } from '../core/session';
import { DPOP_PROOFS, DPoPProofs } from '../dpop/dpop-proofs';
import { authFeature } from '../provide-auth';
import { SessionStore } from '../state/session-store';

const SECURE_APIS = ['https://api.example.com', '/internal'];
const API_URL = 'https://api.example.com/v1/orders';
const UNAUTHORIZED = { status: 401, statusText: 'Unauthorized' };
const NONCE_CHALLENGE = (nonce: string) => ({ 'WWW-Authenticate': 'DPoP algs="ES256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"', 'DPoP-Nonce': nonce });
// A quoted description with a comma, and a second challenge in the same header: read token by token.
const DPOP_INVALID_TOKEN = { 'WWW-Authenticate': 'DPoP algs="ES256", error="invalid_token", error_description="expired, or revoked", Bearer realm="api"' };

/**
 * Stands in for withDPoP()'s proofs (built on the other side of the DPoPProofs contract): each
 * proof names its method, URL, token and the nonce remembered for the URL's origin, so that a
 * spec reads what the interceptor asked for from the header it sent.
 */
class FakeProofs implements DPoPProofs {
  readonly nonces = new Map<string, string>();
  readonly made: { method: string; url: string; accessToken: string; nonce: string | undefined }[] = [];
  /** Proofs for URLs this returns true for never resolve (a signature that takes forever). */
  holds: (url: string) => boolean = () => false;

  proof(method: string, url: string, accessToken: string): Promise<string> {
    const nonce = this.nonces.get(new URL(url).origin);
    this.made.push({ method, url, accessToken, nonce });
    if (this.holds(url)) return new Promise<string>(() => undefined);
    return Promise.resolve(`proof(${method} ${url} ${accessToken}${nonce ? ` nonce=${nonce}` : ''})`);
  }

  rememberNonce(url: string, nonce: string): void {
    this.nonces.set(new URL(url).origin, nonce);
  }
}

interface DPoPSetup {
  harness: AuthHarness;
  http: HttpClient;
  controller: HttpTestingController;
  proofs: FakeProofs;
}

/**
 * A signed-in page whose tokens are DPoP-bound. Until withDPoP()'s token requests exist on this
 * branch, the fake OP issues bearer tokens: the stored session is marked DPoP-bound (with a key
 * thumbprint) and reloaded, and every token set stored later (renewals) is marked so too.
 */
async function dpopSetUp(options: { tokenType?: 'DPoP' | 'Bearer'; proofs?: 'provided' | 'missing' } = {}): Promise<DPoPSetup> {
  const proofs = new FakeProofs();
  const tokenType = options.tokenType ?? 'DPoP';
  const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
  harness.interceptor = 'functional';
  const provided: Provider[] = options.proofs === 'missing' ? [] : [{ provide: DPOP_PROOFS, useValue: proofs }];
  harness.features = [authFeature('dpop', provided)];
  await harness.signIn();
  const key = `ngx-oidc-session:${harness.op.clientId}@${harness.op.issuer}/:session`;
  const stored = JSON.parse(harness.storage.getItem(key)!) as { session: Session };
  harness.storage.setItem(key, JSON.stringify({ ...stored, session: { ...stored.session, tokenType, dpopJkt: 'fake-jkt' } }));
  await harness.load();
  const store = TestBed.inject(SessionStore);
  const set = store.set.bind(store);
  spyOn(store, 'set').and.callFake((session, cause) => set({ ...session, tokenType }, cause));
  expect(harness.auth.state().tokenType).toBe(tokenType);
  return { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController), proofs };
}

/** Sends a GET; `arrivals` gives the first `count` requests that reach the backend. */
function get(setup: DPoPSetup, url: string) {
  const response = firstValueFrom(setup.http.get(url));
  response.catch(() => undefined); // asserted where it matters
  return response;
}

function arrivals(apiRequests: Subject<HttpRequest<unknown>>, count: number): Promise<HttpRequest<unknown>[]> {
  return firstValueFrom(apiRequests.pipe(take(count), toArray()));
}

/** The one pending request to the URL, once it has reached the backend. */
async function pending(setup: DPoPSetup, url: string): Promise<TestRequest> {
  await firstValueFrom(setup.harness.apiRequests);
  return setup.controller.expectOne(url);
}

const headersOf = (request: TestRequest) => ({ authorization: request.request.headers.get('Authorization'), dpop: request.request.headers.get('DPoP') });

describe('authInterceptor with DPoP-bound tokens', () => {
  it('sends the token as DPoP with a proof made for the method and the absolute URL it checked', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, '/internal/report?page=2');
    const request = await pending(setup, '/internal/report?page=2');
    expect(headersOf(request)).toEqual({ authorization: 'DPoP at-1', dpop: `proof(GET ${APP}/internal/report?page=2 at-1)` });
    request.flush({ ok: true });
    expect(await response).toEqual({ ok: true });
    expect(setup.proofs.made.length).toBe(1);
  });

  it('makes a new proof for every request', async () => {
    const setup = await dpopSetUp();
    for (const round of [1, 2]) {
      const response = get(setup, API_URL);
      (await pending(setup, API_URL)).flush({});
      await response;
      expect(setup.proofs.made.length).toBe(round);
    }
  });

  it('remembers the DPoP-Nonce of a success and of an error for the origin, and the next proofs carry it', async () => {
    const setup = await dpopSetUp();
    const first = get(setup, API_URL);
    (await pending(setup, API_URL)).flush({}, { headers: { 'DPoP-Nonce': 'n-ok' } });
    await first;
    const second = get(setup, 'https://api.example.com/v1/other');
    const secondRequest = await pending(setup, 'https://api.example.com/v1/other');
    expect(headersOf(secondRequest).dpop).toBe('proof(GET https://api.example.com/v1/other at-1 nonce=n-ok)');
    secondRequest.flush({}, { status: 500, statusText: 'Server Error', headers: { 'DPoP-Nonce': 'n-error' } });
    await expectAsync(second).toBeRejected();
    const third = get(setup, API_URL);
    const thirdRequest = await pending(setup, API_URL);
    expect(headersOf(thirdRequest).dpop).toBe(`proof(GET ${API_URL} at-1 nonce=n-error)`);
    thirdRequest.flush({});
    await third;
    setup.controller.verify();
  });

  it('retries a use_dpop_nonce challenge once, with a new proof carrying the nonce and the same token', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    const sent = arrivals(setup.harness.apiRequests, 2);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    await sent;
    const retry = setup.controller.expectOne(API_URL);
    expect(headersOf(retry)).toEqual({ authorization: 'DPoP at-1', dpop: `proof(GET ${API_URL} at-1 nonce=n-1)` });
    retry.flush({ ok: true });
    expect(await response).toEqual({ ok: true });
    setup.controller.verify();
    expect(setup.harness.refreshGrants().length).toBe(0);
  });

  it('returns a second use_dpop_nonce challenge to the caller: one nonce retry, no loop', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    const sent = arrivals(setup.harness.apiRequests, 2);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    await sent;
    setup.controller.expectOne(API_URL).flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-2') });
    const error = await response.then(() => null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpErrorResponse);
    expect((error as HttpErrorResponse).status).toBe(401);
    setup.controller.verify();
    // The nonce of the refused retry is kept for the next request all the same.
    expect(setup.proofs.nonces.get('https://api.example.com')).toBe('n-2');
    expect(setup.harness.refreshGrants().length).toBe(0);
  });

  it('does not retry a use_dpop_nonce challenge that brings no nonce', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"' } });
    await expectAsync(response).toBeRejected();
    setup.controller.verify();
  });

  it('after a nonce retry, renews once on invalid_token and sends a third time; a fourth answer is not awaited', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    const sent = arrivals(setup.harness.apiRequests, 3);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    await firstValueFrom(setup.harness.apiRequests);
    setup.controller.expectOne(API_URL).flush({}, { ...UNAUTHORIZED, headers: DPOP_INVALID_TOKEN });
    await sent;
    const third = setup.controller.expectOne(API_URL);
    expect(headersOf(third)).toEqual({ authorization: 'DPoP at-2', dpop: `proof(GET ${API_URL} at-2 nonce=n-1)` });
    // A nonce challenge now: the nonce retry is spent, so it goes to the caller.
    third.flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-2') });
    await expectAsync(response).toBeRejectedWith(jasmine.objectContaining({ status: 401 }));
    setup.controller.verify();
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('after an invalid_token renewal, retries a nonce challenge once: at most three sends', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: DPOP_INVALID_TOKEN });
    const second = await pending(setup, API_URL);
    expect(headersOf(second)).toEqual({ authorization: 'DPoP at-2', dpop: `proof(GET ${API_URL} at-2)` });
    second.flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    const third = await pending(setup, API_URL);
    expect(headersOf(third)).toEqual({ authorization: 'DPoP at-2', dpop: `proof(GET ${API_URL} at-2 nonce=n-1)` });
    // invalid_token again: the renewal retry is spent, so it goes to the caller.
    third.flush({}, { ...UNAUTHORIZED, headers: DPOP_INVALID_TOKEN });
    await expectAsync(response).toBeRejectedWith(jasmine.objectContaining({ status: 401 }));
    setup.controller.verify();
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('does not hold a request while the proof of another one is still being made', async () => {
    const setup = await dpopSetUp();
    const slowUrl = 'https://api.example.com/v1/slow';
    setup.proofs.holds = (url) => url === slowUrl;
    const slow = firstValueFrom(setup.http.get(slowUrl)).then(() => 'answered');
    const fast = get(setup, API_URL);
    const request = await pending(setup, API_URL);
    expect(headersOf(request).dpop).toBe(`proof(GET ${API_URL} at-1)`);
    request.flush({ ok: true });
    expect(await fast).toEqual({ ok: true });
    expect(await Promise.race([slow, Promise.resolve('still waiting for its proof')])).toBe('still waiting for its proof');
    setup.controller.expectNone(slowUrl);
  });

  it('sends neither token nor proof to a URL outside secureApis, and makes no proof for it', async () => {
    const setup = await dpopSetUp();
    for (const url of ['https://api.example.com.evil.net/v1', `${setup.harness.op.issuer}/userinfo`, 'https://other.example.com/internal']) {
      const toOp = url.startsWith(setup.harness.op.issuer);
      const arrived = toOp ? Promise.resolve(null) : firstValueFrom(setup.harness.apiRequests);
      const response = get(setup, url);
      await arrived;
      const request = toOp ? null : setup.controller.expectOne(url);
      if (request) {
        expect(headersOf(request)).toEqual({ authorization: null, dpop: null });
        request.flush({});
      }
      await response.catch(() => undefined);
    }
    expect(setup.proofs.made).toEqual([]);
  });

  it('fails a request with a typed error, unsent, when a DPoP-bound session has no proofs: never a bearer fallback', async () => {
    const setup = await dpopSetUp({ proofs: 'missing' });
    await expectAsync(get(setup, API_URL)).toBeRejectedWith(jasmine.objectContaining({ name: 'AuthError', code: 'config_invalid' }));
    setup.controller.expectNone(API_URL);
  });
});

describe('authInterceptor with withDPoP() and a bearer session', () => {
  it('sends Bearer as before: no proof, no DPoP header, no nonce retry', async () => {
    const setup = await dpopSetUp({ tokenType: 'Bearer' });
    const response = get(setup, API_URL);
    const request = await pending(setup, API_URL);
    expect(headersOf(request)).toEqual({ authorization: 'Bearer at-1', dpop: null });
    request.flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    await expectAsync(response).toBeRejected();
    setup.controller.verify();
    expect(setup.proofs.made).toEqual([]);
  });

  it('renews and retries a Bearer invalid_token as before', async () => {
    const setup = await dpopSetUp({ tokenType: 'Bearer' });
    const response = get(setup, API_URL);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    const retry = await pending(setup, API_URL);
    expect(headersOf(retry)).toEqual({ authorization: 'Bearer at-2', dpop: null });
    retry.flush({ ok: true });
    expect(await response).toEqual({ ok: true });
  });
});

describe('AuthService.authorizationHeaders() and rememberDPoPNonce()', () => {
  it('gives a DPoP-bound token with a proof for the method and absolute URL', async () => {
    const setup = await dpopSetUp();
    expect(await setup.harness.auth.authorizationHeaders('post', '/internal/upload')).toEqual({
      Authorization: 'DPoP at-1',
      DPoP: `proof(POST ${APP}/internal/upload at-1)`,
    });
  });

  it('names the method as fetch() sends it: the standard ones upper-cased, others as given', async () => {
    const setup = await dpopSetUp();
    expect((await setup.harness.auth.authorizationHeaders('delete', API_URL)).DPoP).toBe(`proof(DELETE ${API_URL} at-1)`);
    expect((await setup.harness.auth.authorizationHeaders('patch', API_URL)).DPoP).toBe(`proof(patch ${API_URL} at-1)`);
  });

  it('gives a bearer token alone to a bearer session', async () => {
    const setup = await dpopSetUp({ tokenType: 'Bearer' });
    expect(await setup.harness.auth.authorizationHeaders('GET', API_URL)).toEqual({ Authorization: 'Bearer at-1' });
    expect(setup.proofs.made).toEqual([]);
  });

  it('refuses a URL outside secureApis, or of the OP, with url_not_allowed and no proof', async () => {
    const setup = await dpopSetUp();
    for (const url of ['https://api.example.com.evil.net/v1', 'https://other.example.com/internal', `${setup.harness.op.issuer}/token`]) {
      await expectAsync(setup.harness.auth.authorizationHeaders('GET', url)).toBeRejectedWith(jasmine.objectContaining({ code: 'url_not_allowed' }));
    }
    expect(setup.proofs.made).toEqual([]);
  });

  it('remembers a nonce for the next proofs of the origin, for secure URLs only', async () => {
    const setup = await dpopSetUp();
    setup.harness.auth.rememberDPoPNonce(`${API_URL}?x=1`, 'n-fetch');
    expect((await setup.harness.auth.authorizationHeaders('GET', API_URL)).DPoP).toBe(`proof(GET ${API_URL} at-1 nonce=n-fetch)`);
    expect(() => setup.harness.auth.rememberDPoPNonce('https://other.example.com/x', 'n-evil')).toThrow(jasmine.objectContaining({ code: 'url_not_allowed' }));
    expect(setup.proofs.nonces.has('https://other.example.com')).toBeFalse();
  });
});
