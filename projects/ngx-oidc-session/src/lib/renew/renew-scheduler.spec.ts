import { AuthHarness } from '../../testing/harness';
import { FakeWindow } from '../../testing/fake-browser';
import { MAX_TIMER_MS, RETRY_MAX_ATTEMPTS, RETRY_MAX_TOTAL_MS } from '../core/renew-timing';
import { RenewConfig } from '../core/config';

async function signedIn(renew: RenewConfig = {}, lifetimeSeconds = 300, setUp?: (harness: AuthHarness) => void) {
  const harness = await AuthHarness.create({ renew });
  harness.op.accessTokenLifetime = lifetimeSeconds;
  setUp?.(harness);
  await harness.signIn();
  return harness;
}

describe('RenewScheduler timing', () => {
  it('sets one timer from the token expiry and renews once per lifetime', async () => {
    const harness = await signedIn();
    const start = harness.clock.now();
    expect(harness.clock.pendingTimers).toBe(1);
    expect(harness.clock.nextDue()! - start).toBe(240_000);
    for (let cycle = 1; cycle <= 5; cycle++) {
      const outcome = await harness.runNextTimer();
      expect(outcome.type).toBe('token_renewed');
      expect(harness.clock.pendingTimers).toBe(1);
    }
    expect(harness.refreshGrants().length).toBe(5);
    expect(harness.clock.now() - start).toBe(5 * 240_000);
    expect(await harness.auth.getAccessToken()).toBe(`at-6`);
  });

  it('counts the token lifetime from when the request left, not from a slow answer', async () => {
    const harness = await signedIn({}, 10);
    const token = harness.op.handlers['/token'];
    let requestedAt = 0;
    harness.op.handlers['/token'] = async (request) => {
      requestedAt = harness.clock.now();
      harness.clock.advance(3_000); // the answer takes 3 s to arrive (a loaded machine)
      return token(request);
    };
    const renewed = harness.nextEvent('token_renewed');
    await harness.auth.renew();
    // The OP's 10 s ran from its answer, at most from the request: never from the receipt.
    expect((await renewed).expiresAt).toBe(requestedAt + 10_000);
  });

  it('renews a 60-second token with a 60-second lead about once a minute, not continuously', async () => {
    const harness = await signedIn({ leadTimeSeconds: 60 }, 60);
    const start = harness.clock.now();
    for (let cycle = 0; cycle < 10; cycle++) await harness.runNextTimer();
    expect(harness.refreshGrants().length).toBe(10);
    expect(harness.clock.now() - start).toBe(10 * 48_000);
  });

  it('chains timers longer than setTimeout allows instead of firing at once', async () => {
    const harness = await signedIn({}, 40 * 24 * 3600); // a 40-day access token
    expect(harness.clock.requestedDelays.at(-1)).toBe(MAX_TIMER_MS);
    harness.clock.advanceToNextTimer(); // 24.8 days: not due yet
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.clock.pendingTimers).toBe(1);
    const outcome = await harness.runNextTimer();
    expect(outcome.type).toBe('token_renewed');
    expect(harness.refreshGrants().length).toBe(1);
  });

  it('runs a session that cannot be renewed out at expiry, with no request', async () => {
    const harness = await signedIn({ strategy: 'none' });
    const ended = harness.nextEvent('session_expired');
    harness.clock.advanceToNextTimer();
    await ended;
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.refreshGrants().length).toBe(0);
  });
});

describe('RenewScheduler wake-ups', () => {
  let harness: AuthHarness;
  let window: FakeWindow;

  beforeEach(async () => {
    harness = await AuthHarness.create();
    window = new FakeWindow();
    harness.browser.windowRef = window as unknown as Window;
    await harness.signIn();
  });

  for (const wake of ['visible', 'pageshow', 'online', 'focus'] as const) {
    it(`renews at once on ${wake} when the frozen timer is overdue`, async () => {
      harness.clock.jump(600_000); // the laptop slept past expiry; no timer fired
      const started = harness.nextEvent('renew_started');
      const renewed = harness.nextEvent('token_renewed');
      if (wake === 'visible') window.setVisibility('visible');
      else window.fire(wake);
      expect((await started).trigger).toBe('wake-up');
      await renewed;
      expect(harness.refreshGrants().length).toBe(1);
      expect(harness.auth.state().status).toBe('authenticated');
    });
  }

  it('does not renew on a wake-up before the due time', async () => {
    harness.clock.jump(60_000);
    window.fire('focus');
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.clock.pendingTimers).toBe(1);
  });

  it('does not renew while the tab is hidden', async () => {
    harness.clock.jump(600_000);
    window.setVisibility('hidden');
    window.fire('online');
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.clock.pendingTimers).toBe(1); // a renewal would have cleared the timer at once
  });
});

describe('RenewScheduler single flight', () => {
  it('shares one renewal among every simultaneous trigger', async () => {
    const harness = await AuthHarness.create();
    const window = new FakeWindow();
    harness.browser.windowRef = window as unknown as Window;
    await harness.signIn();
    harness.clock.jump(400_000); // past expiry, and no timer ran
    harness.clock.advance(0); // now the overdue timer fires and starts the renewal
    expect(harness.clock.pendingTimers).toBe(0);
    const tokens = Promise.all([
      harness.auth.getAccessToken(),
      harness.auth.getAccessToken(),
      harness.auth.renew(),
      harness.auth.renew(),
    ]);
    window.fire('focus');
    window.fire('online');
    const [first, second] = await tokens;
    expect(first).toBe('at-2');
    expect(second).toBe('at-2');
    expect(harness.refreshGrants().length).toBe(1);
  });
});

describe('RenewScheduler failures', () => {
  it('retries transient failures with bounded backoff and keeps the session', async () => {
    const harness = await signedIn();
    const realToken = harness.op.handlers['/token'];
    harness.op.handlers['/token'] = () => harness.op.oauthError('server_error', 503);
    const firstFailure = harness.clock.nextDue()!;
    const outcomes = [];
    for (;;) {
      const outcome = await harness.runNextTimer();
      outcomes.push(outcome);
      expect(outcome.type).toBe('renew_failed');
      if (outcome.type !== 'renew_failed') break;
      expect(outcome.failureClass).toBe('transient');
      expect(outcome.error.code).toBe('network_error');
      expect(harness.auth.state().status).toBe('authenticated');
      if (outcome.retryInMs === null) break;
    }
    expect(outcomes.length).toBeLessThanOrEqual(RETRY_MAX_ATTEMPTS + 1);
    expect(harness.clock.now() - firstFailure).toBeLessThanOrEqual(RETRY_MAX_TOTAL_MS);
    expect(harness.clock.pendingTimers).toBe(0); // out of budget: no loop
    expect(harness.refreshGrants().length).toBe(outcomes.length);
    // The OP is back: once the retry cap has passed, the next token request renews, and the
    // session was never lost.
    harness.op.handlers['/token'] = realToken;
    harness.clock.jump(30_000);
    expect(await harness.auth.getAccessToken()).toBe('at-2');
    expect(harness.auth.state().status).toBe('authenticated');
    expect(harness.auth.state().error).toBeNull();
  });

  it("answers the app's token requests at once during backoff, without a renewal storm", async () => {
    const harness = await signedIn();
    harness.op.handlers['/token'] = () => harness.op.oauthError('server_error', 503);
    harness.clock.jump(400_000); // the access token has expired
    await expectAsync(harness.auth.getAccessToken()).toBeRejectedWith(jasmine.objectContaining({ code: 'network_error' }));
    const attempts = harness.refreshGrants().length;
    for (let call = 0; call < 20; call++) {
      await expectAsync(harness.auth.getAccessToken()).toBeRejectedWith(jasmine.objectContaining({ code: 'network_error', retryable: true }));
    }
    expect(harness.refreshGrants().length).toBe(attempts);
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it('treats an unreachable OP as transient', async () => {
    const harness = await signedIn();
    harness.op.handlers['/token'] = () => ({ status: 0 });
    const outcome = await harness.runNextTimer();
    expect(outcome.type === 'renew_failed' && outcome.failureClass).toBe('transient');
    expect(outcome.type === 'renew_failed' && outcome.retryInMs).toBeGreaterThan(0);
  });

  it('ends the session cleanly on invalid_grant', async () => {
    const harness = await signedIn();
    harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
    const expired = harness.nextEvent('session_expired');
    const outcome = await harness.runNextTimer();
    expect(outcome.type === 'renew_failed' && outcome.failureClass).toBe('permanent');
    expect((await expired).error?.details.oauthError).toBe('invalid_grant');
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.auth.state().error?.code).toBe('token_error');
    expect(harness.storage.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`)).toBeNull();
    expect(harness.clock.pendingTimers).toBe(0);
    expect(harness.browser.navigations.length).toBe(1); // only the original sign-in: no automatic redirect
  });

  it('ends the session when the refreshed ID token names another user', async () => {
    const harness = await signedIn();
    harness.op.subject = 'mallory';
    await harness.runNextTimer();
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.auth.state().error?.code).toBe('id_token_invalid');
  });

  it('starts an interactive sign-in back to the current route when configured to', async () => {
    const harness = await signedIn({ signInWhenSessionEnds: true });
    harness.browser.href = 'https://app.example.com/form?step=3';
    const realToken = harness.op.handlers['/token'];
    harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
    const started = harness.nextEvent('sign_in_started');
    await harness.runNextTimer();
    await started;
    harness.op.handlers['/token'] = realToken;
    const authorize = new URL(harness.browser.navigations.at(-1)!);
    harness.op.nonce = authorize.searchParams.get('nonce') ?? undefined;
    const callback = await harness.load(harness.callbackUrl(authorize));
    expect(callback.state().status).toBe('authenticated');
    expect(harness.browser.replacedUrls.at(-1)).toBe('/form?step=3');
  });
});

describe('RenewScheduler refresh-token details', () => {
  it('stores and uses the rotated refresh token', async () => {
    const harness = await signedIn();
    await harness.runNextTimer();
    await harness.runNextTimer();
    expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
  });

  it('keeps the refresh token when the OP does not rotate', async () => {
    const harness = await signedIn({}, 300, (h) => (h.op.rotateRefreshToken = false));
    await harness.runNextTimer();
    await harness.runNextTimer();
    expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-1', 'rt-1']);
  });

  it('keeps the previous ID token when the response has none', async () => {
    const harness = await signedIn();
    harness.op.handlers['/token'] = () => harness.op.json({ access_token: 'at-x', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-x' });
    await harness.runNextTimer();
    expect(await harness.auth.getAccessToken()).toBe('at-x');
    expect(harness.auth.user()?.sub).toBe('alice');
    const logout = await harness.auth.logout();
    expect(logout.outcome).toBe('redirected');
    expect(new URL(harness.browser.navigations.at(-1)!).searchParams.get('id_token_hint')).toMatch(/^eyJ/);
  });
});

describe('RenewScheduler start-up and logout', () => {
  it('renews an expired stored session before saying authenticated', async () => {
    const harness = await signedIn();
    harness.clock.jump(3_600_000);
    const states: string[] = [];
    const load = harness.load();
    harness.auth.state$.subscribe((state) => states.push(state.status));
    await load;
    expect(harness.auth.state().status).toBe('authenticated');
    expect(states).not.toContain('unauthenticated');
    expect(harness.refreshGrants().length).toBe(1);
    expect(harness.events.find((event) => event.type === 'renew_started')).toEqual(jasmine.objectContaining({ trigger: 'start-up' }));
    expect(harness.browser.navigations.length).toBe(1);
  });

  it('signs out at start-up when the stored session cannot be renewed, without a redirect', async () => {
    const harness = await signedIn();
    harness.clock.jump(3_600_000);
    harness.op.handlers['/token'] = () => harness.op.oauthError('invalid_grant');
    const auth = await harness.load();
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.browser.navigations.length).toBe(1);
  });

  it('logout cancels the renewal timer', async () => {
    const harness = await signedIn();
    expect(harness.clock.pendingTimers).toBe(1);
    await harness.auth.logout({ localOnly: true });
    expect(harness.clock.pendingTimers).toBe(0);
    harness.clock.advance(3_600_000);
    expect(harness.refreshGrants().length).toBe(0);
  });
});
