import { AuthHarness } from '../../testing/harness';
import { SILENT_RENEW_MESSAGE } from './iframe-renew';

// OP signing-key rotation (issue 15, item 3). oauth4webapi keeps the JWKS per metadata object
// and fetches it again for an unknown kid only once its copy is a minute old, by Date.now,
// which it reads itself: these specs make Date.now follow the fake clock.

const ACCESS_TOKEN_SECONDS = 30; // renewed 24 s after sign-in: well inside the JWKS cool-down

/** Looks until `predicate` holds: for steps no event announces (a timer set after an await). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve));
}

async function signedIn(config: Parameters<typeof AuthHarness.create>[0] = {}): Promise<AuthHarness> {
  const harness = await AuthHarness.create(config);
  spyOn(Date, 'now').and.callFake(() => harness.clock.now());
  harness.op.accessTokenLifetime = ACCESS_TOKEN_SECONDS;
  harness.op.publishedKids = ['rs-1'];
  await harness.signIn(); // the JWKS is fetched, with rs-1 only
  expect(harness.auth.state().status).toBe('authenticated');
  expect(harness.op.requestsTo('/jwks').length).toBe(1);
  return harness;
}

/** The OP publishes a new key next to the old one and signs with it from now on. */
function rotate(harness: AuthHarness, kid = 'es-1'): void {
  harness.op.publishedKids = ['rs-1', kid];
  harness.op.signingKid = kid;
}

describe('OP signing-key rotation (refresh_token)', () => {
  it('keeps the session when a new kid appears within a minute of the last JWKS fetch: the response is checked again after the cool-down', async () => {
    const harness = await signedIn();
    const jwksFetchedAt = harness.clock.now();
    rotate(harness);
    const outcome = harness.nextEvent('token_renewed', 'renew_failed', 'session_expired');
    harness.clock.advanceToNextTimer(); // the renewal, 24 s after sign-in
    await until(() => harness.refreshGrants().length === 1 && harness.clock.pendingTimers === 1);
    // Held, not failed: the key set is too young for oauth4webapi to fetch it again.
    expect(harness.op.requestsTo('/jwks').length).toBe(1);
    expect(harness.clock.nextDue()! - jwksFetchedAt).toBeGreaterThanOrEqual(60_000);
    expect(harness.events.filter((event) => event.type === 'renew_failed')).toEqual([]);
    harness.clock.advanceToNextTimer();
    expect((await outcome).type).toBe('token_renewed');
    expect(harness.op.requestsTo('/jwks').length).toBe(2);
    // The rotated refresh token was never presented twice: one grant, the session kept.
    expect(harness.refreshGrants().length).toBe(1);
    expect(harness.auth.state().status).toBe('authenticated');
    // The next renewal knows the new key: no wait, no fetch.
    const next = harness.nextEvent('token_renewed', 'renew_failed', 'session_expired');
    harness.clock.advanceToNextTimer();
    expect((await next).type).toBe('token_renewed');
    expect(harness.op.requestsTo('/jwks').length).toBe(2);
  });

  it('rejects a kid that is still unknown after one refetch (id_token_invalid) and ends the session', async () => {
    const harness = await signedIn();
    await harness.op.addKey('RS256', 'unpublished');
    harness.op.signingKid = 'unpublished'; // the JWKS still holds rs-1 only
    const outcome = harness.nextEvent('session_expired');
    harness.clock.advanceToNextTimer();
    await until(() => harness.refreshGrants().length === 1 && harness.clock.pendingTimers === 1);
    harness.clock.advanceToNextTimer();
    const expired = await outcome;
    expect(expired.error?.code).toBe('id_token_invalid');
    expect(harness.op.requestsTo('/jwks').length).toBe(2); // exactly one refetch
    expect(harness.auth.state().status).toBe('unauthenticated');
    const failed = harness.events.find((event) => event.type === 'renew_failed');
    expect(failed?.type === 'renew_failed' && failed.failureClass).toBe('permanent');
  });

  it('a logout during the wait for the new key stores nothing and leaves no timer', async () => {
    const harness = await signedIn();
    rotate(harness);
    const renewal = harness.auth.renew().catch((error: unknown) => error);
    await until(() => harness.refreshGrants().length === 1 && harness.clock.pendingTimers === 1);
    await harness.auth.logout({ localOnly: true });
    expect(await renewal).toEqual(jasmine.objectContaining({ code: 'no_session' }));
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.clock.pendingTimers).toBe(0);
    expect(harness.events.some((event) => event.type === 'token_renewed')).toBeFalse();
  });
});

describe('OP signing-key rotation (iframe)', () => {
  const ORIGIN = location.origin; // the Karma page plays the app: the iframe needs a real window

  afterEach(() => document.querySelectorAll('iframe[title="silent sign-in"]').forEach((iframe) => iframe.remove()));

  /** Answers the next silent-renew iframe as the OP would, with a code. */
  async function answerIframe(harness: AuthHarness): Promise<void> {
    await until(() => document.querySelector('iframe[title="silent sign-in"]') !== null);
    const iframe = document.querySelector<HTMLIFrameElement>('iframe[title="silent sign-in"]')!;
    const request = new URL(iframe.src);
    harness.op.nonce = request.searchParams.get('nonce') ?? undefined;
    window.dispatchEvent(new MessageEvent('message', { origin: ORIGIN, source: iframe.contentWindow, data: { type: SILENT_RENEW_MESSAGE, url: harness.callbackUrl(request) } }));
  }

  async function iframeSignedIn(): Promise<AuthHarness> {
    const harness = await AuthHarness.create({ renew: { strategy: 'iframe', silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' });
    spyOn(Date, 'now').and.callFake(() => harness.clock.now());
    harness.browser.windowRef = window;
    harness.op.issueRefreshToken = false;
    harness.op.accessTokenLifetime = ACCESS_TOKEN_SECONDS;
    harness.op.publishedKids = ['rs-1'];
    await harness.load(`${ORIGIN}/`);
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize));
    expect(harness.auth.state().status).toBe('authenticated');
    return harness;
  }

  it('keeps the session when the silent renewal brings a token signed with a new kid within the cool-down', async () => {
    const harness = await iframeSignedIn();
    rotate(harness);
    const outcome = harness.nextEvent('token_renewed', 'renew_failed', 'session_expired');
    const renewal = harness.auth.renew();
    await answerIframe(harness);
    await until(() => harness.op.requestsTo('/token').length === 2 && harness.clock.pendingTimers === 1);
    expect(harness.op.requestsTo('/jwks').length).toBe(1);
    harness.clock.advanceToNextTimer();
    await renewal;
    expect((await outcome).type).toBe('token_renewed');
    expect(harness.op.requestsTo('/jwks').length).toBe(2);
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it('rejects a silent renewal whose kid is still unknown after one refetch', async () => {
    const harness = await iframeSignedIn();
    await harness.op.addKey('RS256', 'unpublished');
    harness.op.signingKid = 'unpublished';
    const outcome = harness.nextEvent('session_expired');
    const renewal = harness.auth.renew().catch((error: unknown) => error);
    await answerIframe(harness);
    await until(() => harness.op.requestsTo('/token').length === 2 && harness.clock.pendingTimers === 1);
    harness.clock.advanceToNextTimer();
    expect(await renewal).toEqual(jasmine.objectContaining({ code: 'id_token_invalid' }));
    expect((await outcome).error?.code).toBe('id_token_invalid');
    expect(harness.op.requestsTo('/jwks').length).toBe(2);
  });
});

describe('The key set cannot be fetched after the OP answered a refresh grant', () => {
  /** A renewal a minute and a half after sign-in, when the OP has just rotated its key: oauth4webapi fetches the key set at once. */
  async function renewingWhileJwksFails(failures: number): Promise<AuthHarness> {
    const harness = await AuthHarness.create();
    spyOn(Date, 'now').and.callFake(() => harness.clock.now());
    harness.op.accessTokenLifetime = 120; // renewed 96 s after sign-in: past the cool-down
    harness.op.publishedKids = ['rs-1'];
    await harness.signIn();
    rotate(harness);
    const jwks = harness.op.handlers['/jwks'];
    let failing = failures;
    harness.op.handlers['/jwks'] = async (request) =>
      failing-- > 0 ? { status: 502, body: '<html>Bad gateway</html>', headers: { 'content-type': 'text/html' } } : jwks(request);
    return harness;
  }

  /** Runs the timers until the renewal ends one way or the other. */
  async function outcomeOf(harness: AuthHarness) {
    const outcome = harness.nextEvent('token_renewed', 'session_expired');
    let done = false;
    void outcome.then(() => (done = true));
    harness.clock.advanceToNextTimer();
    for (let step = 0; step < 20 && !done; step++) {
      await until(() => done || harness.clock.pendingTimers > 0);
      if (!done) harness.clock.advanceToNextTimer();
    }
    return outcome;
  }

  it('holds the token response and fetches the key set again: one grant, the session kept', async () => {
    const harness = await renewingWhileJwksFails(2);
    expect((await outcomeOf(harness)).type).toBe('token_renewed');
    expect(harness.refreshGrants().length).toBe(1); // the rotated refresh token was never presented again
    expect(harness.op.requestsTo('/jwks').length).toBe(4); // at sign-in, then two failures and the answer
    expect(await harness.auth.getAccessToken()).toBe('at-2');
  });

  it('ends the renewal for good when the key set stays out of reach, without presenting the spent refresh token', async () => {
    const harness = await renewingWhileJwksFails(100);
    const expired = await outcomeOf(harness);
    expect(expired.type).toBe('session_expired');
    expect(harness.refreshGrants().length).toBe(1);
    expect(harness.op.requestsTo('/jwks').length).toBe(5); // at sign-in, then the first try and three more
  });
});
