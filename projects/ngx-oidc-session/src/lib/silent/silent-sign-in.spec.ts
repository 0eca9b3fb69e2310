import { TestBed } from '@angular/core/testing';
import { AuthEvent } from '../core/auth-state';
import { RenewalLedger } from '../tabs/renewal-ledger';
import { withSilentSignIn } from '../provide-auth';
import { AuthHarness } from '../../testing/harness';
import { nextIframe, post, removeSilentIframes } from '../../testing/silent-iframe';
import { SILENT_RENEW_MESSAGE } from '../protocol/iframe-renew';
import { PAGE_IN_FRAME } from './silent-sign-in';

const ORIGIN = location.origin; // the Karma page plays the app: the iframe needs a real window

type SilentEvent = Extract<AuthEvent, { type: 'silent_sign_in' }>;

/** Holds the fake OP's token answers until the returned function is called. */
function holdTokenAnswers(harness: AuthHarness): () => void {
  let letThrough!: () => void;
  const answering = new Promise<void>((resolve) => (letThrough = resolve));
  const token = harness.op.handlers['/token'];
  harness.op.handlers['/token'] = async (request) => {
    await answering;
    return token(request);
  };
  return letThrough;
}

/** The refresh tokens revoked at the fake OP, in order. */
const revokedTokens = (harness: AuthHarness) => harness.op.requestsTo('/revoke').map((request) => new URLSearchParams(String(request.body)).get('token'));

/** Looks until `predicate` holds: for state no event announces. */
async function until(predicate: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await predicate())) await new Promise((resolve) => setTimeout(resolve));
}

describe('withSilentSignIn()', () => {
  let harness: AuthHarness;

  beforeEach(async () => {
    // Isolated tabs: this spec runs in the real window, and must not wait for or talk to other tabs.
    harness = await AuthHarness.create({ renew: { silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
    harness.browser.windowRef = window;
    harness.features = [withSilentSignIn()];
    // Karma runs the specs in an iframe; the app they play is a top-level page.
    harness.providers = [{ provide: PAGE_IN_FRAME, useValue: false }];
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

  it('a logout (localOnly) during the try wins: the late result is discarded, its refresh token revoked, no error in the state', async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    const letThrough = holdTokenAnswers(harness);
    answer(iframe, request, {});
    await until(() => tokenRequests() === 1);
    // Status still unknown: no session to clear, no sign-out epoch to record.
    expect(harness.auth.state().status).toBe('unknown');
    await harness.auth.logout({ localOnly: true });
    letThrough();
    await loaded;
    expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: null }));
    expect(harness.events.map((event) => event.type)).not.toContain('signed_in');
    expect(silentEvents().map(({ outcome, error }) => [outcome, error])).toEqual([['superseded', null]]);
    await until(() => revokedTokens(harness).length === 1);
    expect(revokedTokens(harness)[0]).toMatch(/^rt-/);
    // Nothing stored: the next page load of this tab is signed out, and tries nothing (marker).
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(silentEvents().length).toBe(1);
  });

  it('bounds the whole try by its timeout, not only the iframe: a late token answer is discarded and revoked', async () => {
    const { iframe, request, loaded } = await loadWithSilentTry();
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    const letThrough = holdTokenAnswers(harness);
    const started = harness.clock.now();
    answer(iframe, request, {});
    await until(() => tokenRequests() === 1);
    harness.clock.advance(started + 5_000 - harness.clock.now());
    await loaded;
    expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: null }));
    expect(silentEvents().map(({ outcome, error }) => [outcome, error?.code])).toEqual([['failed', 'timeout']]);
    letThrough();
    await until(() => revokedTokens(harness).length === 1);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.events.map((event) => event.type)).not.toContain('signed_in');
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it('is not tried on the silent-renew page served as the app, nor in any frame (no nested tries)', async () => {
    await harness.load(`${ORIGIN}/silent-renew.html`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    harness.providers = [{ provide: PAGE_IN_FRAME, useValue: true }];
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.op.requests.length).toBe(0);
    expect(silentEvents()).toEqual([]);
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

describe('withSilentSignIn() between tabs', () => {
  const NAMESPACE = 'ngx-oidc-session:spa@https://op.example.com/';
  const SIGNED_OUT_KEY = `${NAMESPACE}:signed-out`;
  let harness: AuthHarness;

  /** The ledger as another tab sees it: same database, same key. */
  const ledger = () =>
    new RenewalLedger(indexedDB, NAMESPACE, (callback, ms) => {
      const timer = setTimeout(callback, ms);
      return () => clearTimeout(timer);
    });

  function deleteLedger(): Promise<void> {
    localStorage.removeItem(SIGNED_OUT_KEY);
    return new Promise((resolve) => {
      const request = indexedDB.deleteDatabase('ngx-oidc-session-renewal-ledger');
      request.onsuccess = request.onerror = () => resolve();
    });
  }

  beforeEach(async () => {
    await deleteLedger();
    harness = await AuthHarness.create({ renew: { silentRenewUrl: '/silent-renew.html' }, tabs: 'shared' });
    harness.browser.windowRef = window;
    harness.features = [withSilentSignIn()];
    harness.providers = [{ provide: PAGE_IN_FRAME, useValue: false }];
  });

  afterEach(async () => {
    removeSilentIframes();
    TestBed.resetTestingModule(); // closes the tab's channel and lets go of its locks
    await deleteLedger();
  });

  const silentEvents = () => harness.events.filter((event): event is SilentEvent => event.type === 'silent_sign_in');
  /** Another tab's earlier sign-in, as the ledger names it (that tab is gone or frozen). */
  const earlier = () => ({ epoch: harness.clock.now() - 60_000, chain: 'alice-earlier', version: 0 });

  /** A new tab's page load whose try got the OP's code; the token answer waits for `letThrough`. */
  async function tryHeldAtTheToken(): Promise<{ loaded: Promise<unknown>; letThrough: () => void }> {
    const appended = nextIframe();
    const loaded = harness.load(`${ORIGIN}/`);
    const iframe = await appended;
    const request = new URL(iframe.src);
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    const letThrough = holdTokenAnswers(harness);
    post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request, {}) }, { source: iframe.contentWindow });
    await until(() => harness.op.requestsTo('/token').length === 1);
    return { loaded, letThrough };
  }

  it('a logout in another tab while the try is on the wire wins: nothing committed, nothing broadcast, its refresh token revoked', async () => {
    const before = earlier();
    await ledger().recordNewest(before);
    const channel = new BroadcastChannel(`ngx-oidc-session:spa@https://op.example.com`);
    const broadcasts: unknown[] = [];
    channel.onmessage = (event) => broadcasts.push(event.data);
    const { loaded, letThrough } = await tryHeldAtTheToken();
    // Tab A logs out: the ledger says so at once; its message to this tab (which holds nothing) changes nothing here.
    await ledger().recordSignOut(before.epoch);
    letThrough();
    await loaded;
    channel.close();
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(silentEvents().map((event) => event.outcome)).toEqual(['superseded']);
    expect(broadcasts).toEqual([]);
    const read = await ledger().read();
    expect(read.state === 'known' && read.record.newest).toEqual(before);
    await until(() => revokedTokens(harness).length === 1);
  });

  it("gives way to another tab's newer sign-in that the ledger names before its broadcast arrives, and revokes its own refresh token", async () => {
    await ledger().recordNewest(earlier());
    const { loaded, letThrough } = await tryHeldAtTheToken();
    // Bob signs in (interactively, or by his own silent try) in another tab; Chromium may hand
    // this tab the lock before that tab's broadcast reaches it.
    const bobs = { epoch: harness.clock.now() - 1_000, chain: 'bob', version: 0 };
    await ledger().recordNewest(bobs);
    letThrough();
    await loaded;
    expect(harness.events.map((event) => event.type)).not.toContain('signed_in');
    expect(silentEvents().map((event) => event.outcome)).toEqual(['superseded']);
    const read = await ledger().read();
    expect(read.state === 'known' && read.record.newest).toEqual(bobs);
    await until(() => revokedTokens(harness).length === 1);
  });

  it('is not tried in a new or reloaded tab while the last thing recorded is a logout, until the next sign-in', async () => {
    const before = earlier();
    await ledger().recordNewest(before);
    await ledger().recordSignOut(before.epoch); // a logout that left the OP session alive
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.op.requests.length).toBe(0);
    expect(silentEvents()).toEqual([]);
    // The next sign-in (in another tab; that tab is gone) lifts it.
    await ledger().recordNewest({ epoch: before.epoch + 1, chain: 'alice-again', version: 0 });
    const appended = nextIframe();
    const loaded = harness.load(`${ORIGIN}/`);
    const iframe = await appended;
    post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(new URL(iframe.src), { code: null, error: 'login_required' }) }, { source: iframe.contentWindow });
    await loaded;
    expect(silentEvents().map((event) => event.outcome)).toEqual(['no_op_session']);
  });

  it("a tab without a session that hears of another tab's logout keeps the per-tab marker: no try on its next load", async () => {
    const appended = nextIframe();
    const loaded = harness.load(`${ORIGIN}/`);
    const iframe = await appended;
    post({ type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(new URL(iframe.src), { code: null, error: 'login_required' }) }, { source: iframe.contentWindow });
    await loaded;
    // Another tab logs out: its sign-out marker lands in localStorage (a storage event here).
    const epoch = harness.clock.now() - 60_000;
    localStorage.setItem(SIGNED_OUT_KEY, String(epoch));
    window.dispatchEvent(new StorageEvent('storage', { key: SIGNED_OUT_KEY, newValue: String(epoch) }));
    // Even once a later sign-in lifts the browser-wide rule, this tab does not try again.
    await ledger().recordNewest({ epoch: epoch + 1, chain: 'alice-again', version: 0 });
    await harness.load(`${ORIGIN}/`);
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(silentEvents().length).toBe(1);
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });
});
