import { TestBed } from '@angular/core/testing';
import { APP, AuthHarness } from '../../testing/harness';
import { FakeWindow } from '../../testing/fake-browser';
import { provideAuth } from '../provide-auth';
import { AuthService } from '../auth.service';
import { CLOSED_GRACE_MS, POPUP_CHANNEL, POPUP_MESSAGE, PopupSignInOptions, withPopupSignIn } from './popup-sign-in';
import { POPUP_SIGN_IN } from './popup-token';

/** The popup window.open() returns: records where it is sent; `close()` as the user would. */
class FakePopup {
  closed = false;
  focused = 0;
  url: string | null = null;
  private arrived!: (url: URL) => void;
  /** Resolves with the authorization request URL once the library sends the popup there. */
  readonly sentTo = new Promise<URL>((resolve) => (this.arrived = resolve));
  readonly location = {
    replace: (href: string) => {
      this.url = href;
      this.arrived(new URL(href));
    },
  };

  focus(): void {
    this.focused++;
  }

  close(): void {
    this.closed = true;
  }
}

/** The app's window: opens fake popups (or none: a popup blocker), fires the user's return. */
class PopupHost extends FakeWindow {
  readonly location = { origin: APP };
  readonly screenX = 100;
  readonly screenY = 50;
  readonly outerWidth = 1300;
  readonly outerHeight = 900;
  readonly BroadcastChannel = globalThis.BroadcastChannel;
  readonly opened: { url: string; target: string; features: string; popup: FakePopup | null }[] = [];
  blocker = false;
  /** Some blockers hand back a window that is closed at once. */
  closesAtOnce = false;

  open(url: string, target: string, features: string): FakePopup | null {
    const popup = this.blocker ? null : new FakePopup();
    if (popup && this.closesAtOnce) popup.closed = true;
    this.opened.push({ url, target, features, popup });
    return popup;
  }

  /** A message as the popup's page posts it to its opener. */
  post(data: unknown, { origin = APP, source }: { origin?: string; source: unknown }): void {
    this.dispatchEvent(Object.assign(new Event('message'), { origin, source, data }));
  }
}

const responseMessage = (url: string) => ({ type: POPUP_MESSAGE, url });

describe('Popup sign-in', () => {
  let harness: AuthHarness;
  let host: PopupHost;

  async function load(options: PopupSignInOptions = {}, config = {}): Promise<AuthService> {
    harness = await AuthHarness.create({ tabs: 'isolated', loadUserInfo: true, ...config });
    host = new PopupHost();
    harness.browser.windowRef = host as unknown as Window;
    harness.providers = [withPopupSignIn(options).ɵproviders];
    return harness.load();
  }

  /** Starts a popup login; returns its promise, the popup and the authorization request. */
  async function start(auth: AuthService) {
    const done = auth.login({ popup: true });
    done.catch(() => undefined);
    // Opened within the call, before any await: what a popup blocker lets through.
    const popup = host.opened.at(-1)!.popup!;
    const authorize = await popup.sentTo;
    harness.op.nonce = authorize.searchParams.get('nonce') ?? undefined;
    return { done, popup, authorize };
  }

  it('opens the popup synchronously, signs in with its response, and leaves nothing behind', async () => {
    const auth = await load();
    const done = auth.login({ popup: true });
    expect(host.opened.length).toBe(1);
    const { url, target, features, popup } = host.opened[0];
    expect([url, target]).toEqual(['about:blank', '_blank']);
    // 500 x 640, centred on the app's window.
    expect(features).toBe('popup=yes,width=500,height=640,left=500,top=180');
    const authorize = await popup!.sentTo;
    harness.op.nonce = authorize.searchParams.get('nonce') ?? undefined;
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${APP}/silent-renew.html`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    await done;
    expect(auth.state().status).toBe('authenticated');
    expect(auth.user()?.sub).toBe('alice');
    expect(harness.events.map((event) => event.type)).toEqual(['sign_in_started', 'signed_in']);
    // The app never navigated, and its address bar was not touched.
    expect(harness.browser.navigations).toEqual([]);
    expect(harness.browser.replacedUrls).toEqual([]);
    // The attempt was never stored; the same response again redeems nothing.
    expect(harness.attempts.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:sign-in`)).toBeNull();
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    popup!.closed = true;
    host.fire('focus');
    harness.clock.advance(CLOSED_GRACE_MS);
    expect(harness.op.requestsTo('/token').length).toBe(1);
    expect(auth.state().error).toBeNull();
  });

  it('rejects with popup_blocked when the browser opens no popup, and starts nothing', async () => {
    const auth = await load();
    host.blocker = true;
    await expectAsync(auth.login({ popup: true })).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_blocked' }));
    expect(auth.state().error?.code).toBe('popup_blocked');
    expect(harness.op.requests.length).toBe(0);
    expect(harness.events.map((event) => event.type)).toEqual(['error']);
  });

  it('rejects with popup_blocked when the popup is closed at once', async () => {
    const auth = await load();
    host.closesAtOnce = true;
    await expectAsync(auth.login({ popup: true })).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_blocked' }));
    expect(harness.op.requests.length).toBe(0);
  });

  it('rejects with config_invalid naming withPopupSignIn() when the feature is missing, and opens nothing', async () => {
    harness = await AuthHarness.create({ tabs: 'isolated' });
    host = new PopupHost();
    harness.browser.windowRef = host as unknown as Window;
    const auth = await harness.load();
    await expectAsync(auth.login({ popup: true })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', message: jasmine.stringMatching(/withPopupSignIn\(\)/) }));
    expect(host.opened.length).toBe(0);
  });

  it('has no popup code without the feature', () => {
    TestBed.resetTestingModule();
    TestBed.configureTestingModule({ providers: [provideAuth({ authority: 'https://op.example.com', clientId: 'spa' })] });
    expect(TestBed.inject(POPUP_SIGN_IN, null)).toBeNull();
  });

  it('rejects with popup_closed when the user is back and the popup is closed, after a grace for a late answer', async () => {
    const auth = await load();
    const { done, popup } = await start(auth);
    host.fire('focus'); // back while the popup is still open: nothing happens
    popup.closed = true;
    host.setVisibility('visible');
    harness.clock.advance(CLOSED_GRACE_MS - 1);
    expect(auth.state().error).toBeNull();
    harness.clock.advance(1);
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    expect(auth.state().status).toBe('unauthenticated');
    expect(auth.state().error?.code).toBe('popup_closed');
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });

  it('takes a response that arrives within the grace after the popup closed itself', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    popup.closed = true;
    host.dispatchEvent(new Event('pointerdown'));
    harness.clock.advance(CLOSED_GRACE_MS / 2);
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    await done;
    expect(auth.state().status).toBe('authenticated');
  });

  it('rejects with popup_closed when the popup was closed before it went to the OP', async () => {
    const auth = await load();
    let release!: () => void;
    const answered = new Promise<void>((resolve) => (release = resolve));
    const discovery = harness.op.handlers['/.well-known/openid-configuration'];
    harness.op.handlers['/.well-known/openid-configuration'] = async (request) => {
      await answered;
      return discovery(request);
    };
    const done = auth.login({ popup: true });
    done.catch(() => undefined);
    host.opened[0].popup!.closed = true;
    release();
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    expect(host.opened[0].popup!.url).toBeNull();
  });

  it('rejects with timeout and closes the popup when no response comes', async () => {
    const auth = await load({ timeoutSeconds: 60 });
    const { done, popup } = await start(auth);
    harness.clock.advance(59_999);
    expect(popup.closed).toBeFalse();
    harness.clock.advance(1);
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'timeout', retryable: true }));
    expect(popup.closed).toBeTrue();
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it('ignores messages from another origin, another window, another state or another page', async () => {
    const auth = await load({ timeoutSeconds: 60 });
    const { done, popup, authorize } = await start(auth);
    const good = harness.callbackUrl(authorize);
    const otherState = harness.callbackUrl(authorize, { state: 'other' });
    const otherPage = good.replace('/silent-renew.html', '/elsewhere.html');
    host.post(responseMessage(good), { source: popup, origin: 'https://evil.example.com' });
    host.post(responseMessage(good), { source: new FakePopup() });
    host.post(responseMessage(otherState), { source: popup });
    host.post(responseMessage(otherPage), { source: popup });
    host.post({ type: 'ngx-oidc-session:silent-renew', url: good }, { source: popup });
    host.post(responseMessage('not a url'), { source: popup });
    harness.clock.advance(60_000);
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'timeout' }));
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });

  it('takes the response from the BroadcastChannel when the OP cut the opener link (COOP), for its own state only', async () => {
    const auth = await load();
    const { done, authorize } = await start(auth);
    const channel = new BroadcastChannel(POPUP_CHANNEL);
    channel.postMessage(responseMessage(harness.callbackUrl(authorize, { state: 'someone-elses' })));
    channel.postMessage(responseMessage(harness.callbackUrl(authorize)));
    channel.close();
    await done;
    expect(auth.state().status).toBe('authenticated');
    expect(harness.op.requestsTo('/token').length).toBe(1);
  });

  it('still signs in when a popup seen closed (its link cut by COOP) answers later on the channel', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    popup.closed = true; // what the browser reports once COOP severed the link
    host.fire('focus');
    harness.clock.advance(CLOSED_GRACE_MS);
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    const signedIn = harness.nextEvent('signed_in');
    const channel = new BroadcastChannel(POPUP_CHANNEL);
    channel.postMessage(responseMessage(harness.callbackUrl(authorize)));
    channel.close();
    await signedIn;
    expect(auth.state().status).toBe('authenticated');
    expect(auth.state().error).toBeNull();
  });

  it('refuses a popup response that fails the redirect checks: wrong iss, wrong nonce, OP error', async () => {
    const auth = await load();
    let attempt = await start(auth);
    host.post(responseMessage(harness.callbackUrl(attempt.authorize, { iss: 'https://evil.example.com' })), { source: attempt.popup });
    await expectAsync(attempt.done).toBeRejectedWith(jasmine.objectContaining({ code: 'iss_mismatch' }));
    expect(harness.op.requestsTo('/token').length).toBe(0);

    attempt = await start(auth);
    harness.op.nonce = 'another-nonce';
    host.post(responseMessage(harness.callbackUrl(attempt.authorize)), { source: attempt.popup });
    await expectAsync(attempt.done).toBeRejectedWith(jasmine.objectContaining({ code: 'id_token_invalid' }));

    attempt = await start(auth);
    host.post(responseMessage(harness.callbackUrl(attempt.authorize, { code: null, error: 'access_denied' })), { source: attempt.popup });
    await expectAsync(attempt.done).toBeRejectedWith(jasmine.objectContaining({ code: 'authorization_error' }));
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.events.filter((event) => event.type === 'signed_in').length).toBe(0);
  });

  it('focuses the open popup on a second login and gives both calls the same outcome', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    const second = auth.login({ popup: true });
    expect(host.opened.length).toBe(1);
    expect(popup.focused).toBe(1);
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    await Promise.all([done, second]);
    expect(harness.op.requestsTo('/token').length).toBe(1);
  });

  it('closes the popup and rejects when the OP cannot be discovered', async () => {
    const auth = await load();
    harness.op.handlers['/.well-known/openid-configuration'] = () => ({ status: 503, body: 'down' });
    const done = auth.login({ popup: true });
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'network_error' }));
    expect(host.opened[0].popup!.closed).toBeTrue();
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it('checks its redirect page as the other callback pages, in production too', async () => {
    await expectAsync(load({ redirectUrl: 'https://evil.example.com/silent-renew.html' })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'popup.redirectUrl' } }));
    await expectAsync(load({ redirectUrl: '/' })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'popup.redirectUrl' } }));
    await expectAsync(load({ timeoutSeconds: 1 })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'popup.timeoutSeconds' } }));
    const auth = await load({}, { renew: { strategy: 'refresh_token', silentRenewUrl: '/renew.html' } });
    const { authorize } = await start(auth);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${APP}/renew.html`);
  });
});
