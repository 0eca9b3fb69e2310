#!/usr/bin/env node
// Checks in headless Chromium, from a page on an app origin, that a browser app can do DPoP
// against the dev OP and the demo API across origins: the DPoP request header passes CORS
// preflight at the PAR, token and userinfo endpoints and the API, and the page can read the
// DPoP-Nonce (and WWW-Authenticate) headers of their cross-origin answers. The key pair is a
// non-extractable WebCrypto key kept in IndexedDB across the trip to the OP, as an app keeps it.
//
//   node tools/dev-op/dpop-browser-check.mjs        (ports 4630 app, 4640 OP, 4650 API)
//
// Prints one line per step and exits non-zero when a step fails.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, findChromium } from '../lib/chromium.mjs';
import { serveStatic } from '../lib/static-server.mjs';
import { startDevEnvironment } from './server.mjs';

const APP = 'http://localhost:4630';
const root = mkdtempSync(join(tmpdir(), 'dpop-browser-check-'));
copyFileSync(fileURLToPath(import.meta.resolve('oauth4webapi')), join(root, 'oauth.js'));
writeFileSync(join(root, 'index.html'), '<!doctype html><meta charset="utf-8"><title>DPoP check</title><p>DPoP check</p>');

const env = await startDevEnvironment({ port: 4640, apiPort: 4650, lookalikePort: 46501, appOrigins: [APP], testMode: true, env: {} });
const app = await serveStatic(root, { port: 4630 });
const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_FLAGS });
let failed = false;

try {
  const page = await browser.newPage();
  await page.goto(APP);
  // Step 1 in the page: a key pair in IndexedDB, a pushed authorization request with a proof.
  const started = await page.evaluate(async ({ issuer }) => {
    const oauth = await import('/oauth.js');
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('dpop-check', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('keys');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise((resolve, reject) => {
      const tx = db.transaction('keys', 'readwrite');
      tx.objectStore('keys').put(keyPair, 'current');
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true }));
    const client = { client_id: 'ngx-oidc-demo' };
    const DPoP = oauth.DPoP(client, keyPair);
    const verifier = oauth.generateRandomCodeVerifier();
    sessionStorage.setItem('verifier', verifier);
    const params = new URLSearchParams({
      client_id: client.client_id, redirect_uri: `${location.origin}/`, response_type: 'code', scope: 'openid profile',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const options = { DPoP, [oauth.allowInsecureRequests]: true };
    const first = await oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, options);
    const parChallenge = { status: first.status, nonceReadable: Boolean(first.headers.get('dpop-nonce')) };
    const second = await oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, options);
    const { request_uri } = await oauth.processPushedAuthorizationResponse(as, client, second);
    return { parChallenge, authorize: `${as.authorization_endpoint}?${new URLSearchParams({ client_id: client.client_id, request_uri })}` };
  }, { issuer: env.issuer });
  report('PAR: 400 use_dpop_nonce with a DPoP-Nonce the page can read', started.parChallenge.status === 400 && started.parChallenge.nonceReadable);

  await page.goto(started.authorize);
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.pathname.includes('/interaction/') || url.origin === APP);
  if (new URL(page.url()).origin !== APP) await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.origin === APP && url.searchParams.has('code'));

  // Step 2, back on the app: the stored key (still non-extractable), the code grant, userinfo,
  // the API and a refresh, each first challenged for a nonce and then answered.
  const result = await page.evaluate(async ({ issuer, apiUrl }) => {
    const oauth = await import('/oauth.js');
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('dpop-check', 1);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const keyPair = await new Promise((resolve, reject) => {
      const get = db.transaction('keys').objectStore('keys').get('current');
      get.onsuccess = () => resolve(get.result);
      get.onerror = () => reject(get.error);
    });
    const out = { privateKeyExtractable: keyPair.privateKey.extractable };
    const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true }));
    const client = { client_id: 'ngx-oidc-demo' };
    const DPoP = oauth.DPoP(client, keyPair);
    const options = { DPoP, [oauth.allowInsecureRequests]: true };
    const params = oauth.validateAuthResponse(as, client, new URL(location.href), oauth.expectNoState);
    const verifier = sessionStorage.getItem('verifier');

    // A fresh handle (as after a page load) has no nonce: the token endpoint challenges first.
    const freshHandle = oauth.DPoP(client, keyPair);
    const challenged = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, `${location.origin}/`, verifier, { ...options, DPoP: freshHandle });
    out.tokenChallenge = { status: challenged.status, error: (await challenged.json()).error, nonceReadable: Boolean(challenged.headers.get('dpop-nonce')) };
    const tokens = await oauth.processAuthorizationCodeResponse(as, client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, `${location.origin}/`, verifier, { ...options, DPoP: freshHandle }));
    out.tokenType = tokens.token_type;

    // The first handle has no nonce yet (the token endpoint's went to freshHandle): userinfo challenges.
    const userinfoFirst = await oauth.userInfoRequest(as, client, tokens.access_token, options);
    out.userinfoChallenge = { status: userinfoFirst.status, wwwAuthenticate: userinfoFirst.headers.get('www-authenticate'), nonceReadable: Boolean(userinfoFirst.headers.get('dpop-nonce')) };
    const userinfo = await oauth.userInfoRequest(as, client, tokens.access_token, options);
    out.userinfo = { status: userinfo.status, sub: (await oauth.processUserInfoResponse(as, client, oauth.skipSubjectCheck, userinfo)).sub };

    const api = new URL(`${apiUrl}/api/hello`);
    const apiFirst = await fetchWithProof(api);
    out.apiChallenge = { status: apiFirst.status, wwwAuthenticate: apiFirst.headers.get('www-authenticate'), nonceReadable: Boolean(apiFirst.headers.get('dpop-nonce')) };
    const apiSecond = await fetchWithProof(api, apiFirst.headers.get('dpop-nonce'));
    out.api = { status: apiSecond.status };

    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, options));
    out.refreshTokenType = refreshed.token_type;
    return out;

    /** A proof from oauth4webapi (captured, not sent by it), then a plain cross-origin fetch. */
    async function fetchWithProof(url, nonce) {
      let proof;
      const handle = oauth.DPoP(client, keyPair, { [oauth.modifyAssertion]: (header, payload) => { if (nonce) payload.nonce = nonce; } });
      await oauth.protectedResourceRequest(tokens.access_token, 'GET', url, new Headers(), null, {
        DPoP: handle,
        [oauth.allowInsecureRequests]: true,
        [oauth.customFetch]: async (_url, init) => {
          proof = new Headers(init.headers).get('dpop');
          return new Response(null, { status: 204 });
        },
      });
      return fetch(url, { headers: { Authorization: `DPoP ${tokens.access_token}`, DPoP: proof } });
    }
  }, { issuer: env.issuer, apiUrl: env.apiUrl });

  report('the key pair came back from IndexedDB with a non-extractable private key', result.privateKeyExtractable === false);
  report('token endpoint: 400 use_dpop_nonce with a DPoP-Nonce the page can read', result.tokenChallenge.status === 400 && result.tokenChallenge.error === 'use_dpop_nonce' && result.tokenChallenge.nonceReadable);
  report('token endpoint: token_type DPoP after the retry', result.tokenType === 'dpop');
  report('userinfo: 401 use_dpop_nonce, WWW-Authenticate and DPoP-Nonce readable', result.userinfoChallenge.status === 401 && /use_dpop_nonce/.test(result.userinfoChallenge.wwwAuthenticate ?? '') && result.userinfoChallenge.nonceReadable);
  report('userinfo with the nonce: 200', result.userinfo.status === 200 && result.userinfo.sub === 'alice');
  report('API: 401 use_dpop_nonce, WWW-Authenticate and DPoP-Nonce readable', result.apiChallenge.status === 401 && /use_dpop_nonce/.test(result.apiChallenge.wwwAuthenticate ?? '') && result.apiChallenge.nonceReadable);
  report('API: 200 with the nonce', result.api.status === 200);
  report('refresh with a proof: token_type DPoP', result.refreshTokenType === 'dpop');
  const log = await (await fetch(`${env.issuer}/__test/dpop-log`)).json();
  report('OP log: every PAR, token and userinfo request carried a proof', log.length > 0 && log.every((entry) => entry.hadProof));
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await browser.close();
  await app.close();
  await env.close();
  rmSync(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

function report(what, ok) {
  if (!ok) failed = true;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
}
