import { HttpClient, HttpErrorResponse, HttpRequest } from '@angular/common/http';
import { HttpTestingController, TestRequest } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { HttpEvent } from '@angular/common/http';
import { Observable, Subject, firstValueFrom, take, throwError, toArray } from 'rxjs';
import { APP, AuthHarness } from '../../testing/harness';
import { DPoPKeyStore } from '../../../dpop/src/dpop-key-store';
import { DPOP_PROOFS, DPoPProofs } from '../dpop/dpop-proofs';
import { withDPoP } from '../../../dpop/src/with-dpop';
import { authFeature } from '../provide-auth';
import { SessionStore } from '../state/session-store';
import { AuthError } from '../core/errors';
import { AuthBrowser } from '../platform/browser';

const NAMESPACE = 'ngx-oidc-session:spa@https://op.example.com/';

/** RFC 7638 thumbprint of the proof's EC public key, computed here independently of the library. */
async function thumbprintOf(proof: string): Promise<string> {
  const header = JSON.parse(atob(proof.split('.')[0].replace(/-/g, '+').replace(/_/g, '/'))) as { jwk: Record<string, string> };
  const { crv, kty, x, y } = header.jwk;
  return sha256(JSON.stringify({ crv, kty, x, y }));
}

/** The key store's own proof method, taken before any spy replaces it. */
const makeProof = DPoPKeyStore.prototype.proof;
const SECURE_APIS = ['https://api.example.com', '/internal'];
const API_URL = 'https://api.example.com/v1/orders';
const UNAUTHORIZED = { status: 401, statusText: 'Unauthorized' };
const NONCE_CHALLENGE = (nonce: string) => ({ 'WWW-Authenticate': 'DPoP algs="ES256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"', 'DPoP-Nonce': nonce });
// A quoted description with a comma, and a second challenge in the same header: read token by token.
const DPOP_INVALID_TOKEN = { 'WWW-Authenticate': 'DPoP algs="ES256", error="invalid_token", error_description="expired, or revoked", Bearer realm="api"' };

/**
 * Stands in for withDPoP() where the spec is about the interceptor's choice of scheme, not the
 * proofs: it counts every proof or send asked of it.
 */
class FakeProofs implements DPoPProofs {
  readonly asked: string[] = [];

  proof(method: string, url: string): Promise<string> {
    this.asked.push(`proof ${method} ${url}`);
    return Promise.resolve('fake-proof');
  }

  send(request: HttpRequest<unknown>): Observable<HttpEvent<unknown>> {
    this.asked.push(`send ${request.method} ${request.url}`);
    return throwError(() => new Error('not expected'));
  }

  rememberNonce(url: string): void {
    this.asked.push(`nonce ${url}`);
  }
}

interface DPoPSetup {
  harness: AuthHarness;
  http: HttpClient;
  controller: HttpTestingController;
  /** Every proof withDPoP() made (its key store's own method, called through). */
  proofs: jasmine.Spy<DPoPKeyStore['proof']>;
}

/**
 * A page signed in with the real withDPoP(): its key in the test browser's IndexedDB, the fake OP
 * issuing DPoP tokens (token_type DPoP) at-1, at-2, ..., each proof made by oauth4webapi.
 */
async function dpopSetUp(): Promise<DPoPSetup> {
  await clearKeys();
  const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
  harness.interceptor = 'functional';
  harness.features = [withDPoP()];
  const issue = harness.op.handlers['/token'];
  harness.op.handlers['/token'] = async (request) => {
    const reply = await issue(request);
    return reply.status === 200 ? { ...reply, body: { ...(reply.body as object), token_type: 'DPoP' } } : reply;
  };
  const proofs = spyOn(DPoPKeyStore.prototype, 'proof').and.callThrough();
  await harness.signIn();
  expect(harness.auth.state().tokenType).toBe('DPoP');
  return { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController), proofs };
}

/**
 * A signed-in page with a bearer session and, for `proofs: 'fake'`, a DPoPProofs that must not
 * be asked for anything (the real withDPoP() refuses bearer tokens, so a bearer session beside
 * proofs exists only this way).
 */
async function bearerSetUp(): Promise<{ harness: AuthHarness; http: HttpClient; controller: HttpTestingController; fake: FakeProofs }> {
  const fake = new FakeProofs();
  const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
  harness.interceptor = 'functional';
  harness.features = [authFeature('dpop', [{ provide: DPOP_PROOFS, useValue: fake }])];
  await harness.signIn();
  expect(harness.auth.state().tokenType).toBe('Bearer');
  return { harness, http: TestBed.inject(HttpClient), controller: TestBed.inject(HttpTestingController), fake };
}

/** Deletes every DPoP key of the test browser, so that each spec starts with none. */
async function clearKeys(): Promise<void> {
  const opening = indexedDB.open('ngx-oidc-session-dpop', 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore('keys', { keyPath: ['namespace', 'jkt'] });
  const database = await new Promise<IDBDatabase>((resolve, reject) => {
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  const transaction = database.transaction('keys', 'readwrite');
  transaction.objectStore('keys').clear();
  await new Promise((resolve) => (transaction.oncomplete = resolve));
  database.close();
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The claims of a DPoP proof that say what it is for: method, URL (without query), token hash, nonce. */
function claimsOf(proof: string | null | undefined): { htm: unknown; htu: unknown; ath: unknown; nonce: unknown } {
  expect(proof).withContext('a DPoP proof').toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  const payload = JSON.parse(atob(proof!.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  return { htm: payload['htm'], htu: payload['htu'], ath: payload['ath'], nonce: payload['nonce'] };
}

/** What a proof made for this method, URL and access token (and nonce) must claim. */
async function proofFor(method: string, url: string, accessToken: string, nonce?: string) {
  return { htm: method, htu: url.replace(/[?#].*$/, ''), ath: await sha256(accessToken), nonce };
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
/** The Authorization header of a request and what its proof claims. */
const sentWith = (request: TestRequest) => ({ authorization: request.request.headers.get('Authorization'), proof: claimsOf(request.request.headers.get('DPoP')) });
/** The Authorization header and proof claims expected for this method, URL, token and nonce. */
const expectedFor = async (method: string, url: string, accessToken: string, nonce?: string) => ({ authorization: `DPoP ${accessToken}`, proof: await proofFor(method, url, accessToken, nonce) });

describe('authInterceptor with DPoP-bound tokens', () => {
  it('sends the token as DPoP with a proof made for the method and the absolute URL it checked', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, '/internal/report?page=2');
    const request = await pending(setup, `${APP}/internal/report?page=2`);
    expect(sentWith(request)).toEqual(await expectedFor('GET', `${APP}/internal/report?page=2`, 'at-1'));
    request.flush({ ok: true });
    expect(await response).toEqual({ ok: true });
    expect(setup.proofs).toHaveBeenCalledTimes(1);
  });

  it('sends to and signs for the absolute URL it checked, even if the page base moves before the send (review F10)', async () => {
    const setup = await dpopSetUp();
    const browser = TestBed.inject(AuthBrowser);
    const base = browser.baseUrl;
    let moved = false;
    spyOnProperty(browser, 'baseUrl').and.callFake(() => (moved ? 'https://elsewhere.example.com/' : base));
    const read = setup.harness.auth.ɵfreshTokens.bind(setup.harness.auth);
    spyOn(setup.harness.auth, 'ɵfreshTokens').and.callFake(() => {
      moved = true; // after the allow-list check, before the proof and the send
      return read();
    });
    const response = get(setup, '/internal/report');
    const request = await pending(setup, `${APP}/internal/report`);
    expect(sentWith(request)).toEqual(await expectedFor('GET', `${APP}/internal/report`, 'at-1'));
    request.flush({});
    await response;
  });

  it('makes a new proof for every request', async () => {
    const setup = await dpopSetUp();
    const proofs = new Set<string>();
    for (const round of [1, 2]) {
      const response = get(setup, API_URL);
      const request = await pending(setup, API_URL);
      proofs.add(headersOf(request).dpop!);
      request.flush({});
      await response;
      expect(setup.proofs).toHaveBeenCalledTimes(round);
    }
    expect(proofs.size).toBe(2);
  });

  it('remembers the DPoP-Nonce of a success and of an error for the origin, and the next proofs carry it', async () => {
    const setup = await dpopSetUp();
    const first = get(setup, API_URL);
    (await pending(setup, API_URL)).flush({}, { headers: { 'DPoP-Nonce': 'n-ok' } });
    await first;
    const second = get(setup, 'https://api.example.com/v1/other');
    const secondRequest = await pending(setup, 'https://api.example.com/v1/other');
    expect(sentWith(secondRequest)).toEqual(await expectedFor('GET', 'https://api.example.com/v1/other', 'at-1', 'n-ok'));
    secondRequest.flush({}, { status: 500, statusText: 'Server Error', headers: { 'DPoP-Nonce': 'n-error' } });
    await expectAsync(second).toBeRejected();
    const third = get(setup, API_URL);
    const thirdRequest = await pending(setup, API_URL);
    expect(sentWith(thirdRequest)).toEqual(await expectedFor('GET', API_URL, 'at-1', 'n-error'));
    thirdRequest.flush({});
    await third;
    // Another origin gets none of them.
    const elsewhere = get(setup, `${APP}/internal/x`);
    const elsewhereRequest = await pending(setup, `${APP}/internal/x`);
    expect(sentWith(elsewhereRequest).proof.nonce).toBeUndefined();
    elsewhereRequest.flush({});
    await elsewhere;
    setup.controller.verify();
  });

  it('retries a use_dpop_nonce challenge once, with a new proof carrying the nonce and the same token', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    const sent = arrivals(setup.harness.apiRequests, 2);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    await sent;
    const retry = setup.controller.expectOne(API_URL);
    expect(sentWith(retry)).toEqual(await expectedFor('GET', API_URL, 'at-1', 'n-1'));
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
    expect(setup.harness.refreshGrants().length).toBe(0);
    // The nonce of the refused retry is kept for the next request all the same.
    const next = get(setup, API_URL);
    const nextRequest = await pending(setup, API_URL);
    expect(sentWith(nextRequest).proof.nonce).toBe('n-2');
    nextRequest.flush({});
    await next;
  });

  it('does not retry a use_dpop_nonce challenge that brings no nonce', async () => {
    const setup = await dpopSetUp();
    const response = get(setup, API_URL);
    (await pending(setup, API_URL)).flush({}, { ...UNAUTHORIZED, headers: { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"' } });
    await expectAsync(response).toBeRejected();
    setup.controller.verify();
    expect(setup.harness.refreshGrants().length).toBe(0);
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
    expect(sentWith(third)).toEqual(await expectedFor('GET', API_URL, 'at-2', 'n-1'));
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
    expect(sentWith(second)).toEqual(await expectedFor('GET', API_URL, 'at-2'));
    second.flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    const third = await pending(setup, API_URL);
    expect(sentWith(third)).toEqual(await expectedFor('GET', API_URL, 'at-2', 'n-1'));
    // invalid_token again: the renewal retry is spent, so it goes to the caller.
    third.flush({}, { ...UNAUTHORIZED, headers: DPOP_INVALID_TOKEN });
    await expectAsync(response).toBeRejectedWith(jasmine.objectContaining({ status: 401 }));
    setup.controller.verify();
    expect(setup.harness.refreshGrants().length).toBe(1);
  });

  it('does not hold a request while the proof of another one is still being made', async () => {
    const setup = await dpopSetUp();
    const slowUrl = 'https://api.example.com/v1/slow';
    // A signature that takes forever, for the slow URL only.
    let slowProofAsked!: () => void;
    const slowProofPending = new Promise<void>((resolve) => (slowProofAsked = resolve));
    setup.proofs.and.callFake(function (this: DPoPKeyStore, jkt, method, url, accessToken) {
      if (url !== slowUrl) return makeProof.call(this, jkt, method, url, accessToken);
      slowProofAsked();
      return new Promise<string>(() => undefined);
    });
    const slow = firstValueFrom(setup.http.get(slowUrl)).then(() => 'answered');
    await slowProofPending;
    const fast = get(setup, API_URL);
    const request = await pending(setup, API_URL);
    expect(sentWith(request)).toEqual(await expectedFor('GET', API_URL, 'at-1'));
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
    expect(setup.proofs).not.toHaveBeenCalled();
  });

  it('fails a request with a typed error, unsent, when a DPoP-bound session has no proofs: never a bearer fallback', async () => {
    // A signed-in page without withDPoP() whose stored token set becomes DPoP-bound (only a
    // misconfigured injector can get there: the core admits no such session at start-up).
    const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
    harness.interceptor = 'functional';
    await harness.signIn();
    const store = TestBed.inject(SessionStore);
    store.set({ ...store.session()!, tokenType: 'dpop', dpopJkt: 'a-key-elsewhere' }, 'renewed');
    const http = TestBed.inject(HttpClient);
    await expectAsync(firstValueFrom(http.get(API_URL))).toBeRejectedWith(jasmine.objectContaining({ name: 'AuthError', code: 'config_invalid' }));
    TestBed.inject(HttpTestingController).expectNone(API_URL);
  });
});

describe('authInterceptor with DPoPProofs and a bearer session', () => {
  it('sends Bearer as before: no proof, no DPoP header, no nonce retry', async () => {
    const setup = await bearerSetUp();
    const response = firstValueFrom(setup.http.get(API_URL));
    await firstValueFrom(setup.harness.apiRequests);
    const request = setup.controller.expectOne(API_URL);
    expect(headersOf(request)).toEqual({ authorization: 'Bearer at-1', dpop: null });
    request.flush({}, { ...UNAUTHORIZED, headers: NONCE_CHALLENGE('n-1') });
    await expectAsync(response).toBeRejected();
    setup.controller.verify();
    expect(setup.fake.asked).toEqual([]);
  });

  it('renews and retries a Bearer invalid_token as before', async () => {
    const setup = await bearerSetUp();
    const response = firstValueFrom(setup.http.get(API_URL));
    await firstValueFrom(setup.harness.apiRequests);
    setup.controller.expectOne(API_URL).flush({}, { ...UNAUTHORIZED, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    await firstValueFrom(setup.harness.apiRequests);
    const retry = setup.controller.expectOne(API_URL);
    expect(headersOf(retry)).toEqual({ authorization: 'Bearer at-2', dpop: null });
    retry.flush({ ok: true });
    expect(await response).toEqual({ ok: true });
    expect(setup.fake.asked).toEqual([]);
  });

  it('gives a bearer token alone to a bearer session (authorizationHeaders())', async () => {
    const setup = await bearerSetUp();
    expect(await setup.harness.auth.authorizationHeaders('GET', API_URL)).toEqual({ Authorization: 'Bearer at-1' });
    expect(setup.fake.asked).toEqual([]);
  });
});

describe('AuthService.authorizationHeaders() and rememberDPoPNonce()', () => {
  it('gives a DPoP-bound token with a proof for the method and absolute URL', async () => {
    const setup = await dpopSetUp();
    const headers = await setup.harness.auth.authorizationHeaders('post', '/internal/upload');
    expect({ authorization: headers.Authorization, proof: claimsOf(headers.DPoP) }).toEqual(await expectedFor('POST', `${APP}/internal/upload`, 'at-1'));
  });

  it('names the method as fetch() sends it, and refuses one whose proof could not match or that fetch() forbids (review F7)', async () => {
    const setup = await dpopSetUp();
    const auth = setup.harness.auth;
    expect(claimsOf((await auth.authorizationHeaders('delete', API_URL)).DPoP).htm).toBe('DELETE');
    expect(claimsOf((await auth.authorizationHeaders('PATCH', API_URL)).DPoP).htm).toBe('PATCH');
    setup.proofs.calls.reset();
    // fetch() sends `patch` as given, the real key store signs htm PATCH: they would not match.
    for (const method of ['patch', 'CONNECT', 'trace', 'TRACK', 'no method']) {
      await expectAsync(auth.authorizationHeaders(method, API_URL)).withContext(method).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
    }
    expect(setup.proofs).not.toHaveBeenCalled();
  });

  it('without withDPoP(), takes the method fetch() sends as given (patch), but refuses CONNECT', async () => {
    const harness = await AuthHarness.create({ secureApis: SECURE_APIS });
    await harness.signIn();
    expect(await harness.auth.authorizationHeaders('patch', API_URL)).toEqual({ Authorization: 'Bearer at-1' });
    await expectAsync(harness.auth.authorizationHeaders('CONNECT', API_URL)).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
  });

  it('signs with the key of the token it presents, not the key of a sign-in the tab took in meanwhile (review F6)', async () => {
    const setup = await dpopSetUp();
    const store = TestBed.inject(SessionStore);
    const sessionKey = store.session()!.dpopJkt!;
    // Another key of the instance (another sign-in's), in the same IndexedDB.
    const other = await new DPoPKeyStore({ indexedDB, namespace: NAMESPACE, clientId: 'spa', nonceFor: () => undefined, now: () => Date.now(), error: (code, message) => new AuthError(code, message) }).create();
    // The token read (key A), then the tab adopts a sign-in bound to key B before the proof.
    spyOn(setup.harness.auth, 'ɵfreshTokens').and.callFake(async () => {
      const token = { accessToken: 'at-1', tokenType: 'DPoP', dpopJkt: sessionKey };
      store.set({ ...store.session()!, accessToken: 'at-b', dpopJkt: other }, 'renewed');
      return token;
    });
    const headers = await setup.harness.auth.authorizationHeaders('GET', API_URL);
    expect(await thumbprintOf(headers.DPoP!)).toBe(sessionKey);
    const response = get(setup, API_URL);
    const request = await pending(setup, API_URL);
    expect(request.request.headers.get('Authorization')).toBe('DPoP at-1');
    expect(await thumbprintOf(request.request.headers.get('DPoP')!)).toBe(sessionKey);
    request.flush({});
    await response;
  });

  it('presents only the access token, its type and key to the interceptor: never the refresh or ID token (review F10)', async () => {
    const setup = await dpopSetUp();
    const token = (await setup.harness.auth.ɵfreshTokens()) as object;
    expect(Object.keys(token).sort()).toEqual(['accessToken', 'dpopJkt', 'tokenType']);
  });

  it('refuses a URL outside secureApis, or of the OP, with url_not_allowed and no proof', async () => {
    const setup = await dpopSetUp();
    for (const url of ['https://api.example.com.evil.net/v1', 'https://other.example.com/internal', `${setup.harness.op.issuer}/token`]) {
      await expectAsync(setup.harness.auth.authorizationHeaders('GET', url)).toBeRejectedWith(jasmine.objectContaining({ code: 'url_not_allowed' }));
    }
    expect(setup.proofs).not.toHaveBeenCalled();
  });

  it('remembers a nonce for the next proofs of the origin, for secure URLs only', async () => {
    const setup = await dpopSetUp();
    setup.harness.auth.rememberDPoPNonce(`${API_URL}?x=1`, 'n-fetch');
    expect(claimsOf((await setup.harness.auth.authorizationHeaders('GET', API_URL)).DPoP).nonce).toBe('n-fetch');
    expect(() => setup.harness.auth.rememberDPoPNonce('https://other.example.com/x', 'n-evil')).toThrow(jasmine.objectContaining({ code: 'url_not_allowed' }));
  });
});
