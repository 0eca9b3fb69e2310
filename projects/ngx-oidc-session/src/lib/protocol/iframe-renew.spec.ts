import { AuthHarness } from '../../testing/harness';
import { nextIframe, post, removeSilentIframes } from '../../testing/silent-iframe';
import { FakeClock } from '../../testing/fake-clock';
import { TestBed } from '@angular/core/testing';
import { SILENT_RENEW_MESSAGE, runSilentIframe } from './iframe-renew';
import { ProtocolLoader } from './protocol-loader';
import { SessionStore } from '../state/session-store';

const ORIGIN = location.origin; // the Karma page plays the app: the iframe logic needs a real window

describe('IframeRenewer', () => {
  let harness: AuthHarness;

  beforeEach(async () => {
    // Isolated tabs: this spec runs in the real window, and must not wait for or talk to other tabs.
    harness = await AuthHarness.create({ renew: { strategy: 'iframe', silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
    harness.browser.windowRef = window;
    harness.op.issueRefreshToken = false;
    await harness.load(`${ORIGIN}/`);
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize));
    expect(harness.auth.state().status).toBe('authenticated');
  });

  afterEach(removeSilentIframes);

  it('renews through a hidden prompt=none request and accepts only its own response', async () => {
    const appended = nextIframe();
    const renewed = harness.auth.renew();
    const iframe = await appended;
    const request = new URL(iframe.src);
    expect(request.searchParams.get('prompt')).toBe('none');
    expect(request.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(request.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/silent-renew.html`);
    expect(request.searchParams.get('code_challenge_method')).toBe('S256');
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    const response = harness.callbackUrl(request);

    post({ type: SILENT_RENEW_MESSAGE, url: response }, { origin: 'https://evil.example.com', source: iframe.contentWindow });
    post({ type: SILENT_RENEW_MESSAGE, url: response }, { source: window });
    post({ type: SILENT_RENEW_MESSAGE, url: response.replace(/state=[^&]+/, 'state=other-attempt') }, { source: iframe.contentWindow });
    post('garbage', { source: iframe.contentWindow });
    expect(harness.op.requestsTo('/token').length).toBe(1); // only the sign-in: nothing accepted yet
    expect(iframe.isConnected).toBeTrue();

    post({ type: SILENT_RENEW_MESSAGE, url: response }, { source: iframe.contentWindow });
    await renewed;
    expect(harness.op.requestsTo('/token').length).toBe(2);
    expect(iframe.isConnected).toBeFalse();
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it("refuses its own attempt's response when it lands on another page than the redirect_uri (mix-up, RFC 9700 4.4.2)", async () => {
    const appended = nextIframe();
    const redirectUri = `${ORIGIN}/silent-renew.html?op=partner`;
    const silent = runSilentIframe(window, new URL(`${ORIGIN}/authorize-stand-in`), { state: 'state-b', redirectUri }, 10_000, new FakeClock());
    const iframe = await appended;
    // The shared page of another instance, without this instance's query: refused at once, the iframe removed.
    post({ type: SILENT_RENEW_MESSAGE, url: `${ORIGIN}/silent-renew.html?code=c&state=state-b` }, { source: iframe.contentWindow });
    await expectAsync(silent.response).toBeRejectedWith(jasmine.objectContaining({ code: 'callback_url_mismatch' }));
    expect(iframe.isConnected).toBeFalse();
  });

  it("accepts its own attempt's response on a silent-renew page with a query of its own", async () => {
    const appended = nextIframe();
    const redirectUri = `${ORIGIN}/silent-renew.html?op=partner`;
    const silent = runSilentIframe(window, new URL(`${ORIGIN}/authorize-stand-in`), { state: 'state-b', redirectUri }, 10_000, new FakeClock());
    const iframe = await appended;
    post({ type: SILENT_RENEW_MESSAGE, url: `${redirectUri}&code=c&state=state-b&iss=x` }, { source: iframe.contentWindow });
    expect((await silent.response).searchParams.get('op')).toBe('partner');
  });

  it('uses a fresh state, nonce and PKCE pair per attempt', async () => {
    const first = nextIframe();
    const timedOut = harness.auth.renew().catch(() => undefined);
    const one = new URL((await first).src);
    harness.clock.advance(10_000); // timeout, removes the iframe
    await timedOut;
    const second = nextIframe();
    harness.auth.renew().catch(() => undefined);
    const two = new URL((await second).src);
    for (const name of ['state', 'nonce', 'code_challenge']) {
      expect(two.searchParams.get(name)).not.toBe(one.searchParams.get(name));
    }
  });

  // The OP answered the code with tokens the library refuses: the refresh token in them is revoked.
  for (const [what, change] of [
    ['an ID token for another audience', { idTokenOverrides: { aud: 'someone-else' } }],
    ['another user than the session’s', { subject: 'mallory' }],
  ] as const) {
    it(`revokes the refresh token of a renewal that signed in with ${what}`, async () => {
      harness.op.issueRefreshToken = true;
      Object.assign(harness.op, change);
      const appended = nextIframe();
      const renewed = harness.auth.renew();
      const request = new URL((await appended).src);
      harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
      post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request) }, { source: (await appended).contentWindow });
      await expectAsync(renewed).toBeRejectedWith(jasmine.objectContaining({ code: 'id_token_invalid' }));
      expect(await harness.revokedTokens()).toEqual(['rt-2']);
    });
  }

  it('times out as a transient failure and removes the iframe', async () => {
    const appended = nextIframe();
    const failed = harness.nextEvent('renew_failed');
    const renewal = harness.auth.renew();
    const iframe = await appended;
    harness.clock.advance(10_000);
    await expectAsync(renewal).toBeRejectedWith(jasmine.objectContaining({ code: 'timeout' }));
    const event = await failed;
    expect(event.failureClass).toBe('transient');
    expect(iframe.isConnected).toBeFalse();
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it('ends the session when the OP answers login_required', async () => {
    const appended = nextIframe();
    const renewal = harness.auth.renew();
    const iframe = await appended;
    const response = harness.callbackUrl(new URL(iframe.src), { code: null, error: 'login_required' });
    post({ type: SILENT_RENEW_MESSAGE, url: response }, { source: iframe.contentWindow });
    await expectAsync(renewal).toBeRejectedWith(jasmine.objectContaining({ code: 'authorization_error' }));
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.events.some((event) => event.type === 'session_expired')).toBeTrue();
  });

  it('logout removes the iframe of a renewal in progress', async () => {
    const appended = nextIframe();
    const renewal = harness.auth.renew().catch((error: unknown) => error);
    const iframe = await appended;
    await harness.auth.logout({ localOnly: true });
    expect(iframe.isConnected).toBeFalse();
    await renewal;
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it("a renewal whose iframe a newer silent attempt replaced (a session check) fails as transient: the session stays", async () => {
    const appended = nextIframe();
    const failed = harness.nextEvent('renew_failed');
    const renewal = harness.auth.renew();
    const iframe = await appended;
    const { client } = await TestBed.inject(ProtocolLoader).load();
    const check = client.silentRenew(TestBed.inject(SessionStore).session()!).catch((error: unknown) => error);
    await expectAsync(renewal).toBeRejectedWith(jasmine.objectContaining({ code: 'no_session', retryable: true }));
    expect((await failed).failureClass).toBe('transient');
    expect(iframe.isConnected).toBeFalse();
    expect(harness.auth.state().status).toBe('authenticated');
    client.cancelRenewal();
    expect(await check).toEqual(jasmine.objectContaining({ code: 'no_session', retryable: false }));
  });

  it("a silent renewal that signs in another user is refused, and that user's new refresh token is revoked, not left valid", async () => {
    harness.op.issueRefreshToken = true;
    const appended = nextIframe();
    const renewal = harness.auth.renew();
    const iframe = await appended;
    const request = new URL(iframe.src);
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    harness.op.subject = 'mallory';
    post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request) }, { source: iframe.contentWindow });
    await expectAsync(renewal).toBeRejectedWith(jasmine.objectContaining({ code: 'id_token_invalid', details: { differentUser: true } }));
    while (harness.op.requestsTo('/revoke').length === 0) await new Promise((resolve) => setTimeout(resolve));
    const revoked = new URLSearchParams(String(harness.op.requestsTo('/revoke')[0].body));
    expect(revoked.get('token')).toMatch(/^rt-/);
    expect(revoked.get('token_type_hint')).toBe('refresh_token');
  });
});
