// Helpers of the DPoP scenarios (RFC 9449): the demo's DPoP switch, the keys the library keeps in
// IndexedDB, the access token as the API got it, and a proof made with a key that is not the
// session's. Everything goes through the demo and the browser, not the library's internals.
import { expect } from '@playwright/test';
import { API, APP, signInAtOp } from './support.mjs';

/** The library's key database (projects/ngx-oidc-session/dpop/src/dpop-key-store.ts). */
const KEY_DATABASE = 'ngx-oidc-session-dpop';
const KEY_STORE = 'keys';
export const API_HELLO = `${API}/api/hello`;

/**
 * Turns the demo's DPoP switch on (it reloads the page, and is kept in localStorage for every
 * tab of the context) and signs in. Resolves once the page shows the session.
 */
export async function signInWithDPoP(page, user = 'alice') {
  await page.goto(APP);
  const toggle = page.getByTestId('dpop');
  if (!(await toggle.isChecked())) {
    await Promise.all([page.waitForEvent('load'), toggle.click()]);
    await expect(page.getByTestId('dpop')).toBeChecked();
  }
  await page.getByTestId('login').click();
  await signInAtOp(page, user);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
}

/**
 * The thumbprints (jkt) of the DPoP keys stored for the page's origin, read from IndexedDB as
 * any script of the page could. A database that does not exist yet is not created.
 */
export function storedKeys(page) {
  return page.evaluate(
    async ([name, storeName]) => {
      if (!(await indexedDB.databases()).some((database) => database.name === name)) return [];
      const database = await new Promise((resolve, reject) => {
        const opening = indexedDB.open(name);
        opening.onsuccess = () => resolve(opening.result);
        opening.onerror = () => reject(opening.error);
      });
      try {
        if (!database.objectStoreNames.contains(storeName)) return [];
        const keys = await new Promise((resolve, reject) => {
          const request = database.transaction(storeName).objectStore(storeName).getAllKeys();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        return keys.map(([, jkt]) => jkt).sort();
      } finally {
        database.close();
      }
    },
    [KEY_DATABASE, KEY_STORE],
  );
}

/**
 * Clicks "Call the API" and resolves with the status the page shows for that call (after the
 * interceptor's retries): the tally grows by one per call.
 */
export async function callApi(page) {
  const tallyOf = async () => {
    const counts = await Promise.all(['api-ok-count', 'api-unauthorized-count', 'api-failed-count'].map((id) => page.getByTestId(id).textContent()));
    return counts.reduce((sum, count) => sum + Number(count), 0);
  };
  const before = await tallyOf();
  await page.getByTestId('call-api').click();
  await expect.poll(tallyOf).toBe(before + 1);
  return Number(await page.getByTestId('api-status').textContent());
}

/** The Authorization header of the page's next call to the API (the access token, in this test only). */
export async function nextApiAuthorization(page) {
  const request = await page.waitForRequest((candidate) => candidate.url() === API_HELLO && candidate.method() === 'GET');
  return (await request.allHeaders()).authorization ?? null;
}

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

/**
 * A well-formed DPoP proof (RFC 9449 4.2) for GET API_HELLO and this access token, signed with
 * a new ES256 key that is not the one the token is bound to.
 */
export async function proofFromAnotherKey(accessToken, nonce) {
  const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  const header = base64url(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
  const ath = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  const claims = { jti: crypto.randomUUID(), htm: 'GET', htu: API_HELLO, iat: Math.floor(Date.now() / 1000), ath, ...(nonce ? { nonce } : {}) };
  const payload = base64url(JSON.stringify(claims));
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(signature)}`;
}
