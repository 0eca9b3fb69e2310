// Self-test of the dev OP and demo API, driven over real HTTP the way an app would use them.
//   npx node --test tools/dev-op/selftest.mjs
// Uses its own ports so it can run beside a dev OP on the default ones.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import { createApiHandler } from './api.mjs';
import { resolveConfig } from './config.mjs';
import { API_NONCE_GRACE_MS, API_NONCE_ROTATION_MS, DPoPCheckError, IAT_WINDOW_SECONDS, checkProof, createApiNonce, createReplayCache } from './dpop.mjs';
import { redirectUrisFor } from './provider.mjs';
import { ENTRA_TENANTS } from './test-hooks.mjs';
import { startDevEnvironment } from './server.mjs';
import { CHECK_SESSION_PATH, browserStateCookie, computeSessionState } from './session-management.mjs';

const APP = 'http://localhost:4200';
const REDIRECT_URI = `${APP}/`;
const EVIL = 'http://localhost:4999';
const PORTS = { port: 4410, apiPort: 4510, lookalikePort: 45101 };
const insecure = { [oauth.allowInsecureRequests]: true };

/** Just enough of a browser: a cookie jar and manual redirects. */
class Browser {
  cookies = new Map();

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set('Cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      const expired = attributes.some((a) => /expires=.*1970/i.test(a) || /max-age=0\b/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  post(url, fields) {
    return this.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  }
}

function parseForm(html, pageUrl) {
  const form = /<form\b[^>]*>[\s\S]*?<\/form>/i.exec(html)?.[0];
  assert.ok(form, `expected a form at ${pageUrl}`);
  const action = /action="([^"]+)"/i.exec(form)[1].replaceAll('&amp;', '&');
  const fields = {};
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/gi)) {
    fields[name] = value;
  }
  return { action: new URL(action, pageUrl).href, fields };
}

let env;
let as;

/**
 * Runs an authorization request through login and consent like a user would; resolves with the
 * redirect back to the app (the authorization response).
 */
async function authorize(browser, { clientId = 'ngx-oidc-demo', login = 'alice', extra = {}, pushed = false, dpop } = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile email offline_access',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  if (pushed) {
    // RFC 9126: the parameters go to the PAR endpoint, the browser carries client_id and request_uri.
    // With a DPoP handle the proof binds the code to its key (RFC 9449 10.1); one retry with the OP's nonce.
    const push = async () => oauth.processPushedAuthorizationResponse(as, { client_id: clientId },
      await oauth.pushedAuthorizationRequest(as, { client_id: clientId }, oauth.None(), params, { ...insecure, headers: { Origin: APP }, DPoP: dpop }));
    const { request_uri } = await push().catch((error) => {
      if (dpop && oauth.isDPoPNonceError(error)) return push();
      throw error;
    });
    url.search = new URLSearchParams({ client_id: clientId, request_uri }).toString();
  } else {
    url.search = params.toString();
  }

  const pages = [];
  let next = url.href;
  let response = await browser.request(next);
  for (let step = 0; step < 12; step += 1) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location'), next);
      if (location.origin === APP) return { callback: location, state, nonce, verifier, clientId, pages };
      next = location.href;
      response = await browser.request(next);
      continue;
    }
    const html = await response.text();
    assert.equal(response.status, 200, `unexpected ${response.status} at ${next}: ${html.slice(0, 300)}`);
    const { action, fields } = parseForm(html, next);
    pages.push({ url: next, html, fields });
    if (fields.prompt === 'login') {
      response = await browser.post(action, { ...fields, login, password: 'any password' });
    } else if (fields.prompt === 'consent') {
      response = await browser.post(action, fields);
    } else {
      assert.fail(`unexpected page at ${next}`);
    }
    next = action;
  }
  throw new Error('too many steps');
}

async function exchange({ callback, state, nonce, verifier, clientId }) {
  const client = { client_id: clientId };
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, oauth.None(), params, REDIRECT_URI, verifier, insecure,
  );
  return oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  });
}

async function refresh(clientId, refreshToken) {
  const client = { client_id: clientId };
  const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure);
  return oauth.processRefreshTokenResponse(as, client, response);
}

const hook = async (path, body, method = body === undefined ? 'GET' : 'POST') => {
  const response = await fetch(`${env.issuer}/__test/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, `hook ${path}: ${response.status}`);
  return response.json();
};

const callApi = (token, path = '/api/hello', headers = {}) =>
  fetch(`${env.apiUrl}${path}`, {
    headers: { Origin: APP, ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
  });

async function rejectsWith(promise, error) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof oauth.ResponseBodyError, `expected ResponseBodyError, got ${err}`);
    assert.equal(err.error, error);
    return true;
  });
}

describe('dev OP in test mode', () => {
  const browser = new Browser();
  let tokens;

  before(async () => {
    env = await startDevEnvironment({ ...PORTS, testMode: true, env: {} });
    const issuer = new URL(env.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  after(() => env?.close());

  test('discovery advertises what the library needs', async () => {
    assert.equal(as.issuer, 'http://localhost:4410');
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    for (const key of ['end_session_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'userinfo_endpoint']) {
      assert.ok(as[key], key);
    }
    const jwks = await (await fetch(as.jwks_uri, { headers: { Origin: APP } })).json();
    assert.deepEqual(jwks.keys.map((key) => key.alg).sort(), ['ES256', 'RS256']);
    assert.ok(jwks.keys.every((key) => !key.d), 'no private key material');
  });

  test('code + PKCE flow through the dev login and consent pages', async () => {
    await hook('reset', {});
    const flow = await authorize(browser);
    assert.equal(flow.pages.length, 2, 'login page then consent page');
    assert.match(flow.pages[0].html, /name="login"/);
    assert.match(flow.pages[0].html, /name="password"/);
    assert.match(flow.pages[1].html, /Continue/);
    assert.equal(flow.callback.searchParams.get('iss'), env.issuer);
    tokens = await exchange(flow);
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    assert.equal(tokens.expires_in, 300);
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.name, 'Alice Developer');
    assert.equal(claims.email, 'alice@example.com');
    const counters = await hook('counters');
    assert.equal(counters.authorize, 1);
    assert.equal(counters.tokenAuthorizationCode, 1);
  });

  test('userinfo answers and allows CORS only for app origins', async () => {
    const response = await oauth.userInfoRequest(as, { client_id: 'ngx-oidc-demo' }, tokens.access_token, insecure);
    const info = await oauth.processUserInfoResponse(as, { client_id: 'ngx-oidc-demo' }, 'alice', response);
    assert.equal(info.email_verified, true);

    const fromApp = await fetch(as.userinfo_endpoint, {
      headers: { Origin: APP, Authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(fromApp.headers.get('access-control-allow-origin'), APP);
    const fromElsewhere = await fetch(as.userinfo_endpoint, {
      headers: { Origin: EVIL, Authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(fromElsewhere.headers.get('access-control-allow-origin'), null);

    const tokenFromElsewhere = await fetch(as.token_endpoint, {
      method: 'POST',
      headers: { Origin: EVIL, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'ngx-oidc-demo' }),
    });
    assert.equal(tokenFromElsewhere.status, 400);
    assert.equal(tokenFromElsewhere.headers.get('access-control-allow-origin'), null);
  });

  test('the API demands a valid bearer token', async () => {
    const preflight = await fetch(`${env.apiUrl}/api/hello`, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), APP);
    assert.match(preflight.headers.get('access-control-allow-headers'), /Authorization/);

    const missing = await callApi();
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="demo-api"');
    assert.equal(missing.headers.get('access-control-expose-headers'), 'WWW-Authenticate, DPoP-Nonce');

    const bogus = await callApi('not-a-token');
    assert.equal(bogus.status, 401);
    assert.match(bogus.headers.get('www-authenticate'), /error="invalid_token", error_description="[^"]+"/);

    const refreshAsBearer = await callApi(tokens.refresh_token);
    assert.equal(refreshAsBearer.status, 401);

    const ok = await callApi(tokens.access_token);
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.equal(body.sub, 'alice');
    assert.match(body.scope, /openid/);
    assert.equal(typeof body.exp, 'number');
    assert.ok(body.message && body.serverTime);

    const log = await (await fetch(`${env.apiUrl}/__test/api-log`)).json();
    assert.deepEqual(
      log.map(({ hadAuthorization, status }) => [hadAuthorization, status]),
      [[false, 401], [true, 401], [true, 401], [true, 200]],
    );
    assert.ok(!JSON.stringify(log).includes(tokens.access_token), 'the log never holds tokens');
  });

  test('refresh rotates, and reusing a rotated token revokes the grant', async () => {
    await hook('counters/reset', {});
    const first = tokens.refresh_token;
    const rotated = await refresh('ngx-oidc-demo', first);
    assert.ok(rotated.refresh_token !== first, 'the refresh token rotates'); // no token values in a failure message
    assert.equal((await callApi(rotated.access_token)).status, 200);

    await rejectsWith(refresh('ngx-oidc-demo', first), 'invalid_grant');
    const counters = await hook('counters');
    assert.equal(counters.refreshTokenReuse, 1);
    assert.equal(counters.tokenRefresh, 2);
    assert.equal(counters.tokenRefreshFailed, 1);
    // The whole grant is gone: the successor refresh token and its access token too.
    await rejectsWith(refresh('ngx-oidc-demo', rotated.refresh_token), 'invalid_grant');
    assert.equal((await callApi(rotated.access_token)).status, 401);
    // The OP session survives, but the consent went with the grant.
    const silent = await authorize(browser, { extra: { prompt: 'none' } });
    assert.equal(silent.callback.searchParams.get('error'), 'consent_required');
  });

  test('a client without rotation keeps its refresh token; one without refresh gets none', async () => {
    const noRotation = await exchange(await authorize(browser, { clientId: 'ngx-oidc-demo-no-rotation' }));
    const again = await refresh('ngx-oidc-demo-no-rotation', noRotation.refresh_token);
    assert.ok(again.refresh_token === noRotation.refresh_token, 'the refresh token stays the same');
    await refresh('ngx-oidc-demo-no-rotation', noRotation.refresh_token);

    const noRefresh = await exchange(await authorize(browser, { clientId: 'ngx-oidc-demo-no-refresh' }));
    assert.equal(noRefresh.refresh_token, undefined);
  });

  test('revoke-access-tokens keeps refresh tokens working; ttl config applies to new tokens', async () => {
    const flow = await authorize(browser);
    assert.deepEqual(flow.pages.map((p) => p.fields.prompt), ['consent'], 'logged in, consent again');
    tokens = await exchange(flow);
    assert.equal((await callApi(tokens.access_token)).status, 200);

    assert.ok((await hook('revoke-access-tokens', {})).revokedAccessTokens >= 1);
    assert.equal((await callApi(tokens.access_token)).status, 401);

    await hook('config', { accessTokenTtl: 7 });
    tokens = await refresh('ngx-oidc-demo', tokens.refresh_token);
    assert.equal(tokens.expires_in, 7);
    assert.equal((await callApi(tokens.access_token)).status, 200);
    assert.equal((await hook('config', { reset: true })).accessTokenTtl, 300);
  });

  test('outage hook: 503 with CORS, dropped connections, then recovery', async () => {
    await hook('outage', { endpoints: ['token', 'userinfo'], durationMs: 20_000, mode: '503' });
    const down = await fetch(as.token_endpoint, {
      method: 'POST',
      headers: { Origin: APP, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'ngx-oidc-demo' }),
    });
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('access-control-allow-origin'), APP);
    const preflight = await fetch(as.userinfo_endpoint, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    assert.equal(preflight.status, 204, 'preflights pass so the browser sees the 503');
    await fetch(`${env.issuer}/__test/outage`, { method: 'DELETE' });
    tokens = await refresh('ngx-oidc-demo', tokens.refresh_token);

    await hook('outage', { endpoints: ['token'], durationMs: 300, mode: 'reset' });
    await assert.rejects(refresh('ngx-oidc-demo', tokens.refresh_token), TypeError);
    await new Promise((resolve) => setTimeout(resolve, 350));
    tokens = await refresh('ngx-oidc-demo', tokens.refresh_token);

    await hook('outage', { endpoints: ['introspection'], durationMs: 20_000 });
    assert.equal((await callApi(tokens.access_token)).status, 503, 'the API reports the OP as unreachable');
    await fetch(`${env.issuer}/__test/outage`, { method: 'DELETE' });
    assert.equal((await hook('counters')).outageRejected, 3);
  });

  test('tamper hooks: state, iss, nonce, userinfo sub', async () => {
    await hook('tamper', { what: 'state' });
    const stateFlow = await authorize(browser, { extra: { prompt: 'none' } });
    assert.ok(stateFlow.callback.searchParams.get('code'));
    assert.notEqual(stateFlow.callback.searchParams.get('state'), stateFlow.state);
    assert.equal(stateFlow.callback.searchParams.get('iss'), env.issuer);

    await hook('tamper', { what: 'iss' });
    const issFlow = await authorize(browser, { extra: { prompt: 'none' } });
    assert.equal(issFlow.callback.searchParams.get('state'), issFlow.state);
    assert.notEqual(issFlow.callback.searchParams.get('iss'), env.issuer);
    assert.throws(() => oauth.validateAuthResponse(as, { client_id: 'ngx-oidc-demo' }, issFlow.callback, issFlow.state));

    await hook('tamper', { what: 'nonce' });
    const nonceFlow = await authorize(browser, { extra: { prompt: 'none' } });
    await assert.rejects(exchange(nonceFlow), /nonce/);

    await hook('tamper', { what: 'userinfo-sub' });
    const response = await oauth.userInfoRequest(as, { client_id: 'ngx-oidc-demo' }, tokens.access_token, insecure);
    await assert.rejects(
      oauth.processUserInfoResponse(as, { client_id: 'ngx-oidc-demo' }, 'alice', response),
      /sub/,
    );
    assert.deepEqual(await hook('tamper'), { pending: [] }, 'tampers are one-shot');

    // Also when the response comes from the resume route after the login and consent pages.
    await hook('tamper', { what: 'state' });
    const interactive = await authorize(new Browser(), { login: 'bob' });
    assert.equal(interactive.pages.length, 2);
    assert.notEqual(interactive.callback.searchParams.get('state'), interactive.state);
    const untampered = await authorize(browser, { extra: { prompt: 'none' } });
    assert.equal(untampered.callback.searchParams.get('state'), untampered.state);
  });

  test('revoke-grants invalidates refresh and access tokens', async () => {
    tokens = await exchange(await authorize(browser, { extra: { prompt: 'none' } }));
    const result = await hook('revoke-grants', {});
    assert.ok(result.revokedGrants >= 1);
    await rejectsWith(refresh('ngx-oidc-demo', tokens.refresh_token), 'invalid_grant');
    assert.equal((await callApi(tokens.access_token)).status, 401);
  });

  test('end-sessions: prompt=none then needs a login, grants survive', async () => {
    tokens = await exchange(await authorize(browser));
    assert.ok((await hook('end-sessions', {})).endedSessions >= 1);
    const silent = await authorize(browser, { extra: { prompt: 'none' } });
    assert.equal(silent.callback.searchParams.get('error'), 'login_required');
    assert.equal(silent.callback.searchParams.get('state'), silent.state);
    tokens = await refresh('ngx-oidc-demo', tokens.refresh_token);
  });

  const endSessionUrl = (idToken) => {
    const url = new URL(as.end_session_endpoint);
    url.search = new URLSearchParams({
      id_token_hint: idToken,
      post_logout_redirect_uri: REDIRECT_URI,
      state: 'bye',
    }).toString();
    return url.href;
  };

  test('RP-initiated logout, declined: only that client is signed out', async () => {
    const other = await exchange(await authorize(browser, { clientId: 'ngx-oidc-demo-no-rotation' }));
    tokens = await exchange(await authorize(browser));
    await hook('counters/reset', {});
    const page = await browser.request(endSessionUrl(tokens.id_token));
    const { action, fields } = parseForm(await page.text(), as.end_session_endpoint);
    const done = await browser.post(action, fields);
    assert.equal(done.status, 303);
    assert.equal((await hook('counters')).endSessionDeclined, 1);
    await rejectsWith(refresh('ngx-oidc-demo', tokens.refresh_token), 'invalid_grant');
    await refresh('ngx-oidc-demo-no-rotation', other.refresh_token);
    const silent = await authorize(browser, { clientId: 'ngx-oidc-demo-no-rotation', extra: { prompt: 'none' } });
    assert.ok(silent.callback.searchParams.get('code'), 'the OP session is still there');
  });

  test('RP-initiated logout shows a confirmation form and ends the session', async () => {
    tokens = await exchange(await authorize(browser));
    await hook('counters/reset', {});
    const endSession = new URL(endSessionUrl(tokens.id_token));
    const page = await browser.request(endSession.href);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<form id="op\.logoutForm"/);
    assert.match(html, /name="logout" value="yes"|value="yes" name="logout"/);
    const { action, fields } = parseForm(html, endSession.href);
    const done = await browser.post(action, { ...fields, logout: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), `${REDIRECT_URI}?state=bye`);

    const counters = await hook('counters');
    assert.equal(counters.endSession, 1);
    assert.equal(counters.endSessionConfirmed, 1);
    await rejectsWith(refresh('ngx-oidc-demo', tokens.refresh_token), 'invalid_grant');
    const silent = await authorize(browser, { extra: { prompt: 'none' } });
    assert.equal(silent.callback.searchParams.get('error'), 'login_required');
  });

  test('counters count what the app did', async () => {
    await hook('counters/reset', {});
    tokens = await exchange(await authorize(browser));
    await exchange(await authorize(browser, { extra: { prompt: 'none' } }));
    tokens = await refresh('ngx-oidc-demo', tokens.refresh_token);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, { client_id: 'ngx-oidc-demo' }, oauth.None(), tokens.refresh_token, insecure),
    );
    await rejectsWith(refresh('ngx-oidc-demo', tokens.refresh_token), 'invalid_grant');
    await oauth.userInfoRequest(as, { client_id: 'ngx-oidc-demo' }, tokens.access_token, insecure);
    await callApi(tokens.access_token);
    await fetch(as.jwks_uri);
    await fetch(`${env.issuer}/.well-known/openid-configuration`);
    assert.deepEqual(await hook('counters'), {
      authorize: 2,
      authorizeNone: 1,
      tokenAuthorizationCode: 2,
      tokenRefresh: 2,
      tokenRefreshFailed: 1,
      refreshTokenReuse: 0,
      revocation: 1,
      endSession: 0,
      endSessionConfirmed: 0,
      endSessionDeclined: 0,
      userinfo: 1,
      discovery: 1,
      jwks: 1,
      introspection: 1,
      par: 0,
      outageRejected: 0,
      tokenAuthorizationCodeWithDPoP: 0,
      tokenRefreshWithDPoP: 0,
      tokenDPoPNonceChallenges: 0,
    });
  });

  test('issuer quirk tenant-template (Entra ID): templated and tenant discovery, tenant A\'s ID tokens and iss, tenant tampers', async () => {
    await hook('reset', {});
    await hook('quirks', { issuer: 'tenant-template' });
    const tenantIssuer = (tid) => `${env.issuer}/${tid}/v2.0`;
    const discover = (prefix) => fetch(`${env.issuer}${prefix}/.well-known/openid-configuration`, { headers: { Origin: APP } });
    const templated = await discover('/organizations/v2.0');
    assert.equal(templated.headers.get('access-control-allow-origin'), APP);
    const templatedAs = await templated.json();
    assert.equal(templatedAs.issuer, `${env.issuer}/{tenantid}/v2.0`);
    assert.equal(templatedAs.token_endpoint, as.token_endpoint);
    assert.equal((await (await discover('/common/v2.0')).json()).issuer, `${env.issuer}/{tenantid}/v2.0`);
    assert.equal((await (await discover(`/${ENTRA_TENANTS.a}/v2.0`)).json()).issuer, tenantIssuer(ENTRA_TENANTS.a));
    assert.equal((await (await discover('')).json()).issuer, env.issuer, "the OP's own discovery is unchanged");

    const flow = await authorize(new Browser());
    assert.equal(flow.callback.searchParams.get('iss'), tenantIssuer(ENTRA_TENANTS.a));
    // Tenant A's issuer is what oauth4webapi must find in the ID token, signed with a published key.
    const tenantAs = { ...as, issuer: tenantIssuer(ENTRA_TENANTS.a) };
    const client = { client_id: flow.clientId };
    const params = oauth.validateAuthResponse(tenantAs, client, flow.callback, flow.state);
    const response = await oauth.authorizationCodeGrantRequest(tenantAs, client, oauth.None(), params, REDIRECT_URI, flow.verifier, insecure);
    const result = await oauth.processAuthorizationCodeResponse(tenantAs, client, response, { expectedNonce: flow.nonce, requireIdToken: true });
    await oauth.validateApplicationLevelSignature(tenantAs, response, insecure);
    assert.equal(oauth.getValidatedIdTokenClaims(result).tid, ENTRA_TENANTS.a);

    const claimsOf = (tokens) => JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
    const tampered = [
      ['tid-other-tenant', ENTRA_TENANTS.b, tenantIssuer(ENTRA_TENANTS.a)],
      ['tid-common', 'common', tenantIssuer('common')],
      ['tid-upper-case', ENTRA_TENANTS.a.toUpperCase(), tenantIssuer(ENTRA_TENANTS.a.toUpperCase())],
      ['tenant-b', ENTRA_TENANTS.b, tenantIssuer(ENTRA_TENANTS.b)],
      ['iss-other-host', ENTRA_TENANTS.a, tenantIssuer(ENTRA_TENANTS.a).replace('localhost', '127.0.0.1')],
    ];
    let refreshToken = result.refresh_token;
    for (const [what, tid, iss] of tampered) {
      await hook('tenant-tamper', { what });
      // Read raw: the tampered claims are what a client must refuse.
      const raw = await (await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure)).json();
      refreshToken = raw.refresh_token;
      assert.deepEqual([claimsOf(raw).tid, claimsOf(raw).iss], [tid, iss], what);
    }
    const untampered = await (await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure)).json();
    assert.deepEqual([claimsOf(untampered).tid, claimsOf(untampered).iss], [ENTRA_TENANTS.a, tenantIssuer(ENTRA_TENANTS.a)], 'tampers are one-shot');

    await hook('tenant-tamper', { what: 'response-iss-tenant-b' });
    assert.equal((await authorize(new Browser())).callback.searchParams.get('iss'), tenantIssuer(ENTRA_TENANTS.b));
    const unknown = await fetch(`${env.issuer}/__test/tenant-tamper`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ what: 'tid' }) });
    assert.equal(unknown.status, 400);

    await hook('reset', {});
    assert.equal((await discover('/organizations/v2.0')).status, 404, 'the tenant paths exist only in the quirk');
  });

  test('issuer quirk trailing-slash: discovery at /realms/dev names the issuer with a slash', async () => {
    await hook('reset', {});
    await hook('quirks', { issuer: 'trailing-slash' });
    const discovered = await (await fetch(`${env.issuer}/realms/dev/.well-known/openid-configuration`)).json();
    assert.equal(discovered.issuer, `${env.issuer}/realms/dev/`);
    await hook('reset', {});
  });

  test('quirks revocation absent and spaRefreshLifetime (Entra ID single tenant): no revocation endpoint; a fixed refresh token life that rotation does not extend', async () => {
    await hook('reset', {});
    const setQuirk = (body) => fetch(`${env.issuer}/__test/quirks`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    for (const bad of [{ revocation: 'cors' }, { spaRefreshLifetime: 0 }, { spaRefreshLifetime: '60' }, { issuer: 'proxy' }]) {
      assert.equal((await setQuirk(bad)).status, 400, JSON.stringify(bad));
    }
    assert.deepEqual(await hook('quirks', { revocation: 'absent', spaRefreshLifetime: 120 }), { ...(await hook('quirks')), revocation: 'absent', spaRefreshLifetime: 120 });
    const discovered = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(discovered.revocation_endpoint, undefined);
    assert.equal((await fetch(as.revocation_endpoint, { method: 'POST', headers: { Origin: APP } })).status, 404);

    const introspect = async (token) =>
      (
        await fetch(as.introspection_endpoint, {
          method: 'POST',
          headers: { Authorization: `Basic ${Buffer.from('demo-api:demo-api-secret').toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }),
        })
      ).json();
    const first = await exchange(await authorize(new Browser()));
    const before = await introspect(first.refresh_token);
    assert.equal(before.exp - before.iat, 120);
    // The OP counts lifetimes in whole seconds: the refresh must come in a later second than the
    // sign-in, or a sliding life would give the same exp. No event marks that; the OP's clock decides.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 50));
    const rotated = await refresh('ngx-oidc-demo', first.refresh_token);
    const after = await introspect(rotated.refresh_token);
    assert.ok(after.iat > before.iat, 'a new refresh token');
    assert.equal(after.exp, before.exp, 'the same end of life: not extended by the refresh');
    await hook('reset', {});
    assert.equal((await fetch(`${env.issuer}/.well-known/openid-configuration`).then((r) => r.json())).revocation_endpoint, as.revocation_endpoint);
  });

  test('pushed authorization requests: offered, CORS for the app, recorded per client, and switchable', async () => {
    await hook('reset', {});
    assert.equal(as.pushed_authorization_request_endpoint, `${env.issuer}/request`);
    const preflight = await fetch(as.pushed_authorization_request_endpoint, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), APP);
    const signedIn = await authorize(browser, { pushed: true });
    await exchange(signedIn);
    const silent = await authorize(browser, { pushed: true, extra: { prompt: 'none' } });
    assert.ok(silent.callback.searchParams.get('code'), 'prompt=none through PAR signs in from the OP session');
    const log = await hook('authorization-requests');
    assert.deepEqual(log.pushed.map(({ clientId, prompt }) => [clientId, prompt]), [['ngx-oidc-demo', null], ['ngx-oidc-demo', 'none']]);
    assert.ok(log.pushed[0].params.includes('code_challenge'));
    assert.deepEqual(log.authorize.at(-1), { clientId: 'ngx-oidc-demo', params: ['client_id', 'request_uri'], pushed: true, prompt: 'none' });
    const counters = await hook('counters');
    assert.equal(counters.par, 2);
    assert.equal(counters.authorizeNone, 1, 'the pushed prompt counts at the authorization endpoint');

    await hook('quirks', { par: 'off' });
    const hidden = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(hidden.pushed_authorization_request_endpoint, undefined);
    await assert.rejects(authorize(browser, { pushed: true }));
    await hook('quirks', { par: 'required' });
    const required = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(required.require_pushed_authorization_requests, true);
    await assert.rejects(authorize(browser), /unexpected 400/);
    assert.ok((await authorize(browser, { pushed: true })).callback.searchParams.get('code'));
    await hook('reset', {});
    assert.equal((await hook('quirks')).par, 'offered');
  });

  test('the look-alike API records whether a token leaked to it', async () => {
    const lookalike = env.lookalikeUrl;
    assert.ok(lookalike.startsWith(env.apiUrl), 'shares the API origin as a string prefix');
    await fetch(`${lookalike}/__test/lookalike-log/reset`, { method: 'POST' });
    const plain = await fetch(`${lookalike}/api/hello`, { headers: { Origin: APP } });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('access-control-allow-origin'), APP);
    await fetch(`${lookalike}/api/hello`, { headers: { Authorization: 'Bearer leaked' } });
    const log = await (await fetch(`${lookalike}/__test/lookalike-log`)).json();
    assert.equal(log.requests, 2);
    assert.equal(log.withAuthorization, 1);
    assert.ok(!JSON.stringify(log).includes('leaked'));
  });
});

describe('dev OP in normal mode', () => {
  let plain;
  before(async () => {
    plain = await startDevEnvironment({ port: 4420, apiPort: 4520, lookalikePort: 45201, env: {} });
  });
  after(() => plain?.close());

  test('has no test hooks and no look-alike API', async () => {
    assert.equal(plain.lookalikeUrl, undefined);
    assert.equal((await fetch(`${plain.issuer}/__test/counters`)).status, 404);
    assert.equal((await fetch(`${plain.issuer}/__test/revoke-grants`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${plain.apiUrl}/__test/api-log`)).status, 404);
    await assert.rejects(fetch('http://localhost:45201/__test/lookalike-log'));
    assert.equal((await fetch(`${plain.issuer}/.well-known/openid-configuration`)).status, 200);
  });

  test('a port in use is reported clearly', async () => {
    await assert.rejects(
      startDevEnvironment({ port: 4420, apiPort: 4521, env: {} }),
      (error) => error.code === 'EADDRINUSE' && /4420.*another dev OP/.test(error.message),
    );
  });
});

describe('dev OP config', () => {
  test('an app served under a base path is named with it: CORS for its origin, redirects under the path', () => {
    const config = resolveConfig({ appOrigins: ['http://localhost:4200', 'http://localhost:4802/app/', 'http://localhost:4802'] }, {});
    assert.deepEqual(config.appOrigins, ['http://localhost:4200', 'http://localhost:4802']);
    assert.deepEqual(config.appUrls, ['http://localhost:4200', 'http://localhost:4802/app', 'http://localhost:4802']);
    assert.deepEqual(redirectUrisFor(config.appUrls[1]), ['http://localhost:4802/app/', 'http://localhost:4802/app/silent-renew.html']);
    assert.deepEqual(redirectUrisFor(config.appUrls[1], '?op=partner'), ['http://localhost:4802/app/?op=partner', 'http://localhost:4802/app/silent-renew.html?op=partner']);
    assert.throws(() => resolveConfig({ appOrigins: ['http://localhost:4802/app/?x=1'] }, {}), /base path/);
  });
});

describe('DPoP (RFC 9449) at the dev OP and the demo API', () => {
  const browser = new Browser();
  const client = { client_id: 'ngx-oidc-demo' };
  /**
   * The API's nonces by origin, put into proofs through the handle's public modifyAssertion
   * option (the handle keeps the OP's nonces itself, from the token endpoint's answers).
   */
  const apiNonces = new Map();
  /** Per-proof changes for the negative cases: `typ`, and payload members to overwrite. */
  let tweak = {};
  let keyA;
  let keyB;
  let tokens;

  async function newKey() {
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const handle = oauth.DPoP(client, keyPair, {
      [oauth.modifyAssertion]: (header, payload) => {
        header.typ = tweak.typ ?? 'dpop+jwt'; // the handle reuses its header object for every proof
        const nonce = apiNonces.get(new URL(payload.htu).origin);
        if (nonce) payload.nonce = nonce;
        Object.assign(payload, tweak.payload);
      },
    });
    return { handle, jkt: await handle.calculateThumbprint() };
  }

  /** A proof from oauth4webapi's public contract, captured instead of sent. */
  async function proofOf(key, method, url, accessToken) {
    let proof;
    await oauth.protectedResourceRequest(accessToken, method, new URL(url), new Headers(), null, {
      ...insecure,
      DPoP: key.handle,
      [oauth.customFetch]: async (_url, init) => {
        proof = new Headers(init.headers).get('dpop');
        return new Response(null, { status: 204 });
      },
    });
    return proof;
  }

  async function callApiWithDPoP(key, accessToken, { path = '/api/hello', method = 'GET', proof, proofUrl, proofMethod } = {}) {
    const url = `${env.apiUrl}${path}`;
    const dpop = proof ?? (await proofOf(key, proofMethod ?? method, proofUrl ?? url, accessToken));
    const response = await fetch(url, { method, headers: { Origin: APP, Authorization: `DPoP ${accessToken}`, DPoP: dpop } });
    const nonce = response.headers.get('dpop-nonce');
    if (nonce) apiNonces.set(new URL(url).origin, nonce);
    return response;
  }

  /** A proof signed here with jose, for the headers oauth4webapi would never make. */
  async function craftedProof(header, key, accessToken) {
    const payload = {
      htm: 'GET',
      htu: `${env.apiUrl}/api/hello`,
      iat: Math.floor(Date.now() / 1000),
      jti: crypto.randomUUID(),
      ath: createHash('sha256').update(accessToken).digest('base64url'),
      nonce: apiNonces.get(env.apiUrl),
    };
    return new SignJWT(payload).setProtectedHeader({ typ: 'dpop+jwt', ...header }).sign(key);
  }

  /** Two DPoP header lines (fetch would fold them into one value). */
  const withTwoProofHeaders = (accessToken, proofs) => new Promise((resolve, reject) => {
    const url = new URL(`${env.apiUrl}/api/hello`);
    httpRequest(url, { headers: { Authorization: `DPoP ${accessToken}`, DPoP: proofs } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    }).on('error', reject).end();
  });

  const apiLog = async () => (await fetch(`${env.apiUrl}/__test/api-log`)).json();
  const lastApiEntry = async () => (await apiLog()).at(-1);
  const dpopLog = () => hook('dpop-log');

  /** One retry with the nonce the handle took from the OP's use_dpop_nonce answer (RFC 9449 8). */
  const withNonceRetry = (grant) => grant().catch((error) => {
    if (oauth.isDPoPNonceError(error)) return grant();
    throw error;
  });

  function exchangeWithDPoP(flow, key) {
    const params = oauth.validateAuthResponse(as, client, flow.callback, flow.state);
    return withNonceRetry(async () => oauth.processAuthorizationCodeResponse(as, client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, flow.verifier, { ...insecure, DPoP: key?.handle, headers: { Origin: APP } }),
      { expectedNonce: flow.nonce, requireIdToken: true }));
  }

  const refreshWithDPoP = (refreshToken, key) => withNonceRetry(async () => oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...insecure, DPoP: key?.handle })));

  before(async () => {
    env = await startDevEnvironment({ port: 4440, apiPort: 4540, lookalikePort: 45401, testMode: true, env: {} });
    const issuer = new URL(env.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
    keyA = await newKey();
    keyB = await newKey();
  });
  after(() => env?.close());

  test('discovery offers DPoP; the DPoP header passes CORS preflight at the token, PAR and userinfo endpoints and the API', async () => {
    assert.ok(as.dpop_signing_alg_values_supported.includes('ES256'));
    for (const url of [as.token_endpoint, as.pushed_authorization_request_endpoint, as.userinfo_endpoint, `${env.apiUrl}/api/hello`]) {
      const preflight = await fetch(url, {
        method: 'OPTIONS',
        headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,dpop' },
      });
      assert.ok(preflight.status === 204, `${url}: ${preflight.status}`);
      assert.equal(preflight.headers.get('access-control-allow-origin'), APP, url);
      assert.match(preflight.headers.get('access-control-allow-headers'), /\bdpop\b/i, url);
    }
  });

  test('a code grant with a proof but without the OP nonce gets 400 use_dpop_nonce with a readable DPoP-Nonce; with it, a DPoP token', async () => {
    await hook('reset', {});
    const flow = await authorize(browser, { extra: { dpop_jkt: keyA.jkt } });
    const params = oauth.validateAuthResponse(as, client, flow.callback, flow.state);
    const first = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, flow.verifier, { ...insecure, DPoP: keyA.handle, headers: { Origin: APP } });
    assert.equal(first.status, 400);
    assert.equal((await first.clone().json()).error, 'use_dpop_nonce');
    assert.ok(first.headers.get('dpop-nonce'), 'a DPoP-Nonce header');
    assert.match(first.headers.get('access-control-expose-headers'), /\bDPoP-Nonce\b/, 'the browser may read it');
    assert.equal(first.headers.get('access-control-allow-origin'), APP);

    tokens = await exchangeWithDPoP(flow, keyA);
    assert.equal(tokens.token_type, 'dpop');
    assert.ok(tokens.refresh_token);
    const counters = await hook('counters');
    assert.equal(counters.tokenDPoPNonceChallenges, 1);
    assert.equal(counters.tokenAuthorizationCodeWithDPoP, 2);
    assert.deepEqual((await dpopLog()).map(({ endpoint, grantType, hadProof, status, error, nonceChallenged, tokenType }) =>
      [endpoint, grantType, hadProof, status, error, nonceChallenged, tokenType]), [
      ['token', 'authorization_code', true, 400, 'use_dpop_nonce', true, null],
      ['token', 'authorization_code', true, 200, null, false, 'DPoP'],
    ]);
    const introspection = await fetch(as.introspection_endpoint, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('demo-api:demo-api-secret').toString('base64')}` },
      body: new URLSearchParams({ token: tokens.access_token }),
    }).then((response) => response.json());
    assert.equal(introspection.token_type, 'DPoP');
    assert.equal(introspection.cnf.jkt, keyA.jkt);
  });

  test('the API challenges a proof without its nonce (401 use_dpop_nonce, DPoP-Nonce), then answers 200', async () => {
    await fetch(`${env.apiUrl}/__test/api-log/reset`, { method: 'POST' });
    const challenged = await callApiWithDPoP(keyA, tokens.access_token);
    assert.equal(challenged.status, 401);
    assert.match(challenged.headers.get('www-authenticate'), /^DPoP algs="[^"]*ES256[^"]*", error="use_dpop_nonce", error_description="[^"]+"$/);
    assert.ok(challenged.headers.get('dpop-nonce'));
    assert.equal(challenged.headers.get('access-control-expose-headers'), 'WWW-Authenticate, DPoP-Nonce');
    const ok = await callApiWithDPoP(keyA, tokens.access_token);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).sub, 'alice');
    assert.ok(ok.headers.get('dpop-nonce'), 'every DPoP answer carries the current nonce');
    const log = await apiLog();
    assert.deepEqual(log.map(({ scheme, hadDPoPProof, dpop, status, clientId }) => [scheme, hadDPoPProof, dpop, status, clientId ?? null]), [
      ['DPoP', true, 'use_dpop_nonce', 401, null],
      ['DPoP', true, 'ok', 200, 'ngx-oidc-demo'],
    ]);
    assert.ok(!JSON.stringify(log).includes(tokens.access_token.slice(0, 12)), 'never a token in the log');
  });

  test('the DPoP-bound token replayed as a bearer token, or with a proof from another key, gets 401 invalid_token', async () => {
    const asBearer = await callApi(tokens.access_token);
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate'), /^DPoP .*error="invalid_token"/);
    assert.equal((await lastApiEntry()).dpop, 'bound-token-as-bearer');

    const otherKey = await callApiWithDPoP(keyB, tokens.access_token);
    assert.equal(otherKey.status, 401);
    assert.match(otherKey.headers.get('www-authenticate'), /error="invalid_token"/);
    assert.equal((await lastApiEntry()).dpop, 'cnf-jkt');
  });

  test('the API records a jti only for a proof it accepted: a refused token or key leaves nothing to replay', async () => {
    const url = `${env.apiUrl}/api/hello`;
    // A proof of a key the token is not bound to: refused for the binding, each time it comes.
    const otherKeys = await proofOf(keyB, 'GET', url, tokens.access_token);
    for (const attempt of [1, 2]) {
      assert.equal((await callApiWithDPoP(keyB, tokens.access_token, { proof: otherKeys })).status, 401, `attempt ${attempt}`);
      assert.equal((await lastApiEntry()).dpop, 'cnf-jkt', `attempt ${attempt}`);
    }
    // Anyone's own key and a token the OP does not know: refused for the token, each time.
    const unknownToken = 'not-a-token-the-op-issued';
    const ownKeys = await proofOf(keyB, 'GET', url, unknownToken);
    for (const attempt of [1, 2]) {
      assert.equal((await callApiWithDPoP(keyB, unknownToken, { proof: ownKeys })).status, 401, `attempt ${attempt}`);
      assert.equal((await lastApiEntry()).dpop, 'token', `attempt ${attempt}`);
    }
    // An accepted proof is recorded: its second use is a replay.
    const proof = await proofOf(keyA, 'GET', url, tokens.access_token);
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token, { proof })).status, 200);
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token, { proof })).status, 401);
    assert.equal((await lastApiEntry()).dpop, 'jti-replay');
  });

  test('the API refuses a replayed jti, a wrong htm or htu, an iat out of the window, a wrong ath or typ, and several proofs', async () => {
    const url = `${env.apiUrl}/api/hello`;
    const proof = await proofOf(keyA, 'GET', url, tokens.access_token);
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token, { proof })).status, 200);
    const cases = [
      ['jti-replay', { proof }],
      ['htm', { proofMethod: 'POST' }],
      ['htu', { proofUrl: `${env.apiUrl}/api/profile` }],
      ['htu', { proofUrl: `${env.lookalikeUrl}/api/hello` }],
      ['iat', { tweak: { payload: { iat: Math.floor(Date.now() / 1000) - 120 } } }],
      ['iat', { tweak: { payload: { iat: Math.floor(Date.now() / 1000) + 120 } } }],
      ['ath', { tweak: { payload: { ath: 'x'.repeat(43) } } }],
      ['typ', { tweak: { typ: 'JWT' } }],
      ['proof-count', { proof: `${proof}, ${proof}` }],
      ['signature', { proof: `${proof.slice(0, -4)}AAAA` }],
    ];
    for (const [check, options] of cases) {
      tweak = options.tweak ?? {};
      try {
        const response = await callApiWithDPoP(keyA, tokens.access_token, options);
        assert.equal(response.status, 401, check);
        assert.match(response.headers.get('www-authenticate'), /^DPoP .*error="invalid_dpop_proof"/, check);
        assert.equal((await lastApiEntry()).dpop, check);
      } finally {
        tweak = {};
      }
    }
    assert.equal(await withTwoProofHeaders(tokens.access_token, [proof, await proofOf(keyA, 'GET', url, tokens.access_token)]), 401);
    assert.equal((await lastApiEntry()).dpop, 'proof-count');

    const secret = new Uint8Array(32).fill(7);
    const symmetric = await craftedProof({ alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } }, secret, tokens.access_token);
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token, { proof: symmetric })).status, 401);
    assert.equal((await lastApiEntry()).dpop, 'alg');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const withPrivateJwk = await craftedProof({ alg: 'ES256', jwk: await exportJWK(privateKey) }, privateKey, tokens.access_token);
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token, { proof: withPrivateJwk })).status, 401);
    assert.equal((await lastApiEntry()).dpop, 'jwk');
    // Still fine with a fresh proof.
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token)).status, 200);
  });

  test('the API nonce hooks: rotate makes the old nonce fail once; not required lets a proof without one through', async () => {
    assert.equal((await hook('dpop', { rotateApiNonce: true })).apiNonceRotations, 1);
    const stale = await callApiWithDPoP(keyA, tokens.access_token);
    assert.equal(stale.status, 401);
    assert.match(stale.headers.get('www-authenticate'), /error="use_dpop_nonce"/);
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token)).status, 200);

    await hook('dpop', { apiNonceRequired: false });
    apiNonces.clear();
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token)).status, 200);
    await hook('dpop', { apiNonceRequired: true });
    apiNonces.clear(); // the API sent its nonce on the answer above
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token)).status, 401, 'required again');
    assert.deepEqual(await hook('dpop'), { opNonceRequired: true, apiNonceRequired: true, apiNonceRotations: 1 });
    assert.equal((await callApiWithDPoP(keyA, tokens.access_token)).status, 200);
  });

  test('userinfo with a DPoP token needs a proof', async () => {
    const withoutProof = await fetch(as.userinfo_endpoint, { headers: { Authorization: `DPoP ${tokens.access_token}` } });
    assert.equal(withoutProof.status, 400);
    assert.equal((await withoutProof.json()).error, 'invalid_request');
    const asBearer = await fetch(as.userinfo_endpoint, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(asBearer.status, 401);
    const info = await withNonceRetry(async () => oauth.processUserInfoResponse(as, client, 'alice',
      await oauth.userInfoRequest(as, client, tokens.access_token, { ...insecure, DPoP: keyA.handle })));
    assert.equal(info.sub, 'alice');
  });

  test('the refresh token is bound to the key: another key or no proof is refused, the right key works, no reuse', async () => {
    await hook('counters/reset', {});
    await hook('dpop-log/reset', {});
    await rejectsWith(refreshWithDPoP(tokens.refresh_token, keyB), 'invalid_grant');
    await rejectsWith(refreshWithDPoP(tokens.refresh_token, undefined), 'invalid_grant');
    const rotated = await refreshWithDPoP(tokens.refresh_token, keyA);
    assert.equal(rotated.token_type, 'dpop');
    assert.ok(rotated.refresh_token !== tokens.refresh_token, 'rotated');
    assert.equal((await callApiWithDPoP(keyA, rotated.access_token)).status, 200);
    const counters = await hook('counters');
    assert.equal(counters.refreshTokenReuse, 0);
    // Key B first meets the OP's nonce challenge, then is refused; key A holds the nonce already.
    assert.equal(counters.tokenRefreshWithDPoP, 3, 'the keyless refresh carried no proof');
    assert.equal(counters.tokenRefresh, 4);
    assert.deepEqual((await dpopLog()).map(({ grantType, hadProof, status, error, tokenType }) => [grantType, hadProof, status, error, tokenType]), [
      ['refresh_token', true, 400, 'use_dpop_nonce', null],
      ['refresh_token', true, 400, 'invalid_grant', null],
      ['refresh_token', false, 400, 'invalid_grant', null],
      ['refresh_token', true, 200, null, 'DPoP'],
    ]);
    // Reusing the rotated-away refresh token, even with the right key, revokes the grant.
    await rejectsWith(refreshWithDPoP(tokens.refresh_token, keyA), 'invalid_grant');
    assert.equal((await hook('counters')).refreshTokenReuse, 1);
    await rejectsWith(refreshWithDPoP(rotated.refresh_token, keyA), 'invalid_grant');
  });

  test('dpop_jkt binds the code: an exchange with another key or without a proof is refused; a PAR proof binds it too', async () => {
    await hook('dpop-log/reset', {});
    await rejectsWith(exchangeWithDPoP(await authorize(browser, { extra: { dpop_jkt: keyA.jkt } }), keyB), 'invalid_grant');
    await rejectsWith(exchangeWithDPoP(await authorize(browser, { extra: { dpop_jkt: keyA.jkt } }), undefined), 'invalid_grant');
    // A silent (iframe) renewal: prompt=none with the session key's dpop_jkt binds its code too.
    await rejectsWith(exchangeWithDPoP(await authorize(browser, { extra: { prompt: 'none', dpop_jkt: keyA.jkt } }), keyB), 'invalid_grant');
    const silent = await exchangeWithDPoP(await authorize(browser, { extra: { prompt: 'none', dpop_jkt: keyA.jkt } }), keyA);
    assert.equal(silent.token_type, 'dpop');
    const authorizeLog = (await hook('authorization-requests')).authorize;
    assert.ok(authorizeLog.at(-1).params.includes('dpop_jkt'), 'the authorization log names dpop_jkt');
    assert.deepEqual((await dpopLog()).filter((entry) => entry.error === 'invalid_grant').length, 3);
    await rejectsWith(exchangeWithDPoP(await authorize(browser, { pushed: true, dpop: keyA.handle }), keyB), 'invalid_grant');
    const pushed = await exchangeWithDPoP(await authorize(browser, { pushed: true, dpop: keyA.handle }), keyA);
    assert.equal(pushed.token_type, 'dpop');
    const pars = (await dpopLog()).filter((entry) => entry.endpoint === 'par');
    // The handle already holds the OP's nonce (nonces are per origin): no challenge at PAR.
    assert.deepEqual(pars.map(({ hadProof, status, error }) => [hadProof, status, error]), [[true, 201, null], [true, 201, null]]);
  });

  test('bearer tokens keep working without DPoP; the OP nonce can be switched off', async () => {
    const bearer = await exchange(await authorize(browser));
    assert.equal(bearer.token_type, 'bearer');
    assert.equal((await callApi(bearer.access_token)).status, 200);
    assert.equal((await lastApiEntry()).scheme, 'Bearer');
    const unbound = await callApiWithDPoP(keyA, bearer.access_token);
    assert.equal(unbound.status, 401, 'a bearer token is not DPoP-bound');
    assert.equal((await lastApiEntry()).dpop, 'not-bound');

    await hook('dpop', { opNonceRequired: false });
    await hook('counters/reset', {});
    const fresh = await newKey();
    const noNonce = await exchangeWithDPoP(await authorize(browser, { extra: { dpop_jkt: fresh.jkt } }), fresh);
    assert.equal(noNonce.token_type, 'dpop');
    assert.equal((await hook('counters')).tokenDPoPNonceChallenges, 0);
    await hook('reset', {});
    assert.equal((await hook('dpop')).opNonceRequired, true);
  });
});

describe('the demo API\'s DPoP checks, with an injected clock', () => {
  const API = 'http://api.example.test';
  const ACCESS_TOKEN = 'at-for-the-clock-tests';
  const T0 = 1_900_000_000;
  let key;

  before(async () => {
    key = await generateKeyPair('ES256');
    key.jwk = await exportJWK(key.publicKey);
  });

  /** A valid proof for GET /api/hello with the given iat and jti. */
  const proofAt = (iat, jti = crypto.randomUUID()) =>
    new SignJWT({ htm: 'GET', htu: `${API}/api/hello`, iat, jti, ath: createHash('sha256').update(ACCESS_TOKEN).digest('base64url') })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
      .sign(key.privateKey);
  const noNonce = { required: false, accepts: () => true };
  const check = (proof, replay, now) => checkProof({ proofs: [proof], method: 'GET', htu: `${API}/api/hello`, accessToken: ACCESS_TOKEN, nonce: noNonce, replay, now });
  const refusedFor = (name) => (error) => error instanceof DPoPCheckError && error.check === name;

  test('a proof dated at the edge of the window is refused as a replay for as long as its iat passes', async () => {
    const replay = createReplayCache();
    const proof = await proofAt(T0 + IAT_WINDOW_SECONDS); // dated a full window ahead: accepted at T0
    (await check(proof, replay, T0)).accept(T0);
    // Its iat still passes at T0 + 2 windows (|now - iat| == window): it must still be known.
    await assert.rejects(check(proof, replay, T0 + 2 * IAT_WINDOW_SECONDS), refusedFor('jti-replay'));
    // One second later its iat no longer passes: refused for that, and the jti can be forgotten.
    await assert.rejects(check(proof, replay, T0 + 2 * IAT_WINDOW_SECONDS + 1), refusedFor('iat'));
    assert.equal(replay.record('another', T0 + 2 * IAT_WINDOW_SECONDS + 1, T0 + 2 * IAT_WINDOW_SECONDS + 1), 'recorded');
    assert.equal(replay.size, 1, 'the passed jti is gone');
  });

  test('the replay cache is capped: full, it refuses new proofs until recorded ones pass their window', async () => {
    const replay = createReplayCache({ maxEntries: 2 });
    for (const jti of ['a', 'b']) (await check(await proofAt(T0, jti), replay, T0)).accept(T0);
    const third = await check(await proofAt(T0, 'c'), replay, T0);
    assert.throws(() => third.accept(T0), refusedFor('jti-cache-full'));
    assert.equal(replay.record('c', T0 + IAT_WINDOW_SECONDS, T0 + IAT_WINDOW_SECONDS + 1), 'recorded', 'a and b have passed');
    assert.equal(replay.record('c', T0 + IAT_WINDOW_SECONDS, T0 + IAT_WINDOW_SECONDS + 1), 'replayed');
  });

  test('outside test mode the API nonce rotates on a timer; the previous one is taken for the grace period only', (t) => {
    let now = T0 * 1000;
    t.mock.timers.enable({ apis: ['setInterval'] });
    const nonce = createApiNonce({ now: () => now });
    const stop = nonce.rotateEvery(API_NONCE_ROTATION_MS, API_NONCE_GRACE_MS);
    const first = nonce.value;
    now += API_NONCE_ROTATION_MS;
    t.mock.timers.tick(API_NONCE_ROTATION_MS);
    assert.notEqual(nonce.value, first, 'rotated');
    assert.ok(nonce.accepts(nonce.value) && nonce.accepts(first), 'both during the grace period');
    now += API_NONCE_GRACE_MS + 1;
    assert.ok(!nonce.accepts(first), 'the previous one after it');
    stop();
    // The test hook's rotation leaves no grace: a test sees exactly the challenge it caused.
    const beforeHook = nonce.value;
    nonce.rotate();
    assert.ok(!nonce.accepts(beforeHook) && !nonce.accepts(undefined));
  });

  test('the Bearer path refuses a token the OP introspects as token_type DPoP, even without cnf.jkt', async () => {
    // A stand-in OP whose introspection says DPoP but omits the binding: the fault under test.
    const op = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ active: true, token_type: 'DPoP', sub: 'alice', client_id: 'ngx-oidc-demo', scope: 'openid', exp: Math.floor(Date.now() / 1000) + 60 }));
    });
    const api = createServer(createApiHandler({ issuer: 'http://localhost:4551', partnerIssuer: 'http://localhost:4551', apiUrl: 'http://localhost:4552', appOrigins: [APP] }));
    await Promise.all([new Promise((resolve) => op.listen(4551, 'localhost', resolve)), new Promise((resolve) => api.listen(4552, 'localhost', resolve))]);
    try {
      const response = await fetch('http://localhost:4552/api/hello', { headers: { Authorization: 'Bearer some-dpop-token' } });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate'), /^DPoP .*error="invalid_token"/);
    } finally {
      await Promise.all([new Promise((resolve) => op.close(resolve)), new Promise((resolve) => api.close(resolve))]);
    }
  });
});

describe('provider quirks: refreshed ID tokens (Keycloak), revocation refused to a browser (Okta), a required client secret (Google)', () => {
  const browser = new Browser();
  const client = { client_id: 'ngx-oidc-demo' };
  const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  const kidOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()).kid;

  /** A refresh grant whose ID token signature is checked against the OP's JWKS, as the library does. */
  async function refreshChecked(refreshToken) {
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure);
    const result = await oauth.processRefreshTokenResponse(as, client, response);
    // A copy of the metadata has no cached key set (oauth4webapi keeps one per object): the JWKS as it is now.
    await oauth.validateApplicationLevelSignature({ ...as }, response, insecure);
    return result;
  }

  const revocationFromApp = (token) =>
    fetch(as.revocation_endpoint, {
      method: 'POST',
      headers: { Origin: APP, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'refresh_token', client_id: client.client_id }),
    });
  const usable = async () => (await hook('refresh-tokens')).usable[client.client_id] ?? 0;

  before(async () => {
    env = await startDevEnvironment({ port: 4470, apiPort: 4570, lookalikePort: 45701, testMode: true, env: {} });
    const issuer = new URL(env.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  after(() => env?.close());

  test('refreshIdToken: oidc-provider repeats the nonce and auth_time; omit-nonce, other-nonce and other-auth_time change them, signed with a published key', async () => {
    await hook('reset', {});
    // max_age makes oidc-provider put auth_time in the ID token (Keycloak always does).
    const flow = await authorize(browser, { extra: { max_age: '3600' } });
    let tokens = await exchange(flow);
    const original = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(original.nonce, flow.nonce);
    assert.equal(typeof original.auth_time, 'number');

    tokens = await refreshChecked(tokens.refresh_token);
    const repeated = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(repeated.nonce, flow.nonce, 'oidc-provider 9 repeats the original nonce (the default, repeat-nonce)');
    assert.equal(repeated.auth_time, original.auth_time);
    assert.equal(kidOf(tokens.id_token).startsWith('test-'), false, "signed with the provider's own key");

    await assert.rejects(hook('quirks', { refreshIdToken: 'nonce-please' }), /400/);
    await hook('quirks', { refreshIdToken: 'omit-nonce' });
    const jwks = await (await fetch(as.jwks_uri)).json();
    const published = jwks.keys.filter((key) => key.kid.startsWith('test-quirk-'));
    assert.equal(published.length, 1, 'the re-signing key is published as soon as the quirk is set');

    tokens = await refreshChecked(tokens.refresh_token);
    const omitted = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal('nonce' in omitted, false);
    assert.equal(omitted.auth_time, original.auth_time);
    assert.equal(kidOf(tokens.id_token), published[0].kid);

    await hook('quirks', { refreshIdToken: 'other-nonce' });
    tokens = await refreshChecked(tokens.refresh_token);
    const otherNonce = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(typeof otherNonce.nonce, 'string');
    assert.notEqual(otherNonce.nonce, flow.nonce);

    await hook('quirks', { refreshIdToken: 'other-auth_time' });
    tokens = await refreshChecked(tokens.refresh_token);
    const otherAuthTime = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(otherAuthTime.auth_time, original.auth_time - 3600);
    assert.equal(otherAuthTime.nonce, flow.nonce);
    assert.equal(claimsOf(tokens.id_token).sub, 'alice');

    // The code grant's ID token is never changed.
    const again = await exchange(await authorize(browser, { extra: { prompt: 'none' } }));
    assert.equal(kidOf(again.id_token).startsWith('test-'), false);
    await hook('reset', {});
    assert.equal((await hook('quirks')).refreshIdToken, 'repeat-nonce');
  });

  test("revocation: 'cors-blocked' refuses a browser's request (403, no CORS) and revokes nothing; the preflight passes; refresh-tokens counts what is still usable", async () => {
    await hook('reset', {});
    await hook('revoke-grants', {});
    assert.equal(await usable(), 0);
    let tokens = await exchange(await authorize(browser));
    assert.equal(await usable(), 1);
    tokens = await refresh(client.client_id, tokens.refresh_token);
    assert.equal(await usable(), 1, 'the rotated-out token no longer counts');

    await assert.rejects(hook('quirks', { revocation: 'maybe' }), /400/);
    await hook('quirks', { revocation: 'cors-blocked' });
    await hook('counters/reset', {});
    const preflight = await fetch(as.revocation_endpoint, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), APP, 'the preflight passes');
    const refused = await revocationFromApp(tokens.refresh_token);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null, 'a browser cannot read the answer');
    assert.equal((await hook('counters')).revocation, 1);
    assert.equal(await usable(), 1, 'nothing was revoked');
    tokens = await refresh(client.client_id, tokens.refresh_token);

    // A request without an Origin (a server's) is not refused: revocation itself works.
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), tokens.refresh_token, insecure));
    assert.equal(await usable(), 0);
    await rejectsWith(refresh(client.client_id, tokens.refresh_token), 'invalid_grant');

    await hook('reset', {});
    assert.equal((await hook('quirks')).revocation, 'ok');
    tokens = await exchange(await authorize(browser));
    const revoked = await revocationFromApp(tokens.refresh_token);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.headers.get('access-control-allow-origin'), APP);
    assert.equal(await usable(), 0);
  });

  test("tokenEndpointAuth: 'secret-required' answers a public client's code and refresh grants 400 invalid_request, readable by the app", async () => {
    await hook('reset', {});
    const before = await exchange(await authorize(browser));
    await assert.rejects(hook('quirks', { tokenEndpointAuth: 'secret' }), /400/);
    await hook('quirks', { tokenEndpointAuth: 'secret-required' });
    const flow = await authorize(browser, { extra: { prompt: 'none' } });
    await assert.rejects(exchange(flow), (error) => {
      assert.ok(error instanceof oauth.ResponseBodyError);
      assert.equal(error.status, 400);
      assert.equal(error.error, 'invalid_request');
      assert.equal(error.error_description, 'client_secret is missing.');
      return true;
    });
    await rejectsWith(refresh(client.client_id, before.refresh_token), 'invalid_request');
    const fromApp = await fetch(as.token_endpoint, {
      method: 'POST',
      headers: { Origin: APP, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.refresh_token, client_id: client.client_id }),
    });
    assert.equal(fromApp.status, 400);
    assert.equal(fromApp.headers.get('access-control-allow-origin'), APP);
    // A request with a secret reaches oidc-provider (which knows no secret for this public client).
    const withSecret = await fetch(as.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.refresh_token, client_id: client.client_id, client_secret: 'x' }),
    });
    assert.equal(withSecret.status, 401);
    assert.equal((await withSecret.json()).error, 'invalid_client');

    await hook('reset', {});
    assert.equal((await hook('quirks')).tokenEndpointAuth, 'none');
    await refresh(client.client_id, before.refresh_token);
  });

  test("idTokenIss: 'scheme-less' issues ID tokens whose iss has no scheme (Google's legacy accounts.google.com), signed with a published key; an exact iss check refuses them", async () => {
    await hook('reset', {});
    await assert.rejects(hook('quirks', { idTokenIss: 'host' }), /400/);
    await hook('quirks', { idTokenIss: 'scheme-less' });
    const flow = await authorize(browser, { extra: { prompt: 'none' } });
    const params = oauth.validateAuthResponse(as, client, flow.callback, flow.state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, flow.verifier, insecure);
    const body = await response.clone().json();
    assert.equal(claimsOf(body.id_token).iss, new URL(env.issuer).host);
    assert.ok(kidOf(body.id_token).startsWith('test-quirk-'));
    await assert.rejects(oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: flow.nonce, requireIdToken: true }), (error) => {
      assert.equal(error.code, oauth.JWT_CLAIM_COMPARISON);
      assert.equal(error.cause.claim, 'iss');
      return true;
    });
    await hook('reset', {});
    assert.equal((await hook('quirks')).idTokenIss, 'as-issued');
  });
});

describe('provider quirks: endSession (vendor logout routes) and audience (Auth0)', () => {
  const browser = new Browser();
  const RETURN_TO = `${APP}/`;

  before(async () => {
    env = await startDevEnvironment({ port: 4480, apiPort: 4580, lookalikePort: 45801, testMode: true, env: {} });
    const issuer = new URL(env.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  after(() => env?.close());

  const discovery = async () => (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
  const quirks = (settings) => hook('quirks', settings);
  /** Whether the browser's OP session still signs the user in without a prompt. */
  const opSessionAlive = async () => Boolean((await authorize(browser, { extra: { prompt: 'none' } })).callback.searchParams.get('code'));
  const jwtPayload = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

  /** Follows a vendor logout: the route's redirect, oidc-provider's page (auto-confirmed: its form is submitted as its script would), the confirm. */
  async function logoutThrough(url) {
    const first = await browser.request(url);
    assert.equal(first.status, 302, `${url} answered ${first.status}`);
    const endSession = new URL(first.headers.get('location'), url);
    assert.equal(endSession.pathname, '/session/end');
    const page = await browser.request(endSession.href);
    const html = await page.text();
    assert.match(html, /document\.getElementById\('op\.logoutForm'\)\.submit\(\)/, 'the page confirms by itself');
    assert.match(html, /name="logout" value="yes"/);
    const { action, fields } = parseForm(html, endSession.href);
    return browser.post(action, { ...fields, logout: 'yes' });
  }

  test('endSession modes shape discovery; unknown values are refused; reset restores rp-initiated', async () => {
    assert.equal((await discovery()).end_session_endpoint, `${env.issuer}/session/end`);
    for (const mode of ['absent', 'auth0-v2']) {
      await quirks({ endSession: mode });
      assert.equal((await discovery()).end_session_endpoint, undefined, mode);
    }
    await quirks({ endSession: 'cognito' });
    assert.equal((await discovery()).end_session_endpoint, `${env.issuer}/logout`);
    const refused = await fetch(`${env.issuer}/__test/quirks`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ endSession: 'auth0' }) });
    assert.equal(refused.status, 400);
    assert.equal((await fetch(`${env.issuer}/__test/quirks`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ audience: 'on' }) })).status, 400);
    await hook('reset', {});
    assert.deepEqual({ endSession: (await quirks()).endSession, audience: (await quirks()).audience }, { endSession: 'rp-initiated', audience: 'off' });
    assert.equal((await discovery()).end_session_endpoint, `${env.issuer}/session/end`);
    assert.equal((await fetch(`${env.issuer}/v2/logout?client_id=ngx-oidc-demo&returnTo=${encodeURIComponent(RETURN_TO)}`, { redirect: 'manual' })).status, 404, 'no vendor route outside its mode');
  });

  test('auth0-v2: /v2/logout checks client_id and returnTo, then ends the OP session for real and returns without state', async () => {
    await hook('reset', {});
    await quirks({ endSession: 'auth0-v2' });
    await exchange(await authorize(browser));
    const v2 = (params) => `${env.issuer}/v2/logout?${new URLSearchParams(params)}`;
    for (const params of [{ returnTo: RETURN_TO }, { client_id: 'nobody', returnTo: RETURN_TO }, { client_id: 'ngx-oidc-demo', returnTo: 'https://evil.example/' }, { client_id: 'ngx-oidc-demo' }]) {
      const page = await browser.request(v2(params));
      assert.equal(page.status, 400, JSON.stringify(params));
      assert.match(await page.text(), /Logout failed/);
    }
    assert.ok(await opSessionAlive(), 'a refused logout leaves the OP session');
    await hook('counters/reset', {});
    const done = await logoutThrough(v2({ client_id: 'ngx-oidc-demo', returnTo: RETURN_TO }));
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), RETURN_TO, 'back to returnTo, without state');
    assert.equal((await hook('counters')).endSessionConfirmed, 1);
    assert.equal(await opSessionAlive(), false, 'the OP session ended');
    const log = await hook('vendor-logout-requests');
    assert.deepEqual(log.at(-1), { path: '/v2/logout', params: ['client_id', 'returnTo'], status: 302 });
  });

  test('cognito: /logout takes client_id and logout_uri; RP-initiated parameters get a visible 400 page', async () => {
    await hook('reset', {});
    await quirks({ endSession: 'cognito' });
    const tokens = await exchange(await authorize(browser));
    const rpInitiated = new URL(`${env.issuer}/logout`);
    rpInitiated.search = new URLSearchParams({ client_id: 'ngx-oidc-demo', id_token_hint: tokens.id_token, post_logout_redirect_uri: RETURN_TO, state: 'bye' }).toString();
    const refused = await browser.request(rpInitiated.href);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /logout_uri is required \(post_logout_redirect_uri is not a parameter of this endpoint\)/);
    assert.ok(await opSessionAlive());
    const done = await logoutThrough(`${env.issuer}/logout?${new URLSearchParams({ client_id: 'ngx-oidc-demo', logout_uri: RETURN_TO })}`);
    assert.equal(done.headers.get('location'), RETURN_TO);
    assert.equal(await opSessionAlive(), false);
    assert.deepEqual((await hook('vendor-logout-requests')).map((entry) => entry.status), [400, 302]);
  });

  test('unrotatedRefreshToken omitted: a refresh that does not rotate answers without refresh_token; one that rotates still sends the new one', async () => {
    await hook('reset', {});
    const echoed = await exchange(await authorize(browser, { clientId: 'ngx-oidc-demo-no-rotation' }));
    assert.equal((await refresh('ngx-oidc-demo-no-rotation', echoed.refresh_token)).refresh_token, echoed.refresh_token, "oidc-provider's default: the same token again");
    await quirks({ unrotatedRefreshToken: 'omitted' });
    const first = await refresh('ngx-oidc-demo-no-rotation', echoed.refresh_token);
    assert.equal(first.refresh_token, undefined);
    assert.ok(first.access_token);
    assert.ok((await refresh('ngx-oidc-demo-no-rotation', echoed.refresh_token)).access_token, 'the one refresh token keeps working');
    const rotating = await exchange(await authorize(browser));
    const rotated = await refresh('ngx-oidc-demo', rotating.refresh_token);
    assert.ok(rotated.refresh_token && rotated.refresh_token !== rotating.refresh_token);
  });

  test('audience auth0: a JWT access token for the API (also after a refresh and through PAR); without audience an opaque one the API refuses', async () => {
    await hook('reset', {});
    const audience = env.apiUrl;
    // Off: the audience parameter means nothing; the opaque token works at the API through introspection.
    const plain = await exchange(await authorize(browser, { extra: { audience } }));
    assert.equal(plain.access_token.split('.').length, 1, 'opaque');
    assert.equal((await callApi(plain.access_token)).status, 200);

    await quirks({ audience: 'auth0' });
    await fetch(`${env.apiUrl}/__test/api-log/reset`, { method: 'POST' });
    for (const pushed of [false, true]) {
      const tokens = await exchange(await authorize(browser, { extra: { audience }, pushed }));
      assert.equal(jwtPayload(tokens.access_token).aud, audience, `pushed: ${pushed}`);
      assert.equal((await callApi(tokens.access_token)).status, 200);
      const refreshed = await refresh('ngx-oidc-demo', tokens.refresh_token);
      assert.equal(jwtPayload(refreshed.access_token).aud, audience, 'still for the API after a refresh');
      assert.equal((await callApi(refreshed.access_token)).status, 200);
    }
    const { pushed } = await hook('authorization-requests');
    assert.ok(pushed.at(-1).params.includes('audience'), 'the pushed request carried audience');
    const opaque = await exchange(await authorize(browser));
    assert.equal(opaque.access_token.split('.').length, 1);
    const refusedCall = await callApi(opaque.access_token);
    assert.equal(refusedCall.status, 401);
    assert.match(refusedCall.headers.get('www-authenticate'), /invalid_token/);
    // A JWT for the API signed by a key the OP does not publish is refused.
    const forged = (await exchange(await authorize(browser, { extra: { audience } }))).access_token.split('.');
    forged[2] = Buffer.from('not the signature').toString('base64url');
    assert.equal((await callApi(forged.join('.'))).status, 401);
    const log = await (await fetch(`${env.apiUrl}/__test/api-log`)).json();
    assert.deepEqual(log.map((entry) => [entry.status, entry.tokenFormat]), [[200, 'jwt'], [200, 'jwt'], [200, 'jwt'], [200, 'jwt'], [401, 'opaque'], [401, 'jwt']]);
  });
});

describe('Session Management and Front-Channel Logout at the dev OP (session-management.mjs)', () => {
  const cookieOf = (browser) => browser.cookies.get(browserStateCookie());
  const expectedState = (clientId, browserState, sessionState) => {
    const salt = sessionState.slice(sessionState.lastIndexOf('.') + 1);
    return computeSessionState(clientId, APP, browserState, salt);
  };
  /** The browser's logout at the OP: the end-session page, then "Yes, sign me out" (or "No"). */
  async function logout(browser, { yes = true } = {}) {
    const start = `${env.issuer}/session/end?client_id=ngx-oidc-demo-no-rotation`;
    const page = await browser.request(start);
    const { action, fields } = parseForm(await page.text(), start);
    return browser.post(action, yes ? { ...fields, logout: 'yes' } : fields);
  }

  before(async () => {
    env = await startDevEnvironment({ port: 4460, apiPort: 4560, lookalikePort: 45601, testMode: true, env: {} });
    const issuer = new URL(env.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  after(() => env?.close());

  test('discovery advertises the check_session iframe on the OP origin and front-channel logout; the quirk takes the iframe away until reset', async () => {
    await hook('reset', {});
    assert.equal(as.check_session_iframe, `${env.issuer}${CHECK_SESSION_PATH}`);
    assert.equal(as.frontchannel_logout_supported, true);
    assert.equal(as.frontchannel_logout_session_supported, true);
    const page = await fetch(as.check_session_iframe);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /html/);
    assert.match(await page.text(), /_browser_state/);
    await hook('quirks', { checkSessionIframe: false });
    const without = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(without.check_session_iframe, undefined);
    await assert.rejects(hook('quirks', { checkSessionIframe: 'no' }));
    await hook('reset', {});
    const again = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(again.check_session_iframe, `${env.issuer}${CHECK_SESSION_PATH}`);
  });

  test('session_state in every authorization response, computed from the browser-state cookie, the client and the RP origin', async () => {
    await hook('reset', {});
    const browser = new Browser();
    const flow = await authorize(browser);
    const browserState = cookieOf(browser);
    assert.ok(browserState, 'signed in: a browser state');
    const sessionState = flow.callback.searchParams.get('session_state');
    assert.ok(sessionState);
    assert.equal(sessionState, expectedState('ngx-oidc-demo', browserState, sessionState));
    // prompt=none in the same browser session: the same browser state.
    const silent = await authorize(browser, { extra: { prompt: 'none' } });
    assert.equal(cookieOf(browser), browserState);
    const silentState = silent.callback.searchParams.get('session_state');
    assert.equal(silentState, expectedState('ngx-oidc-demo', browserState, silentState));
    // An error response carries one too (no session: an empty browser state).
    const stranger = await authorize(new Browser(), { extra: { prompt: 'none' } });
    assert.equal(stranger.callback.searchParams.get('error'), 'login_required');
    const errorState = stranger.callback.searchParams.get('session_state');
    assert.equal(errorState, expectedState('ngx-oidc-demo', '', errorState));
  });

  test('the browser state is readable by script (not HttpOnly), SameSite=Lax, and changes at every sign-in and at logout', async () => {
    await hook('reset', {});
    const browser = new Browser();
    await authorize(browser);
    const first = cookieOf(browser);
    const response = await browser.request(`${env.issuer}/auth?${new URLSearchParams({ client_id: 'ngx-oidc-demo', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', state: 's', nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', prompt: 'none' })}`);
    const setCookie = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${browserStateCookie()}=`));
    assert.ok(setCookie);
    assert.doesNotMatch(setCookie, /httponly/i);
    assert.match(setCookie, /samesite=lax/i);
    // The same user signs in again (prompt=login): a new OP session, a new browser state.
    await authorize(browser, { extra: { prompt: 'login' } });
    const second = cookieOf(browser);
    assert.ok(second);
    assert.notEqual(second, first);
    // "No, stay signed in": still signed in, yet the session changed (oidc-provider gives it a new id).
    await logout(browser, { yes: false });
    assert.ok(cookieOf(browser));
    await logout(browser);
    assert.equal(cookieOf(browser), undefined, 'signed out: no browser state');
  });

  test('front-channel logout: sid in the ID token; with the quirk, a confirmed logout loads each client frontchannel_logout_uri with iss and sid, then goes on', async () => {
    await hook('reset', {});
    const browser = new Browser();
    const tokens = await exchange(await authorize(browser));
    const sid = oauth.getValidatedIdTokenClaims(tokens).sid;
    assert.ok(sid, 'the ID token names the session');
    // Without the quirk (test mode): the plain 303 of oidc-provider.
    assert.equal((await logout(browser)).status, 303);

    await hook('quirks', { frontchannelLogout: true });
    await exchange(await authorize(browser));
    const page = await logout(browser);
    assert.equal(page.status, 200);
    const html = await page.text();
    const src = /<iframe[^>]*src="([^"]+)"/.exec(html)?.[1].replaceAll('&#38;', '&');
    const frame = new URL(src);
    assert.equal(`${frame.origin}${frame.pathname}`, `${APP}/frontchannel-logout.html`);
    assert.equal(frame.searchParams.get('iss'), env.issuer);
    assert.ok(frame.searchParams.get('sid'));
    assert.match(html, /\/session\/end\/success/, 'then on to where oidc-provider was sending the browser');
    // "No, stay signed in" ends no session: no front-channel page.
    await authorize(browser);
    assert.equal((await logout(browser, { yes: false })).status, 303);
  });
});
