import { AuthHarness } from '../../testing/harness';
import { FakeReply } from '../../testing/fake-op';

/** Where a misbehaving OP (or something in front of it) redirects the library's requests. */
const SINK = 'https://elsewhere.example/sink';

async function signedIn(setUp?: (harness: AuthHarness) => void): Promise<AuthHarness> {
  const harness = await AuthHarness.create();
  setUp?.(harness);
  await harness.signIn();
  return harness;
}

const redirectTo = (status: number): FakeReply => ({ status, headers: { location: SINK } });
const toSink = (harness: AuthHarness) => harness.op.requests.filter((request) => request.url.startsWith('https://elsewhere.example'));

describe('Requests to the OP never follow redirects', () => {
  for (const status of [307, 308, 302]) {
    it(`a ${status} from the token endpoint fails the renewal as transient; the refresh token never reaches the redirect target`, async () => {
      const harness = await signedIn();
      const realToken = harness.op.handlers['/token'];
      harness.op.handlers['/token'] = () => redirectTo(status);
      const outcome = await harness.runNextTimer();
      expect(outcome.type).toBe('renew_failed');
      if (outcome.type !== 'renew_failed') return;
      expect(outcome.failureClass).toBe('transient');
      expect(outcome.error.code).toBe('invalid_response');
      expect(outcome.retryInMs).toBeGreaterThan(0);
      expect(toSink(harness)).toEqual([]);
      expect(harness.auth.state().status).toBe('authenticated');
      // The OP behaves again: the scheduled retry renews with the same refresh token.
      harness.op.handlers['/token'] = realToken;
      expect((await harness.runNextTimer()).type).toBe('token_renewed');
    });
  }

  it('a 307 from the token endpoint at sign-in never re-sends the code verifier', async () => {
    const harness = await AuthHarness.create();
    await harness.load();
    const authorize = await harness.startLogin();
    harness.op.handlers['/token'] = () => redirectTo(307);
    const auth = await harness.load(harness.callbackUrl(authorize));
    expect(auth.state().status).toBe('unauthenticated');
    expect(auth.state().error).toEqual(jasmine.objectContaining({ code: 'invalid_response', retryable: true }));
    expect(toSink(harness)).toEqual([]);
  });

  it('a 307 from the userinfo endpoint is an error: the sign-in stands without its claims, and the access token stays here', async () => {
    const harness = await AuthHarness.create({ loadUserInfo: true });
    harness.op.handlers['/userinfo'] = () => redirectTo(307);
    const auth = await harness.signIn();
    expect(auth.state().status).toBe('authenticated');
    const reported = harness.events.find((event) => event.type === 'error');
    expect(reported?.type === 'error' && reported.error).toEqual(jasmine.objectContaining({ code: 'invalid_response', retryable: true }));
    expect(toSink(harness)).toEqual([]);
  });

  it('a 307 from the revocation endpoint is an error, and the refresh token never reaches the redirect target', async () => {
    const harness = await signedIn((h) => (h.op.handlers['/revoke'] = () => redirectTo(307)));
    const result = await harness.auth.logout();
    expect(result.refreshTokenRevoked).toBeFalse();
    expect(result.error).toEqual(jasmine.objectContaining({ code: 'invalid_response', retryable: true }));
    expect(toSink(harness)).toEqual([]);
  });

  it('a 302 from discovery is an error, and the OP document is not taken from the redirect target', async () => {
    const discovery = await AuthHarness.create();
    discovery.op.handlers['/.well-known/openid-configuration'] = () => redirectTo(302);
    await discovery.load();
    await expectAsync(discovery.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'invalid_response', retryable: true }));
    expect(toSink(discovery)).toEqual([]);
  });

  it('a 302 from the JWKS is an error, and the key set is not taken from the redirect target', async () => {
    const jwks = await AuthHarness.create();
    jwks.op.handlers['/jwks'] = () => redirectTo(302);
    await jwks.load();
    const authorize = await jwks.startLogin();
    // The code is redeemed by then: the response is held and the key set asked again three
    // times (1, 3 and 9 s), then the sign-in fails for good.
    let settled = false;
    const loading = jwks.load(jwks.callbackUrl(authorize)).finally(() => (settled = true));
    while (!settled) {
      await new Promise((resolve) => setTimeout(resolve));
      if (jwks.clock.pendingTimers > 0) jwks.clock.advanceToNextTimer();
    }
    const auth = await loading;
    expect(auth.state().error).toEqual(jasmine.objectContaining({ code: 'invalid_response', retryable: false }));
    expect(jwks.op.requestsTo('/jwks').length).toBe(4);
    expect(toSink(jwks)).toEqual([]);
  });

  it("sends the OP requests past Angular's HttpBackend, which follows redirects, even when the app provides HttpClient", async () => {
    const harness = await AuthHarness.create();
    harness.interceptor = 'functional';
    const viaBackend = spyOn(harness.op, 'handle').and.callThrough();
    await harness.signIn();
    expect((await harness.runNextTimer()).type).toBe('token_renewed');
    expect(harness.op.requestsTo('/token').length).toBe(2);
    expect(viaBackend).not.toHaveBeenCalled();
  });
});

const HTML = { status: 200, body: '<!doctype html><title>Sign in to the Wi-Fi</title>', headers: { 'content-type': 'text/html' } };

describe('Garbage from the OP is a transient failure', () => {
  const garbage: [string, FakeReply][] = [
    ['an HTML page (200, text/html)', HTML],
    ['truncated JSON', { status: 200, body: '{"token_type":"Bearer","expires_in":300,"access_tok', headers: { 'content-type': 'application/json' } }],
    ['a 200 without access_token', { status: 200, body: { token_type: 'Bearer', expires_in: 300 } }],
    ['a 400 with an HTML body', { status: 400, body: '<html>Blocked by policy</html>', headers: { 'content-type': 'text/html' } }],
    ['a 403 with JSON that is no OAuth error', { status: 403, body: { message: 'forbidden by the WAF' } }],
    ['an OAuth error code no spec defines as final', { status: 400, body: { error: 'proxy_refused' } }],
  ];
  for (const [what, reply] of garbage) {
    it(`${what} from the token endpoint: retried with backoff, the session stays`, async () => {
      const harness = await signedIn();
      const realToken = harness.op.handlers['/token'];
      harness.op.handlers['/token'] = () => reply;
      const outcome = await harness.runNextTimer();
      expect(outcome.type).toBe('renew_failed');
      if (outcome.type !== 'renew_failed') return;
      expect(outcome.failureClass).toBe('transient');
      expect(outcome.error.retryable).toBeTrue();
      expect(outcome.retryInMs).toBeGreaterThan(0);
      expect(harness.auth.state().status).toBe('authenticated');
      expect(harness.events.some((event) => event.type === 'session_expired')).toBeFalse();
      harness.op.handlers['/token'] = realToken;
      expect((await harness.runNextTimer()).type).toBe('token_renewed');
    });
  }

  for (const error of ['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'invalid_request']) {
    it(`only a final OAuth error ends the session: ${error}`, async () => {
      const harness = await signedIn();
      harness.op.handlers['/token'] = () => harness.op.oauthError(error);
      const outcome = await harness.runNextTimer();
      expect(outcome.type === 'renew_failed' && outcome.failureClass).toBe('permanent');
      expect(harness.auth.state().status).toBe('unauthenticated');
    });
  }

  it('an HTML page from discovery fails the sign-in as retryable (discovery_failed)', async () => {
    const harness = await AuthHarness.create();
    const realDiscovery = harness.op.handlers['/.well-known/openid-configuration'];
    harness.op.handlers['/.well-known/openid-configuration'] = () => HTML;
    await harness.load();
    await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'discovery_failed', retryable: true }));
    harness.op.handlers['/.well-known/openid-configuration'] = realDiscovery;
    await harness.startLogin(); // the failed discovery is not cached: the next try works
  });

  it('an HTML page from the JWKS during a renewal is transient: the session stays (an OP that does not rotate refresh tokens)', async () => {
    // With rotation the response is held and the key set fetched again instead (key-rotation.spec).
    const harness = await AuthHarness.create();
    harness.op.rotateRefreshToken = false;
    harness.op.publishedKids = ['rs-1'];
    await harness.signIn();
    // The OP signs with a key the cached JWKS lacks, so the renewal must fetch the JWKS again
    // (oauth4webapi does that once its copy is a minute old, by Date.now): and gets HTML.
    harness.op.signingKid = 'es-1';
    harness.op.handlers['/jwks'] = () => HTML;
    const now = Date.now.bind(Date);
    spyOn(Date, 'now').and.callFake(() => now() + 61_000);
    const outcome = await harness.runNextTimer();
    expect(outcome.type === 'renew_failed' && outcome.failureClass).toBe('transient');
    expect(outcome.type === 'renew_failed' && outcome.error.code).toBe('invalid_response');
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it('an HTML page from userinfo: the sign-in stands, and the error says retryable', async () => {
    const harness = await AuthHarness.create({ loadUserInfo: true });
    harness.op.handlers['/userinfo'] = () => HTML;
    const auth = await harness.signIn();
    expect(auth.state().status).toBe('authenticated');
    const reported = harness.events.find((event) => event.type === 'error');
    expect(reported?.type === 'error' && reported.error).toEqual(jasmine.objectContaining({ code: 'invalid_response', retryable: true }));
  });

  it('an HTML page from revocation: the logout goes on, and the error says retryable', async () => {
    const harness = await signedIn((h) => (h.op.handlers['/revoke'] = () => ({ ...HTML, status: 400 })));
    const result = await harness.auth.logout();
    expect(result.outcome).toBe('redirected');
    expect(result.error).toEqual(jasmine.objectContaining({ code: 'revocation_failed', retryable: true }));
  });
});
