import { HttpRequest } from '@angular/common/http';
import { TestBed } from '@angular/core/testing';
import { AuthHarness } from '../../testing/harness';
import { FakeReply } from '../../testing/fake-op';
import { nextIframe, post, removeSilentIframes } from '../../testing/silent-iframe';
import { SILENT_RENEW_MESSAGE } from '../protocol/iframe-renew';
import { AuthService } from '../auth.service';
import { AuthError } from '../core/errors';
import { DPoPKeyStore } from '../../../dpop/src/dpop-key-store';
import { DPOP_PROOFS } from './dpop-proofs';
import { withDPoP } from '../../../dpop/src/with-dpop';
import { SessionStore } from '../state/session-store';

const DATABASE = 'ngx-oidc-session-dpop';
const STORE = 'keys';

interface StoredKey {
  readonly namespace: string;
  readonly jkt: string;
  readonly keyPair: CryptoKeyPair;
  readonly createdAt: number;
}

function idb<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The real IndexedDB of the test browser, as another tab would see it. */
async function withStore<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const opening = indexedDB.open(DATABASE, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: ['namespace', 'jkt'] });
  const database = await idb(opening);
  try {
    const transaction = database.transaction(STORE, mode);
    const result = await idb(run(transaction.objectStore(STORE)));
    await new Promise((resolve) => (transaction.oncomplete = resolve));
    return result;
  } finally {
    database.close();
  }
}

const storedKeys = async (namespace = NAMESPACE) => ((await withStore('readonly', (store) => store.getAll())) as StoredKey[]).filter((key) => key.namespace === namespace);

/**
 * Waits until the keys of `namespace` are as `expected` says, for a deletion the library starts
 * without awaiting it (a session that ended). Each look is an IndexedDB read, which the browser
 * orders after a deletion already under way: no timer.
 */
async function keysSettle(expected: (keys: StoredKey[]) => boolean): Promise<StoredKey[]> {
  let keys = await storedKeys();
  for (let look = 0; look < 50 && !expected(keys); look++) keys = await storedKeys();
  return keys;
}

const NAMESPACE = 'ngx-oidc-session:spa@https://op.example.com/';

/** Resolves once withDPoP()'s sweep after start-up is done. */
const swept = () => (TestBed.inject(DPOP_PROOFS) as unknown as { swept: Promise<void> }).swept;

/** A key of the instance made at `createdAt` (another tab's, or an abandoned sign-in's), in the real IndexedDB. */
const keyMadeAt = (createdAt: number) =>
  new DPoPKeyStore({ indexedDB, namespace: NAMESPACE, clientId: 'spa', nonceFor: () => undefined, now: () => createdAt, error: (code, message) => new AuthError(code, message) }).create();

function b64urlJson(part: string): Record<string, unknown> {
  return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
}

function decodeProof(proof: string | null): { header: Record<string, unknown>; payload: Record<string, unknown>; signed: string; signature: string } {
  expect(proof).withContext('a DPoP header').toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  const [header, payload, signature] = proof!.split('.');
  return { header: b64urlJson(header), payload: b64urlJson(payload), signed: `${header}.${payload}`, signature };
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Checks the proof's ES256 signature with the public key in its own header. */
async function signatureValid(proof: string): Promise<boolean> {
  const { header, signed, signature } = decodeProof(proof);
  const key = await crypto.subtle.importKey('jwk', header['jwk'] as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const bytes = Uint8Array.from(atob(signature.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0));
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes, new TextEncoder().encode(signed));
}

/** RFC 7638 thumbprint of the proof's EC public key, computed here independently of the library. */
function thumbprintOf(proof: string | null): Promise<string> {
  const { crv, kty, x, y } = decodeProof(proof).header['jwk'] as Record<string, string>;
  return sha256(JSON.stringify({ crv, kty, x, y }));
}
const dpopHeader = (request: HttpRequest<unknown>) => request.headers.get('dpop');
const form = (request: HttpRequest<unknown>) => new URLSearchParams(String(request.body));

/** A harness whose OP issues DPoP tokens (token_type DPoP), with withDPoP() on. */
async function dpopHarness(config: object = {}, { dpop = true, tokenType = 'DPoP' }: { dpop?: boolean; tokenType?: string } = {}): Promise<AuthHarness> {
  const harness = await AuthHarness.create(config);
  if (dpop) harness.features = [withDPoP()];
  const issue = harness.op.handlers['/token'];
  harness.op.handlers['/token'] = async (request) => {
    const reply = await issue(request);
    return reply.status === 200 ? { ...reply, body: { ...(reply.body as object), token_type: tokenType } } : reply;
  };
  return harness;
}

describe('withDPoP() (RFC 9449)', () => {
  beforeEach(async () => {
    await withStore('readwrite', (store) => store.clear());
  });

  describe('proofs made through oauth4webapi (protectedResourceRequest with a capturing fetch, modifyAssertion)', () => {
    const nonces = new Map<string, string>();
    const keyStore = () => new DPoPKeyStore({ indexedDB, namespace: NAMESPACE, clientId: 'spa', nonceFor: (origin) => nonces.get(origin), now: () => Date.now(), error: (code, message) => new AuthError(code, message) });

    it('signs htm, htu without query and fragment, ath, iat and a unique jti, with a non-extractable P-256 key; sends nothing', async () => {
      nonces.clear();
      const fetchSpy = spyOn(window, 'fetch').and.callThrough();
      const keys = keyStore();
      const jkt = await keys.create();
      const first = await keys.proof(jkt, 'post', 'https://api.example.com/orders/7?expand=items#top', 'at-secret');
      const second = await keys.proof(jkt, 'GET', 'https://api.example.com/orders', 'at-secret');
      expect(fetchSpy).not.toHaveBeenCalled();
      const { header, payload } = decodeProof(first);
      expect(header['typ']).toBe('dpop+jwt');
      expect(header['alg']).toBe('ES256');
      expect(Object.keys(header['jwk'] as object).sort()).toEqual(['crv', 'kty', 'x', 'y']);
      expect(await thumbprintOf(first)).toBe(jkt);
      expect(payload['htm']).toBe('POST');
      expect(payload['htu']).toBe('https://api.example.com/orders/7');
      expect(payload['ath']).toBe(await sha256('at-secret'));
      expect(Math.abs((payload['iat'] as number) - Date.now() / 1000)).toBeLessThan(5);
      expect(payload['jti']).toEqual(jasmine.any(String));
      expect(payload['jti']).not.toBe(decodeProof(second).payload['jti']);
      expect(payload['nonce']).toBeUndefined();
      expect(await signatureValid(first)).toBeTrue();

      const [stored] = await storedKeys();
      expect(stored.jkt).toBe(jkt);
      expect(stored.keyPair.privateKey.extractable).toBeFalse();
      expect((stored.keyPair.privateKey.algorithm as EcKeyAlgorithm).namedCurve).toBe('P-256');
      await expectAsync(crypto.subtle.exportKey('jwk', stored.keyPair.privateKey)).toBeRejected();
    });

    it("puts each resource server's nonce into the proofs for its origin only", async () => {
      nonces.clear();
      const keys = keyStore();
      const jkt = await keys.create();
      nonces.set('https://api.example.com', 'nonce-a');
      nonces.set('https://other.example.com:8443', 'nonce-b');
      expect(decodeProof(await keys.proof(jkt, 'GET', 'https://api.example.com/x', 'at')).payload['nonce']).toBe('nonce-a');
      expect(decodeProof(await keys.proof(jkt, 'GET', 'https://other.example.com:8443/y', 'at')).payload['nonce']).toBe('nonce-b');
      expect(decodeProof(await keys.proof(jkt, 'GET', 'https://third.example.com/z', 'at')).payload['nonce']).toBeUndefined();
      // Another page (a tab) of the same session finds the key in IndexedDB by its thumbprint.
      const otherTab = keyStore();
      expect(await thumbprintOf(await otherTab.proof(jkt, 'GET', 'https://api.example.com/x', 'at'))).toBe(jkt);
    });
  });

  describe('sign-in, tokens and keys', () => {
    it('makes a new key for each sign-in, sends its thumbprint as dpop_jkt and a proof with it to the token and userinfo endpoints', async () => {
      const harness = await dpopHarness({ loadUserInfo: true });
      await harness.load();
      const authorize = await harness.startLogin();
      const keys = await storedKeys();
      expect(keys.length).toBe(1);
      expect(keys[0].keyPair.privateKey.extractable).toBeFalse();
      expect(authorize.searchParams.get('dpop_jkt')).toBe(keys[0].jkt);
      await harness.load(harness.callbackUrl(authorize));
      expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'authenticated', tokenType: 'DPoP' }));

      const token = harness.op.requestsTo('/token')[0];
      expect(await thumbprintOf(dpopHeader(token))).toBe(keys[0].jkt);
      expect(decodeProof(dpopHeader(token)).payload).toEqual(jasmine.objectContaining({ htm: 'POST', htu: `${harness.op.issuer}/token` }));
      expect(await signatureValid(dpopHeader(token)!)).toBeTrue();
      const userinfo = harness.op.requestsTo('/userinfo')[0];
      expect(userinfo.headers.get('authorization')).toBe('DPoP at-1');
      expect(decodeProof(dpopHeader(userinfo)).payload).toEqual(jasmine.objectContaining({ htm: 'GET', htu: `${harness.op.issuer}/userinfo`, ath: await sha256('at-1') }));

      // A second sign-in: a new key, and the first one is deleted once it is committed.
      const again = await harness.startLogin();
      const jkt2 = again.searchParams.get('dpop_jkt')!;
      expect(jkt2).not.toBe(keys[0].jkt);
      expect((await storedKeys()).map((key) => key.jkt).sort()).toEqual([keys[0].jkt, jkt2].sort());
      await harness.load(harness.callbackUrl(again));
      expect(harness.auth.state().status).toBe('authenticated');
      expect((await storedKeys()).map((key) => key.jkt)).toEqual([jkt2]);
    });

    it("keeps a young key of another tab's sign-in in progress when a sign-in is committed, and deletes stale ones", async () => {
      const harness = await dpopHarness();
      const other = (at: number) => new DPoPKeyStore({ indexedDB, namespace: NAMESPACE, clientId: 'spa', nonceFor: () => undefined, now: () => at, error: (code, message) => new AuthError(code, message) }).create();
      const stale = await other(harness.clock.now() - 31 * 60_000);
      const young = await other(harness.clock.now() - 29 * 60_000);
      const foreign = await new DPoPKeyStore({ indexedDB, namespace: `${NAMESPACE}#partner`, clientId: 'spa', nonceFor: () => undefined, now: () => 0, error: (code, message) => new AuthError(code, message) }).create();
      await harness.signIn();
      const jkt = await thumbprintOf(dpopHeader(harness.op.requestsTo('/token')[0]));
      expect((await storedKeys()).map((key) => key.jkt).sort()).toEqual([jkt, young].sort());
      expect((await storedKeys()).some((key) => key.jkt === stale)).toBeFalse();
      expect((await storedKeys(`${NAMESPACE}#partner`)).map((key) => key.jkt)).toEqual([foreign]);
    });

    it('sends a proof with the session key on refresh grants', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      const [key] = await storedKeys();
      await harness.auth.renew();
      const refresh = harness.op.requestsTo('/token').find((request) => form(request).get('grant_type') === 'refresh_token')!;
      expect(await thumbprintOf(dpopHeader(refresh))).toBe(key.jkt);
      expect(harness.auth.state().tokenType).toBe('DPoP');
    });

    it('retries exactly once with the nonce when the token endpoint answers use_dpop_nonce', async () => {
      const harness = await dpopHarness();
      const issue = harness.op.handlers['/token'];
      let challenges = 0;
      const challenge: FakeReply = { status: 400, body: { error: 'use_dpop_nonce', error_description: 'nonce' }, headers: { 'content-type': 'application/json', 'dpop-nonce': 'op-nonce-1' } };
      harness.op.handlers['/token'] = (request) => (challenges++ < 1 ? challenge : issue(request));
      await harness.signIn();
      expect(harness.auth.state().status).toBe('authenticated');
      const [first, second] = harness.op.requestsTo('/token').map((request) => decodeProof(dpopHeader(request)).payload);
      expect(first['nonce']).toBeUndefined();
      expect(second['nonce']).toBe('op-nonce-1');
      expect(harness.op.requestsTo('/token').length).toBe(2);

      // An OP that asks again after the retry: no second retry, the sign-in fails.
      harness.op.handlers['/token'] = () => challenge;
      await harness.load();
      const authorize = await harness.startLogin();
      harness.op.requests.length = 0;
      await harness.load(harness.callbackUrl(authorize));
      expect(harness.op.requestsTo('/token').length).toBe(2);
      expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: jasmine.objectContaining({ code: 'token_error' }) }));
    });

    it("keeps the OP's nonce in proofs to the OP when an API on the OP's origin sent its own nonce (review F2)", async () => {
      // The OP proxied on the API's origin (the fake OP's issuer has no path, so the allow-list
      // would refuse the API: its nonce is handed to withDPoP() directly, as the interceptor does).
      const harness = await dpopHarness();
      const issue = harness.op.handlers['/token'];
      let challenged = false;
      harness.op.handlers['/token'] = (request) => {
        if (challenged) return issue(request);
        challenged = true;
        return { status: 400, body: { error: 'use_dpop_nonce', error_description: 'nonce' }, headers: { 'content-type': 'application/json', 'dpop-nonce': 'op-nonce' } };
      };
      await harness.signIn();
      const proofs = TestBed.inject(DPOP_PROOFS)!;
      proofs.rememberNonce('https://op.example.com/api/orders', 'api-nonce');
      const session = harness.auth.state();
      expect(session.status).toBe('authenticated');
      expect(decodeProof(await proofs.proof('GET', 'https://op.example.com/api/orders', 'at', (await storedKeys())[0].jkt)).payload['nonce']).toBe('api-nonce');
      await harness.auth.renew();
      const refresh = harness.op.requestsTo('/token').filter((request) => form(request).get('grant_type') === 'refresh_token');
      expect(refresh.map((request) => decodeProof(dpopHeader(request)).payload['nonce'])).toEqual(['op-nonce']);
    });

    it('refuses Bearer tokens under withDPoP() and revokes their refresh token', async () => {
      const harness = await dpopHarness({}, { tokenType: 'Bearer' });
      await harness.signIn();
      expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: jasmine.objectContaining({ code: 'invalid_response' }) }));
      await new Promise<void>((resolve) => (harness.op.requestsTo('/revoke').length ? resolve() : (harness.op.handlers['/revoke'] = () => (resolve(), { status: 200, body: '' }))));
      expect(form(harness.op.requestsTo('/revoke')[0]).get('token')).toMatch(/^rt-/);
    });

    it('refuses DPoP tokens without withDPoP()', async () => {
      const harness = await dpopHarness({}, { dpop: false, tokenType: 'DPoP' });
      await harness.signIn();
      expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: jasmine.objectContaining({ code: 'invalid_response' }) }));
      expect(dpopHeader(harness.op.requestsTo('/token')[0])).toBeNull();
    });

    it("keeps the session's key in an iframe renewal: its request sends that key's thumbprint as dpop_jkt", async () => {
      const harness = await dpopHarness({ renew: { strategy: 'iframe', silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
      harness.browser.windowRef = window;
      harness.op.issueRefreshToken = false;
      await harness.load(`${location.origin}/`);
      const authorize = await harness.startLogin();
      await harness.load(`${location.origin}/?code=good-code&state=${authorize.searchParams.get('state')}&iss=${encodeURIComponent(harness.op.issuer)}`);
      const [key] = await storedKeys();
      expect(harness.auth.state().tokenType).toBe('DPoP');

      const appended = nextIframe();
      const renewed = harness.auth.renew();
      const iframe = new URL((await appended).src);
      expect(iframe.searchParams.get('prompt')).toBe('none');
      expect(iframe.searchParams.get('dpop_jkt')).toBe(key.jkt);
      harness.op.nonce = iframe.searchParams.get('nonce')!;
      const response = new URL(iframe.searchParams.get('redirect_uri')!);
      response.search = new URLSearchParams({ code: 'good-code', state: iframe.searchParams.get('state')!, iss: harness.op.issuer }).toString();
      post({ type: SILENT_RENEW_MESSAGE, url: response.href }, { source: (document.querySelector('iframe[title="silent sign-in"]') as HTMLIFrameElement).contentWindow });
      await renewed;
      expect(await thumbprintOf(dpopHeader(harness.op.requestsTo('/token').at(-1)!))).toBe(key.jkt);
      expect((await storedKeys()).map((stored) => stored.jkt)).toEqual([key.jkt]);
      removeSilentIframes();
    });

    it('puts a proof on the pushed authorization request (RFC 9449 10.1), with the same key as dpop_jkt', async () => {
      const harness = await dpopHarness();
      harness.op.metadata['pushed_authorization_request_endpoint'] = `${harness.op.issuer}/par`;
      harness.op.handlers['/par'] = () => harness.op.json({ request_uri: 'urn:ietf:params:oauth:request_uri:1', expires_in: 60 }, 201);
      await harness.load();
      await harness.auth.login();
      const [par] = harness.op.requestsTo('/par');
      const [key] = await storedKeys();
      expect(await thumbprintOf(dpopHeader(par))).toBe(key.jkt);
      expect(decodeProof(dpopHeader(par)).payload).toEqual(jasmine.objectContaining({ htm: 'POST', htu: `${harness.op.issuer}/par` }));
      expect(form(par).get('dpop_jkt')).toBe(key.jkt);
    });
  });

  describe('key life', () => {
    it('deletes every key of the instance at logout, before the browser leaves for the OP and before logout() resolves', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      await new DPoPKeyStore({ indexedDB, namespace: NAMESPACE, clientId: 'spa', nonceFor: () => undefined, now: () => harness.clock.now(), error: (code, message) => new AuthError(code, message) }).create();
      expect((await storedKeys()).length).toBe(2);
      // A read begun as the browser leaves sees every write committed before it, and none begun after.
      let atNavigation: Promise<StoredKey[]> | null = null;
      spyOn(harness.browser, 'navigate').and.callFake(() => (atNavigation = storedKeys()));
      const result = await harness.auth.logout();
      expect(result.outcome).toBe('redirected');
      expect(await atNavigation!).toEqual([]);
      expect(await storedKeys()).toEqual([]);
    });

    it('keeps a key made after the logout began (another tab signing in meanwhile) (review F5)', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      const later = await keyMadeAt(harness.clock.now() + 1000);
      await harness.auth.logout({ localOnly: true });
      expect((await storedKeys()).map((key) => key.jkt)).toEqual([later]);
    });

    it('reports a deletion that failed in the logout result, typed (review F5)', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      spyOn(DPoPKeyStore.prototype, 'deleteAll').and.rejectWith(new AuthError('dpop_unavailable', ''));
      const result = await harness.auth.logout({ localOnly: true });
      expect(result.error).toEqual(jasmine.objectContaining({ code: 'dpop_unavailable' }));
    });

    it('deletes the keys when the logout fails after the session was cleared (review F5)', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      const store = TestBed.inject(SessionStore);
      spyOn(AuthService.prototype, 'logout').and.callFake(async () => {
        store.clear('logout');
        throw new Error('the logout failed');
      });
      await expectAsync(harness.auth.logout()).toBeRejected();
      expect(await storedKeys()).toEqual([]);
    });

    it('keeps every key when the logout is refused before it began (bad postLogoutRedirectUrl)', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      await expectAsync(harness.auth.logout({ postLogoutRedirectUrl: 'https://evil.example.com/' })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
      expect((await storedKeys()).length).toBe(1);
    });

    it("with isolated tabs, a logout deletes only this tab's session key, and a sign-in prunes no other tab's old key (review F4)", async () => {
      const harness = await dpopHarness({ tabs: 'isolated' });
      const otherTab = await keyMadeAt(harness.clock.now() - 60 * 60 * 1000);
      await harness.signIn();
      expect((await storedKeys()).length).toBe(2);
      await harness.auth.logout({ localOnly: true });
      expect((await storedKeys()).map((key) => key.jkt)).toEqual([otherTab]);
    });

    it('sweeps after start-up the keys older than 30 minutes that no session names, and keeps the rest (review F3)', async () => {
      const harness = await dpopHarness();
      harness.browser.windowRef = window; // the page's Web Locks: which sessions live tabs hold
      await harness.signIn();
      const [session] = await storedKeys();
      const abandoned = await keyMadeAt(harness.clock.now() - 31 * 60 * 1000);
      const young = await keyMadeAt(harness.clock.now() - 29 * 60 * 1000);
      expect((await storedKeys()).length).toBe(3);
      await harness.load();
      await swept();
      const keys = await storedKeys();
      expect(keys.map((key) => key.jkt).sort()).toEqual([session.jkt, young].sort());
      expect(keys.map((key) => key.jkt)).not.toContain(abandoned);
    });

    it('sweeps nothing while a live tab holds a session of another sign-in, whose key this tab does not know (review F3)', async () => {
      const harness = await dpopHarness();
      harness.browser.windowRef = window;
      await harness.signIn();
      const otherTab = await keyMadeAt(harness.clock.now() - 31 * 60 * 1000);
      let release!: () => void;
      await new Promise<void>((granted) => void navigator.locks.request(`${NAMESPACE}:holder:1:another-sign-in:0`, { mode: 'shared' }, () => (granted(), new Promise<void>((resolve) => (release = resolve)))));
      try {
        await harness.load();
        await swept();
        expect((await storedKeys()).map((key) => key.jkt)).toContain(otherTab);
      } finally {
        release();
      }
    });

    it('sweeps nothing with isolated tabs: an old key may be another tab\'s live session (review F3, F4)', async () => {
      const harness = await dpopHarness({ tabs: 'isolated' });
      harness.browser.windowRef = window;
      await harness.signIn();
      const otherTab = await keyMadeAt(harness.clock.now() - 31 * 60 * 1000);
      await harness.load();
      expect(harness.auth.state().status).toBe('authenticated');
      await swept();
      expect((await storedKeys()).map((key) => key.jkt)).toContain(otherTab);
    });

    it('leaves no key when the sign-in fails before leaving the page: a bad max_age, a refused PAR (review F3)', async () => {
      const harness = await dpopHarness();
      await harness.load();
      await expectAsync(harness.auth.login({ params: { max_age: 'soon' } })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
      harness.op.metadata['pushed_authorization_request_endpoint'] = `${harness.op.issuer}/par`;
      harness.op.handlers['/par'] = () => harness.op.oauthError('invalid_request');
      await harness.load();
      await expectAsync(harness.auth.login()).toBeRejected();
      expect(harness.op.requestsTo('/par').length).toBe(1);
      expect(await storedKeys()).toEqual([]);
    });

    it('deletes the keys at a local logout too', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      await harness.auth.logout({ localOnly: true });
      expect(await storedKeys()).toEqual([]);
    });

    it('deletes the key when the session ends (the OP refuses the refresh token)', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      expect((await storedKeys()).length).toBe(1);
      harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
      await expectAsync(harness.auth.renew()).toBeRejected();
      expect(harness.auth.state().status).toBe('unauthenticated');
      expect(await keysSettle((keys) => keys.length === 0)).toEqual([]);
    });

    it('does not use a stored session whose key is gone: the user is unauthenticated', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      await withStore('readwrite', (store) => store.clear());
      await harness.load();
      expect(harness.auth.state().status).toBe('unauthenticated');
      expect(harness.storage.getItem(`${NAMESPACE}:session`)).toBeNull();
    });

    it('restores a stored DPoP session in a new page, which makes proofs with the key from IndexedDB', async () => {
      const harness = await dpopHarness();
      await harness.signIn();
      const [key] = await storedKeys();
      await harness.load();
      expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'authenticated', tokenType: 'DPoP' }));
      const proofs = TestBed.inject(DPOP_PROOFS)!;
      proofs.rememberNonce('https://api.example.com/any?x', 'rs-nonce');
      const proof = await proofs.proof('GET', 'https://api.example.com/items', 'at-1', key.jkt);
      expect(await thumbprintOf(proof)).toBe(key.jkt);
      expect(decodeProof(proof).payload['nonce']).toBe('rs-nonce');
    });

    it('does not use a stored bearer session under withDPoP() (no bearer fallback), nor a DPoP session without it', async () => {
      const bearer = await dpopHarness({}, { dpop: false, tokenType: 'Bearer' });
      await bearer.signIn();
      expect(bearer.auth.state().tokenType).toBe('Bearer');
      bearer.features = [withDPoP()];
      await bearer.load();
      expect(bearer.auth.state().status).toBe('unauthenticated');
      expect(bearer.storage.getItem(`${NAMESPACE}:session`)).toBeNull();

      const dpop = await dpopHarness();
      await dpop.signIn();
      dpop.features = [];
      await dpop.load();
      expect(dpop.auth.state().status).toBe('unauthenticated');
    });
  });

  describe('where keys cannot be kept', () => {
    let descriptor: PropertyDescriptor | undefined;
    beforeEach(() => {
      descriptor = Object.getOwnPropertyDescriptor(window, 'indexedDB');
      Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
    });
    afterEach(() => {
      if (descriptor) Object.defineProperty(window, 'indexedDB', descriptor);
      else delete (window as { indexedDB?: unknown }).indexedDB;
    });

    it('starts unauthenticated with dpop_unavailable, and login() rejects with it before leaving the page', async () => {
      const harness = await dpopHarness();
      const auth: AuthService = await harness.load();
      expect(auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: jasmine.objectContaining({ code: 'dpop_unavailable' }) }));
      await expectAsync(auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'dpop_unavailable' }));
      expect(harness.browser.navigations).toEqual([]);
    });
  });
});
