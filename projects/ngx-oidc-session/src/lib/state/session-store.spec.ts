import { AuthHarness } from '../../testing/harness';
import { AuthEvent } from '../core/auth-state';

const KEY_PREFIX = 'ngx-oidc-session:';
const isSessionKey = (key: string) => key.startsWith(KEY_PREFIX) && key.endsWith(':session');

describe('SessionStore when the browser refuses to store the session', () => {
  let harness: AuthHarness;

  beforeEach(async () => {
    harness = await AuthHarness.create({ storage: 'local' });
    harness.browser.windowRef = window; // the real localStorage of the test browser
    await harness.signIn();
    expect(Object.keys(localStorage).filter(isSessionKey).length).toBe(1);
  });

  afterEach(() => {
    for (const key of Object.keys(localStorage)) if (key.startsWith(KEY_PREFIX)) localStorage.removeItem(key);
  });

  const errors = (): AuthEvent[] => harness.events.filter((event) => event.type === 'error');

  it('goes on in memory after a QuotaExceededError, with one error event that says why', async () => {
    spyOn(Storage.prototype, 'setItem').and.throwError(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
    expect((await harness.runNextTimer()).type).toBe('token_renewed');
    expect(await harness.auth.getAccessToken()).toBe('at-2');
    expect(harness.auth.state().status).toBe('authenticated');
    expect(errors().map((event) => event.type === 'error' && event.error.code)).toEqual(['storage_unavailable']);
    // The spent token set no longer sits in storage, where a reload would take it for current.
    expect(Object.keys(localStorage).filter(isSessionKey)).toEqual([]);
    // The next renewal uses the refresh token kept in memory, and reports nothing new.
    expect((await harness.runNextTimer()).type).toBe('token_renewed');
    expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
    expect(errors().length).toBe(1);
  });

  it('says nothing while storage works', async () => {
    await harness.runNextTimer();
    expect(errors()).toEqual([]);
  });
});
