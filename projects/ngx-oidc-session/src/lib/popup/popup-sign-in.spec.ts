import { TestBed } from '@angular/core/testing';
import { APP, AuthHarness } from '../../testing/harness';
import { FakeWindow } from '../../testing/fake-browser';
import { provideAuth } from '../provide-auth';
import { AuthService } from '../auth.service';
import { SessionStore } from '../state/session-store';
import { POPUP_CHANNEL, POPUP_MESSAGE, PopupSignInOptions, withPopupSignIn } from './popup-sign-in';
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

/** What the popup's page posts when COOP cut its link to the app. */
function postOnChannel(url: string): void {
  const channel = new BroadcastChannel(POPUP_CHANNEL);
  channel.postMessage(responseMessage(url));
  channel.close();
}

/**
 * Waits until the channel messages posted so far were delivered (a marker posted after them
 * arrives), then one more task, for what they started to run on (the fake OP answers in microtasks).
 */
async function settled(): Promise<void> {
  const listener = new BroadcastChannel(POPUP_CHANNEL);
  const sender = new BroadcastChannel(POPUP_CHANNEL);
  const marker = { type: 'spec-marker', id: Math.random() };
  await new Promise<void>((resolve) => {
    listener.onmessage = (event: MessageEvent) => {
      if ((event.data as { id?: number })?.id === marker.id) resolve();
    };
    sender.postMessage(marker);
  });
  listener.close();
  sender.close();
  await new Promise<void>((resolve) => setTimeout(resolve));
}

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

  /** Signed in with a redirect sign-in, the popup feature added. */
  async function harness_signedIn(): Promise<AuthService> {
    harness = await AuthHarness.create({ tabs: 'isolated', loadUserInfo: true });
    host = new PopupHost();
    harness.browser.windowRef = host as unknown as Window;
    harness.providers = [withPopupSignIn().ɵproviders];
    return harness.signIn();
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
    postOnChannel(harness.callbackUrl(authorize));
    await settled();
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

  it('keeps login() pending when the popup at the OP is seen closed (maybe its link cut by COOP): the timeout ends it', async () => {
    const auth = await load({ timeoutSeconds: 60 });
    const { done, popup } = await start(auth);
    popup.closed = true;
    host.fire('focus');
    host.setVisibility('visible');
    harness.clock.advance(59_999);
    await settled();
    expect(auth.state().error).toBeNull();
    harness.clock.advance(1);
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'timeout' }));
    expect(auth.state().error?.code).toBe('timeout');
    expect(harness.op.requestsTo('/token').length).toBe(0);
    expect(harness.clock.pendingTimers).toBe(0);
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
    const { done, popup, authorize } = await start(auth);
    popup.closed = true; // what the browser reports once COOP cut the link
    const channel = new BroadcastChannel(POPUP_CHANNEL);
    channel.postMessage(responseMessage(harness.callbackUrl(authorize, { state: 'someone-elses' })));
    channel.postMessage(responseMessage(harness.callbackUrl(authorize)));
    channel.close();
    await done;
    expect(auth.state().status).toBe('authenticated');
    expect(harness.op.requestsTo('/token').length).toBe(1);
  });

  it('ignores channel messages while the popup link is intact: only the popup itself answers then', async () => {
    const auth = await load({ timeoutSeconds: 60 });
    const { done, authorize } = await start(auth);
    postOnChannel(harness.callbackUrl(authorize));
    await settled();
    harness.clock.advance(60_000);
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'timeout' }));
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });

  it('signs in, and login() resolves, when a popup seen closed (its link cut by COOP) answers later on the channel', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    popup.closed = true;
    host.fire('focus');
    harness.clock.advance(60_000);
    await settled();
    postOnChannel(harness.callbackUrl(authorize));
    await done;
    expect(auth.state().status).toBe('authenticated');
    expect(auth.state().error).toBeNull();
    expect(harness.events.map((event) => event.type)).toEqual(['sign_in_started', 'signed_in']);
  });

  it('logout() ends the attempt for good: login() rejects, the popup is closed, and its late response signs nobody in', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    const loggedOut = auth.logout();
    // At once, before logout() waits for anything.
    expect(popup.closed).toBeTrue();
    await loggedOut;
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    // A popup whose link COOP cut cannot be closed: it answers later on the channel.
    postOnChannel(harness.callbackUrl(authorize));
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    await settled();
    expect(harness.op.requestsTo('/token').length).toBe(0);
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it("another tab's sign-out or sign-in ends the attempt for good; a renewal does not", async () => {
    const signedIn = await harness_signedIn();
    const store = TestBed.inject(SessionStore);
    const session = store.session()!;
    let attempt = await start(signedIn);
    store.set({ ...session, version: session.version + 1, accessToken: 'renewed-by-another-tab' }, 'adopted');
    await settled();
    store.clear('other-tab');
    await expectAsync(attempt.done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    attempt.popup.closed = true;
    postOnChannel(harness.callbackUrl(attempt.authorize));
    await settled();
    expect(harness.op.requestsTo('/token').length).toBe(1); // the first sign-in's only

    attempt = await start(signedIn);
    store.set({ ...session, epoch: session.epoch + 1, chain: 'another-users-sign-in' }, 'adopted');
    await expectAsync(attempt.done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    attempt.popup.closed = true;
    postOnChannel(harness.callbackUrl(attempt.authorize));
    await settled();
    expect(harness.op.requestsTo('/token').length).toBe(1);
    expect(store.session()?.chain).toBe('another-users-sign-in');
  });

  it('refuses, and revokes, a popup sign-in when a sign-out happened anywhere while its code was redeemed', async () => {
    const auth = await load({}, { renew: { strategy: 'refresh_token' } });
    const { done, popup, authorize } = await start(auth);
    const token = harness.op.handlers['/token'];
    harness.op.handlers['/token'] = async (request) => {
      // Another tab signs out meanwhile; its message has not reached this tab.
      TestBed.inject(SessionStore).recordSignOut({ epoch: Math.floor(harness.clock.now()), chain: '', version: 0 }, true);
      return token(request);
    };
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'no_session' }));
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.events.filter((event) => event.type === 'signed_in').length).toBe(0);
    await settled();
    expect(harness.op.requestsTo('/revoke').length).toBe(1);
    expect(new URLSearchParams(String(harness.op.requestsTo('/revoke')[0].body)).get('token_type_hint')).toBe('refresh_token');
  });

  it('a second login() while the popup is seen closed ends the first attempt for good: one attempt at a time', async () => {
    const auth = await load();
    const first = await start(auth);
    first.popup.closed = true; // closed by the user, or its link cut by COOP
    const second = await start(auth);
    await expectAsync(first.done).toBeRejectedWith(jasmine.objectContaining({ code: 'popup_closed' }));
    expect(host.opened.length).toBe(2);
    second.popup.closed = true;
    postOnChannel(harness.callbackUrl(first.authorize));
    await settled();
    expect(harness.op.requestsTo('/token').length).toBe(0);
    postOnChannel(harness.callbackUrl(second.authorize));
    await second.done;
    expect(harness.op.requestsTo('/token').length).toBe(1);
    expect(auth.state().status).toBe('authenticated');
  });

  it('refuses a second login() with other parameters while the popup is open (sign_in_in_progress), and opens nothing', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    await expectAsync(auth.login({ popup: true, maxAge: 0 })).toBeRejectedWith(jasmine.objectContaining({ code: 'sign_in_in_progress' }));
    await expectAsync(auth.login({ popup: true, prompt: 'login' })).toBeRejectedWith(jasmine.objectContaining({ code: 'sign_in_in_progress' }));
    expect(host.opened.length).toBe(1);
    expect(popup.focused).toBe(0);
    host.post(responseMessage(harness.callbackUrl(authorize)), { source: popup });
    await done;
    expect(auth.state().status).toBe('authenticated');
  });

  it('reports a failure once when a second login() joined the attempt', async () => {
    const auth = await load();
    const { done, popup, authorize } = await start(auth);
    const second = auth.login({ popup: true });
    host.post(responseMessage(harness.callbackUrl(authorize, { code: null, error: 'access_denied' })), { source: popup });
    await expectAsync(done).toBeRejectedWith(jasmine.objectContaining({ code: 'authorization_error' }));
    await expectAsync(second).toBeRejectedWith(jasmine.objectContaining({ code: 'authorization_error' }));
    expect(harness.events.map((event) => event.type)).toEqual(['sign_in_started', 'error']);
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
    // Named as the app writes it: not an AuthConfig key.
    await expectAsync(load({ redirectUrl: '//evil.example.com/x' })).toBeRejectedWith(jasmine.objectContaining({ message: jasmine.stringMatching(/withPopupSignIn\(\{ redirectUrl \}\)/) }));
    await expectAsync(load({ redirectUrl: 123 as unknown as string })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'popup.redirectUrl' }, message: jasmine.stringMatching(/withPopupSignIn\(\{ redirectUrl \}\)/) }));
    const auth = await load({}, { renew: { strategy: 'refresh_token', silentRenewUrl: '/renew.html' } });
    const { authorize } = await start(auth);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${APP}/renew.html`);
  });
});
