import { AuthEvent } from '../core/auth-state';
import { withSilentSignIn } from '../provide-auth';
import { AuthHarness } from '../../testing/harness';
import { nextIframe, post, removeSilentIframes } from '../../testing/silent-iframe';
import { SILENT_RENEW_MESSAGE } from '../protocol/iframe-renew';

const ORIGIN = location.origin; // the Karma page plays the app: the iframe needs a real window

type SilentEvent = Extract<AuthEvent, { type: 'silent_sign_in' }>;

describe('withSilentSignIn()', () => {
  let harness: AuthHarness;

  beforeEach(async () => {
    // Isolated tabs: this spec runs in the real window, and must not wait for or talk to other tabs.
    harness = await AuthHarness.create({ renew: { silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
    harness.browser.windowRef = window;
    harness.features = [withSilentSignIn()];
  });

  afterEach(removeSilentIframes);

  const silentEvents = () => harness.events.filter((event): event is SilentEvent => event.type === 'silent_sign_in');
  const tokenRequests = () => harness.op.requestsTo('/token').length;

  /** A page load that tries a silent sign-in: resolves with the iframe and the load still in progress. */
  async function loadWithSilentTry(href = `${ORIGIN}/`): Promise<{ iframe: HTMLIFrameElement; request: URL; loaded: Promise<unknown> }> {
    const appended = nextIframe();
    const loaded = harness.load(href);
    const iframe = await appended;
    return { iframe, request: new URL(iframe.src), loaded };
  }

  function answer(iframe: HTMLIFrameElement, request: URL, params: Record<string, string | null>): void {
    post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request, params) }, { source: iframe.contentWindow });
  }

  it('signs in from the OP session: prompt=none in the hidden iframe, no redirect, reported in the events', async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    expect(request.searchParams.get('prompt')).toBe('none');
    expect(request.searchParams.has('id_token_hint')).toBeFalse();
    expect(request.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/silent-renew.html`);
    // Guards wait meanwhile: the status is still undecided.
    expect(harness.auth.state().status).toBe('unknown');
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    answer(iframe, request, {});
    await loaded;
    expect(harness.auth.state().status).toBe('authenticated');
    expect(harness.auth.user()?.sub).toBe('alice');
    expect(harness.browser.navigations).toEqual([]);
    expect(harness.events.map((event) => event.type)).toEqual(['signed_in', 'silent_sign_in']);
    expect(silentEvents()[0]).toEqual(jasmine.objectContaining({ outcome: 'signed_in', error: null }));
    // Committed as a sign-in: stored for the next page load of this tab.
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('authenticated');
    expect(tokenRequests()).toBe(1);
  });

  for (const oauthError of ['login_required', 'interaction_required', 'consent_required', 'account_selection_required']) {
    it(`leaves the user unauthenticated, with no error and no redirect, when the OP answers ${oauthError}`, async () => {
      const { iframe, request, loaded } = await loadWithSilentTry();
      answer(iframe, request, { code: null, error: oauthError });
      await loaded;
      const state = harness.auth.state();
      expect(state.status).toBe('unauthenticated');
      expect(state.error).toBeNull();
      expect(harness.browser.navigations).toEqual([]);
      expect(silentEvents().map(({ outcome, error }) => [outcome, error?.details.oauthError])).toEqual([['no_op_session', oauthError]]);
      expect(iframe.isConnected).toBeFalse();
    });
  }

  it('gives up after its timeout (5 s by default): unauthenticated, no error state, no retry', async () => {
    const { iframe, loaded } = await loadWithSilentTry();
    harness.clock.advance(4_999);
    expect(harness.auth.state().status).toBe('unknown');
    harness.clock.advance(1);
    await loaded;
    expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: null }));
    expect(silentEvents().map(({ outcome, error }) => [outcome, error?.code])).toEqual([['failed', 'timeout']]);
    expect(iframe.isConnected).toBeFalse();
    expect(document.querySelector('iframe[title="silent sign-in"]')).toBeNull();
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it('keeps a response that fails its checks as an error in the state (a forged or mixed-up answer)', async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    harness.op.nonce = 'not-the-attempts-nonce';
    answer(iframe, request, {});
    await loaded;
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.auth.state().error?.code).toBe('id_token_invalid');
    expect(silentEvents()[0].outcome).toBe('failed');
  });

  it('is tried once per page load: a session that ends later brings no second try', async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    answer(iframe, request, {});
    await loaded;
    harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
    await expectAsync(harness.auth.renew()).toBeRejected();
    expect(harness.auth.state().status).toBe('unauthenticated');
    await harness.auth.initialize();
    expect(document.querySelector('iframe[title="silent sign-in"]')).toBeNull();
    expect(silentEvents().length).toBe(1);
  });

  it("is not tried after this tab's logout, on the page back from the OP nor on later loads, until the next sign-in", async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    answer(iframe, request, {});
    await loaded;
    const result = await harness.auth.logout();
    expect(result.outcome).toBe('redirected');
    const endSession = new URL(harness.browser.navigations.at(-1)!);
    await harness.load(`${ORIGIN}/?state=${endSession.searchParams.get('state')}`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    await harness.load(`${ORIGIN}/`);
    await harness.auth.logout({ localOnly: true });
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(silentEvents().length).toBe(1);
    expect(document.querySelector('iframe[title="silent sign-in"]')).toBeNull();

    // An interactive sign-in lifts it: once that session ends otherwise (the OP refuses it),
    // the next page without a session tries again.
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize));
    expect(harness.auth.state().status).toBe('authenticated');
    harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
    await expectAsync(harness.auth.renew()).toBeRejected();
    expect(harness.auth.state().status).toBe('unauthenticated');
    const again = await loadWithSilentTry();
    answer(again.iframe, again.request, { code: null, error: 'login_required' });
    await again.loaded;
    expect(silentEvents().length).toBe(2);
  });

  it('is not tried on the callback page of an interactive sign-in, even a refused one', async () => {
    await harness.load(`${ORIGIN}/?code=stale&state=nobody-expects-it&iss=${encodeURIComponent(harness.op.issuer)}`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize, { code: null, error: 'access_denied' }));
    expect(harness.auth.state().error?.code).toBe('authorization_error');
    expect(silentEvents()).toEqual([]);
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });

  it('is not tried when the page has a session', async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    answer(iframe, request, {});
    await loaded;
    await harness.load(`${ORIGIN}/`);
    expect(silentEvents().length).toBe(1);
  });

  it('needs renew.silentRenewUrl: config_invalid naming the key, at start', async () => {
    harness = await AuthHarness.create({ tabs: 'isolated' });
    harness.features = [withSilentSignIn()];
    await expectAsync(harness.load()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'renew.silentRenewUrl' } }));
  });

  it('refuses a timeout out of range, in production too', async () => {
    harness.features = [withSilentSignIn({ timeoutSeconds: 600 })];
    await expectAsync(harness.load()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'silentSignIn.timeoutSeconds' } }));
  });

  it('without the feature, a page without a session makes no request to the OP', async () => {
    harness.features = [];
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.op.requests.length).toBe(0);
  });
});
