// withDPoP(): a sign-in that fails leaves no DPoP key of its own in IndexedDB (found by
// e2e/dpop.test.mjs: an OP answering token_type Bearer left the attempt's key behind).
import { withSilentSignIn } from '../../public-api';
import { withDPoP } from '../../../dpop/src/public-api';
import { AuthHarness } from '../../testing/harness';
import { nextIframe, post, removeSilentIframes } from '../../testing/silent-iframe';
import { SILENT_RENEW_MESSAGE } from './iframe-renew';
import { PAGE_IN_FRAME } from '../silent/silent-sign-in';

const DATABASE = 'ngx-oidc-session-dpop'; // the key store's database (dpop/src/dpop-key-store.ts)
const STORE = 'keys';

function idb<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The key ids stored in the test browser's IndexedDB, as another tab would read them. */
async function storedKeyIds(): Promise<string[]> {
  const opening = indexedDB.open(DATABASE, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: ['namespace', 'jkt'] });
  const database = await idb(opening);
  try {
    return (await idb(database.transaction(STORE).objectStore(STORE).getAllKeys())).map((key) => JSON.stringify(key));
  } finally {
    database.close();
  }
}

async function clearKeys(): Promise<void> {
  const opening = indexedDB.open(DATABASE, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: ['namespace', 'jkt'] });
  const database = await idb(opening);
  try {
    await idb(database.transaction(STORE, 'readwrite').objectStore(STORE).clear());
  } finally {
    database.close();
  }
}

describe('withDPoP(): the key of a failed sign-in', () => {
  beforeEach(clearKeys);
  afterEach(removeSilentIframes);

  it('is deleted when the OP answers the code grant with a Bearer token', async () => {
    const harness = await AuthHarness.create();
    harness.features = [withDPoP()];
    const issue = harness.op.handlers['/token'];
    harness.op.handlers['/token'] = async (request) => {
      const reply = await issue(request);
      return { ...reply, body: { ...(reply.body as object), token_type: 'Bearer' } };
    };
    await harness.load();
    const authorize = await harness.startLogin();
    expect((await storedKeyIds()).length).withContext('the attempt made its key').toBe(1);
    await harness.load(harness.callbackUrl(authorize));
    expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: jasmine.objectContaining({ code: 'invalid_response' }) }));
    expect(await storedKeyIds()).toEqual([]);
  });

  it('is deleted when the OP refuses the code grant', async () => {
    const harness = await AuthHarness.create();
    harness.features = [withDPoP()];
    harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
    await harness.load();
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize));
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(await storedKeyIds()).toEqual([]);
  });

  it('is deleted when a silent sign-in finds no OP session (login_required)', async () => {
    const harness = await AuthHarness.create({ renew: { silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
    harness.browser.windowRef = window;
    harness.features = [withDPoP(), withSilentSignIn()];
    harness.providers = [{ provide: PAGE_IN_FRAME, useValue: false }];
    const appended = nextIframe();
    const loaded = harness.load(`${location.origin}/`);
    const iframe = await appended;
    const request = new URL(iframe.src);
    expect(request.searchParams.get('dpop_jkt')).toBeTruthy();
    expect((await storedKeyIds()).length).withContext('the silent attempt made its key').toBe(1);
    post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request, { code: null, error: 'login_required' }) }, { source: iframe.contentWindow });
    await loaded;
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(await storedKeyIds()).toEqual([]);
  });
});
