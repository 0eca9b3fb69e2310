// DPoP (RFC 9449, withDPoP() through the demo's DPoP switch) against the real dev OP, which
// requires its nonces, and the demo API, which checks every proof with a nonce of its own:
// sign-in and API calls with proofs, the nonce challenges of both, a token that is useless
// without its key, the key kept across a reload and gone at logout, the iframe renewal bound to
// the same key, and an OP that answers with a bearer token.
import assert from 'node:assert/strict';
import { expect } from '@playwright/test';
import { test } from './fixtures.mjs';
import { API_HELLO, callApi, nextApiAuthorization, proofFromAnotherKey, signInWithDPoP, storedKeys } from './dpop-support.mjs';
import { nextAuthorizationParams, resetAuthorizationRequests } from './par-support.mjs';
import { APP, OP, signInAtOp, waitForEvents } from './support.mjs';

test.beforeEach(async ({ rig }) => {
  await rig.hook('/reset', { method: 'POST' });
  await resetAuthorizationRequests(rig);
});

/** The API log as [scheme, dpop outcome, status] triples. */
async function apiOutcomes(rig) {
  return (await rig.apiLog()).map((entry) => [entry.scheme, entry.dpop ?? null, entry.status]);
}

test('signs in with DPoP: proofs at every OP request, the OP nonce challenge answered once, and API calls with proofs and the API nonce', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await rig.resetCounters();
  await rig.resetDpopLog();
  const authorizationParams = nextAuthorizationParams(page, OP);
  await signInWithDPoP(page);
  assert.equal(await page.getByTestId('token-type').textContent(), 'DPoP');

  // The authorization request names the key the code is bound to (RFC 9449 10).
  const params = await authorizationParams;
  const [jkt] = await storedKeys(page);
  assert.equal(params.get('dpop_jkt'), jkt, 'dpop_jkt is the thumbprint of the one stored key');

  // Every request to the OP's token, PAR and userinfo endpoints carried a proof. Each page load
  // starts without the OP's nonce: the pushed request (before leaving for the OP) and the code
  // grant (after coming back) are each challenged once and sent again once; userinfo, after the
  // code grant in the same page, already has the nonce.
  const log = await rig.dpopLog();
  assert.ok(log.every((entry) => entry.hadProof), `every OP request had a proof: ${JSON.stringify(log)}`);
  const outcomes = (endpoint) => log.filter((entry) => entry.endpoint === endpoint).map((entry) => [entry.status, entry.nonceChallenged]);
  assert.deepEqual(outcomes('par'), [[400, true], [201, false]], 'the pushed request: one nonce challenge, one retry');
  assert.deepEqual(outcomes('token'), [[400, true], [200, false]], 'the code grant: one nonce challenge, one retry');
  assert.deepEqual(outcomes('userinfo'), [[200, false]]);
  const codeGrant = log.filter((entry) => entry.endpoint === 'token').at(-1);
  assert.deepEqual([codeGrant.grantType, codeGrant.tokenType], ['authorization_code', 'DPoP']);
  const counters = await rig.counters();
  assert.equal(counters.tokenAuthorizationCode, 2);
  assert.equal(counters.tokenAuthorizationCodeWithDPoP, 2);
  assert.equal(counters.tokenDPoPNonceChallenges, 1);

  // The first API call of the page has no API nonce: one 401 use_dpop_nonce, one retry, 200.
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual(await apiOutcomes(rig), [
    ['DPoP', 'use_dpop_nonce', 401],
    ['DPoP', 'ok', 200],
  ]);
  // The nonce is remembered: the next call goes through at once.
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual(await apiOutcomes(rig), [['DPoP', 'ok', 200]]);
  // The API takes a new nonce: again exactly one challenge and one retry.
  await rig.dpop({ rotateApiNonce: true });
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual(await apiOutcomes(rig), [
    ['DPoP', 'use_dpop_nonce', 401],
    ['DPoP', 'ok', 200],
  ]);
  assert.equal(await page.getByTestId('api-unauthorized-count').textContent(), '0');
});

test('the access token is useless without its key: as a bearer token and with another key’s proof the API answers 401', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await signInWithDPoP(page);
  const authorization = nextApiAuthorization(page);
  assert.equal(await callApi(page), 200);
  const [scheme, accessToken] = (await authorization).split(' ');
  assert.equal(scheme, 'DPoP', 'the page sent its token as DPoP');

  await rig.resetApiLog();
  // Replayed as a bearer token (RFC 9449 7.1: a bound token must not be accepted as bearer).
  const asBearer = await fetch(API_HELLO, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(asBearer.status, 401);
  // With a valid proof of another key: the API gives its nonce first, then refuses the key.
  let answer = await fetch(API_HELLO, { headers: { authorization: `DPoP ${accessToken}`, dpop: await proofFromAnotherKey(accessToken) } });
  assert.equal(answer.status, 401);
  const nonce = answer.headers.get('dpop-nonce');
  assert.ok(nonce, 'the API named its nonce');
  answer = await fetch(API_HELLO, { headers: { authorization: `DPoP ${accessToken}`, dpop: await proofFromAnotherKey(accessToken, nonce) } });
  assert.equal(answer.status, 401);
  assert.match(answer.headers.get('www-authenticate') ?? '', /^DPoP .*error="invalid_token"/);
  assert.deepEqual(await apiOutcomes(rig), [
    ['Bearer', 'bound-token-as-bearer', 401],
    ['DPoP', 'use_dpop_nonce', 401],
    ['DPoP', 'cnf-jkt', 401],
  ]);

  // The token itself is still good: the page, with its key, still gets 200.
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual(await apiOutcomes(rig), [['DPoP', 'ok', 200]]);
});

test('a reload keeps the DPoP session: the key comes from IndexedDB and API calls still pass', async ({ demoPage, rig }) => {
  const { page, opNavigations } = await demoPage('refresh_token');
  await signInWithDPoP(page);
  const keys = await storedKeys(page);
  assert.equal(keys.length, 1);
  const navigations = opNavigations.length;
  await page.reload();
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
  assert.equal(await page.getByTestId('token-type').textContent(), 'DPoP');
  assert.equal(opNavigations.length, navigations, 'no new sign-in');
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual(await apiOutcomes(rig), [
    ['DPoP', 'use_dpop_nonce', 401],
    ['DPoP', 'ok', 200],
  ]);
  assert.deepEqual(await storedKeys(page), keys, 'the same key, and no other');
});

test('one key per session: a new sign-in replaces the old key, and logout leaves none in IndexedDB', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await signInWithDPoP(page);
  const [first, ...others] = await storedKeys(page);
  assert.ok(first);
  assert.deepEqual(others, []);

  // Another sign-in in the same tab (prompt=login): a new key, and the replaced one is deleted.
  await page.getByTestId('switch-account').click();
  await signInAtOpAgain(page);
  await expect.poll(() => storedKeys(page)).toEqual([expect.not.stringMatching(`^${first}$`)]);
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual((await rig.apiLog()).at(-1).dpop, 'ok');

  // Logout: the keys are gone before the browser leaves for the OP.
  await page.getByTestId('logout').click();
  await page.waitForURL((url) => url.origin === OP);
  await page.goto(APP);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  assert.deepEqual(await storedKeys(page), []);
});

/** The second sign-in of the same user: the OP asks for the password again (prompt=login). */
async function signInAtOpAgain(page) {
  await page.waitForURL((url) => url.origin === OP);
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.origin === APP);
  await page.getByTestId('status').filter({ hasText: /^authenticated$/ }).waitFor();
}

test('the iframe renewal keeps DPoP: the new code is bound to the same key, the token stays DPoP, the API answers 200', async ({ demoPage, rig }) => {
  const { page } = await demoPage('iframe');
  const signInParams = nextAuthorizationParams(page, OP);
  await signInWithDPoP(page);
  const jkt = (await signInParams).get('dpop_jkt');
  assert.ok(jkt, 'the sign-in was bound to a key');
  await rig.resetCounters();
  await rig.resetDpopLog();
  await resetAuthorizationRequests(rig);

  const renewalParams = nextAuthorizationParams(page, OP);
  await page.getByTestId('renew').click();
  await waitForEvents(page, 'token_renewed', 1);
  const params = await renewalParams;
  assert.equal(params.get('prompt'), 'none', 'the renewal went through the iframe');
  assert.equal(params.get('dpop_jkt'), jkt, 'the renewal binds its code to the session’s key');
  assert.equal((await rig.counters()).authorizeNone, 1);
  const codeGrants = (await rig.dpopLog()).filter((entry) => entry.endpoint === 'token' && entry.status === 200);
  assert.deepEqual(
    codeGrants.map((entry) => [entry.grantType, entry.hadProof, entry.tokenType]),
    [['authorization_code', true, 'DPoP']],
  );
  assert.equal(await page.getByTestId('token-type').textContent(), 'DPoP');
  assert.deepEqual(await storedKeys(page), [jkt], 'still the one key');
  await rig.resetApiLog();
  assert.equal(await callApi(page), 200);
  assert.deepEqual((await apiOutcomes(rig)).at(-1), ['DPoP', 'ok', 200]);
});

test('an OP that answers with a bearer token fails the sign-in with a typed error: no bearer fallback, no key left', async ({ demoPage, rig }) => {
  const { page } = await demoPage('refresh_token');
  await rig.hook('/quirks', { method: 'POST', body: { bearerTokenType: true } });
  await rig.resetDpopLog();
  await page.goto(APP);
  await Promise.all([page.waitForEvent('load'), page.getByTestId('dpop').click()]);
  await page.getByTestId('login').click();
  await signInAtOp(page);
  await expect(page.getByTestId('error')).toContainText('invalid_response');
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  // The fault is the OP's word only: the token it issued was DPoP-bound.
  const grants = (await rig.dpopLog()).filter((entry) => entry.endpoint === 'token' && entry.status === 200);
  assert.deepEqual(grants.map((entry) => entry.tokenType), ['DPoP']);
  // No token reaches the API, as bearer or otherwise.
  await rig.resetApiLog();
  await callApi(page);
  const log = await rig.apiLog();
  assert.deepEqual(log.map((entry) => entry.hadAuthorization), [false]);
  await expect.poll(() => storedKeys(page)).toEqual([]);
});

test('a silent sign-in at start-up that finds no OP session leaves no DPoP key behind', async ({ demoPage }) => {
  const { page } = await demoPage('refresh_token');
  await page.goto(APP);
  await Promise.all([page.waitForEvent('load'), page.getByTestId('dpop').click()]);
  await Promise.all([page.waitForEvent('load'), page.getByTestId('silent-sign-in').click()]);
  // This reload's start-up tried prompt=none in the hidden iframe, bound to a new key, and the
  // OP (no session in this browser) answered login_required.
  await waitForEvents(page, 'silent_sign_in', 1);
  await page.getByTestId('status').filter({ hasText: /^unauthenticated$/ }).waitFor();
  await expect.poll(() => storedKeys(page)).toEqual([]);
});
