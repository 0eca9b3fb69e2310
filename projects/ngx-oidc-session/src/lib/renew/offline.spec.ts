import { AuthHarness } from '../../testing/harness';
import { FakeWindow } from '../../testing/fake-browser';
import { SILENT_RENEW_MESSAGE } from '../protocol/iframe-renew';

describe('Offline across the expiry, then online (refresh token)', () => {
  let harness: AuthHarness;
  let window: FakeWindow;

  beforeEach(async () => {
    harness = await AuthHarness.create();
    harness.op.accessTokenLifetime = 60;
    window = new FakeWindow();
    harness.browser.windowRef = window as unknown as Window;
    await harness.signIn();
  });

  /**
   * Offline until the access token has expired: every renewal on the way fails. Returns what
   * makes the OP reachable again (the browser stays offline until goOnline()).
   */
  async function offlinePastExpiry(): Promise<() => void> {
    const realToken = harness.op.handlers['/token'];
    window.goOffline();
    harness.op.handlers['/token'] = () => ({ status: 0 }); // fetch rejects: no network
    const expiresAt = harness.auth.state().accessTokenExpiresAt!;
    while (harness.clock.now() <= expiresAt) {
      const outcome = await harness.runNextTimer();
      expect(outcome.type === 'renew_failed' && outcome.failureClass).toBe('transient');
    }
    return () => (harness.op.handlers['/token'] = realToken);
  }

  it('fails fast while offline, and wake-ups (focus, visibilitychange, pageshow) start no renewal', async () => {
    const reachable = await offlinePastExpiry();
    const grants = harness.refreshGrants().length;
    await expectAsync(harness.auth.getAccessToken()).toBeRejectedWith(jasmine.objectContaining({ code: 'network_error', retryable: true }));
    harness.clock.jump(60_000); // past any backoff: only the offline state holds the wake-ups back
    window.fire('focus');
    window.setVisibility('visible');
    window.fire('pageshow');
    // Joins a renewal if a wake-up started one (and waits for it), else fails fast.
    await expectAsync(harness.auth.getAccessToken()).toBeRejectedWith(jasmine.objectContaining({ code: 'network_error' }));
    expect(harness.auth.state().status).toBe('authenticated');
    reachable();
    const renewed = harness.nextEvent('token_renewed');
    window.goOnline();
    await renewed;
    expect(harness.refreshGrants().length).toBe(grants + 1); // the one renewal of coming back online
  });

  it('a wake-up that finds the browser online again renews, also when the `online` event was missed (a frozen tab)', async () => {
    (await offlinePastExpiry())();
    const grants = harness.refreshGrants().length;
    // The network came back while the tab was frozen: no `online` event, navigator.onLine true.
    window.navigator.onLine = true;
    const renewed = harness.nextEvent('token_renewed');
    window.fire('focus');
    await renewed;
    expect(harness.refreshGrants().length).toBe(grants + 1);
    expect(await harness.auth.getAccessToken()).not.toBe('at-1');
  });

  it('renews once at once when the browser comes back online, and a request made then gets the fresh token', async () => {
    (await offlinePastExpiry())();
    const grants = harness.refreshGrants().length;
    const renewed = harness.nextEvent('token_renewed');
    // Back online right after a failure, long before its scheduled retry.
    window.goOnline();
    const token = harness.auth.getAccessToken();
    await renewed;
    expect(await token).toMatch(/^at-/);
    expect(await token).not.toBe('at-1');
    expect(harness.refreshGrants().length).toBe(grants + 1);
    expect(harness.events.filter((event) => event.type === 'renew_started').at(-1)).toEqual(jasmine.objectContaining({ trigger: 'wake-up' }));
    // focus and visibilitychange right after add nothing: the renewal is done.
    window.fire('focus');
    window.setVisibility('visible');
    expect(harness.refreshGrants().length).toBe(grants + 1);
    expect(harness.auth.state().status).toBe('authenticated');
  });
});

describe('Offline, then online (iframe)', () => {
  let harness: AuthHarness;

  /** Resolves with the silent-renew iframe in the page, or as soon as the library appends one. */
  function nextIframe(): Promise<HTMLIFrameElement> {
    return new Promise((resolve) => {
      const find = () => document.querySelector<HTMLIFrameElement>('iframe[title="silent sign-in"]');
      const present = find();
      if (present) return resolve(present);
      const observer = new MutationObserver(() => {
        const iframe = find();
        if (iframe) {
          observer.disconnect();
          resolve(iframe);
        }
      });
      observer.observe(document.body, { childList: true });
    });
  }

  beforeEach(async () => {
    // The iframe logic needs a real window: the Karma page plays the app, in an isolated tab.
    harness = await AuthHarness.create({ renew: { strategy: 'iframe', silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
    harness.browser.windowRef = window;
    harness.op.issueRefreshToken = false;
    await harness.load(`${location.origin}/`);
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize));
  });

  afterEach(() => document.querySelectorAll('iframe[title="silent sign-in"]').forEach((iframe) => iframe.remove()));

  it('a silent renewal in flight when the browser comes back online is abandoned, and the next one does not wait behind it', async () => {
    const first = nextIframe();
    const before = harness.auth.renew().then(
      () => null,
      (error: unknown) => error,
    );
    const stale = await first;
    window.dispatchEvent(new Event('online'));
    expect(await before).toEqual(jasmine.objectContaining({ code: 'network_error' }));
    expect(stale.isConnected).toBeFalse();
    // A renewal asked for now joins the one that follows at once (no clock advanced: no timeout waited for).
    const second = nextIframe();
    const after = harness.auth.renew();
    const iframe = await second;
    const request = new URL(iframe.src);
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    window.dispatchEvent(new MessageEvent('message', { origin: location.origin, source: iframe.contentWindow, data: { type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request) } }));
    await after;
    expect(harness.auth.state().status).toBe('authenticated');
    expect(harness.op.requestsTo('/token').length).toBe(2);
  });
});
