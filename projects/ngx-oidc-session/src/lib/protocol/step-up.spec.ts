import { AuthHarness } from '../../testing/harness';

// Step-up sign-in that can be verified (issue 15, item 11): login({ maxAge, acrValues }).
// oauth4webapi checks auth_time by Date.now, which it reads itself: these specs make Date.now
// follow the fake clock.

type Claims = Record<string, unknown>;
const seconds = (harness: AuthHarness) => Math.floor(harness.clock.now() / 1000);

async function stepUp(options: { maxAge?: number; acrValues?: string; params?: Record<string, string> }, idToken: Claims | ((now: number) => Claims)) {
  const harness = await AuthHarness.create();
  spyOn(Date, 'now').and.callFake(() => harness.clock.now());
  await harness.load();
  const authorize = await harness.startLogin(options);
  harness.op.idTokenOverrides = typeof idToken === 'function' ? idToken(seconds(harness)) : idToken;
  const auth = await harness.load(harness.callbackUrl(authorize));
  return { harness, authorize, state: auth.state() };
}

describe('step-up sign-in: login({ maxAge, acrValues })', () => {
  it('sends max_age and acr_values, and accepts an auth_time within max_age', async () => {
    const harness = await AuthHarness.create();
    spyOn(Date, 'now').and.callFake(() => harness.clock.now());
    await harness.load();
    const authorize = await harness.startLogin({ maxAge: 300, acrValues: 'urn:example:mfa urn:example:pwd' });
    expect(authorize.searchParams.get('max_age')).toBe('300');
    expect(authorize.searchParams.get('acr_values')).toBe('urn:example:mfa urn:example:pwd');
    const authTime = seconds(harness) - 10;
    harness.op.idTokenOverrides = { auth_time: authTime, acr: 'urn:example:mfa', amr: ['pwd', 'otp'] };
    const state = (await harness.load(harness.callbackUrl(authorize))).state();
    expect(state.status).toBe('authenticated');
    expect(state.authentication).toEqual({ acr: 'urn:example:mfa', amr: ['pwd', 'otp'], authTime });
  });

  it('refuses an ID token whose auth_time is older than max_age (OIDC Core 3.1.3.7 step 11): id_token_invalid, no session', async () => {
    const { state } = await stepUp({ maxAge: 60 }, (now) => ({ auth_time: now - 10 * 60 }));
    expect(state.status).toBe('unauthenticated');
    expect(state.error?.code).toBe('id_token_invalid');
  });

  it('accepts an auth_time just within max_age and the clock tolerance', async () => {
    const { state, harness } = await stepUp({ maxAge: 60 }, (now) => ({ auth_time: now - 80 })); // 20 s past, within the 30 s tolerance
    expect(state.status).toBe('authenticated');
    expect(state.authentication?.authTime).toBe(seconds(harness) - 80);
  });

  it('refuses an ID token without auth_time when max_age was sent (OIDC Core 3.1.2.1)', async () => {
    const { state } = await stepUp({ maxAge: 600 }, { auth_time: undefined });
    expect(state.status).toBe('unauthenticated');
    expect(state.error?.code).toBe('id_token_invalid');
  });

  it('checks a max_age given through params too', async () => {
    const { state } = await stepUp({ params: { max_age: '30' } }, (now) => ({ auth_time: now - 10 * 60 }));
    expect(state.error?.code).toBe('id_token_invalid');
  });

  it('refuses a max_age that is not a whole number of seconds before leaving for the OP', async () => {
    const harness = await AuthHarness.create();
    await harness.load();
    await expectAsync(harness.auth.login({ maxAge: -1 })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
    expect(harness.browser.navigations).toEqual([]);
  });

  it('shows the acr the OP chose, also when it is not the one asked for (acr_values is voluntary)', async () => {
    const { state } = await stepUp({ acrValues: 'urn:example:mfa' }, { acr: 'urn:example:pwd', amr: ['pwd'] });
    expect(state.status).toBe('authenticated');
    expect(state.authentication?.acr).toBe('urn:example:pwd');
    expect(state.authentication?.amr).toEqual(['pwd']);
  });

  it('has no authentication when signed out, and empty values when the OP names none', async () => {
    const { state, harness } = await stepUp({}, { acr: undefined, amr: undefined, auth_time: undefined });
    expect(state.authentication).toEqual({ acr: null, amr: [], authTime: null });
    await harness.auth.logout({ localOnly: true });
    expect(harness.auth.state().authentication).toBeNull();
  });

  it('keeps auth_time, acr and amr readable after a renewal', async () => {
    const { harness } = await stepUp({ maxAge: 300 }, { acr: 'urn:example:mfa', amr: ['otp'] });
    const before = harness.auth.state().authentication;
    expect(before).toEqual({ acr: 'urn:example:mfa', amr: ['otp'], authTime: jasmine.any(Number) });
    expect((await harness.runNextTimer()).type).toBe('token_renewed');
    expect(harness.auth.state().authentication).toEqual(before);
  });
});
