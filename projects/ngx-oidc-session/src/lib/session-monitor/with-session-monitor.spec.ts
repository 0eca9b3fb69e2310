import { TestBed } from '@angular/core/testing';
import { AuthHarness } from '../../testing/harness';
import { AuthError } from '../core/errors';
import { provideAuth } from '../provide-auth';
import { SessionStore } from '../state/session-store';
import { withName } from '../multi/named-instances';
import { withSessionMonitor } from '../../../session-monitor/src/with-session-monitor';

describe('withSessionMonitor()', () => {
  it('keeps the session_state of the authorization response with the session (stored), and across a refresh', async () => {
    const harness = await AuthHarness.create();
    await harness.load();
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize, { session_state: 'opaque-state.salt' }));
    const store = TestBed.inject(SessionStore);
    expect(store.session()?.sessionState).toBe('opaque-state.salt');
    expect(store.peekStored()?.sessionState).toBe('opaque-state.salt');
    await harness.auth.renew();
    expect(harness.refreshGrants().length).toBe(1);
    expect(store.session()?.version).toBe(1);
    expect(store.session()?.sessionState).toBe('opaque-state.salt');
  });

  it('has none when the OP sent none', async () => {
    const harness = await AuthHarness.create();
    await harness.signIn();
    expect(TestBed.inject(SessionStore).session()?.sessionState).toBeUndefined();
  });

  it('refuses an interval outside 1 to 300 seconds, or not a number, with config_invalid', () => {
    for (const intervalSeconds of [0, 0.5, 301, Number.NaN, '5' as unknown as number]) {
      expect(() => withSessionMonitor({ intervalSeconds })).toThrowMatching(
        (error: unknown) => error instanceof AuthError && error.code === 'config_invalid' && error.details.configKey === 'sessionMonitor.intervalSeconds',
      );
    }
    expect(() => withSessionMonitor({ intervalSeconds: 1 })).not.toThrow();
    expect(() => withSessionMonitor()).not.toThrow();
  });

  it('needs renew.silentRenewUrl (the prompt=none check lands there): config_invalid at start', async () => {
    const harness = await AuthHarness.create();
    harness.features = [withSessionMonitor()];
    await expectAsync(harness.load()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'renew.silentRenewUrl' } }));
    const withPage = new AuthHarness(harness.op, { renew: { silentRenewUrl: '/silent-renew.html' } });
    withPage.features = [withSessionMonitor()];
    await expectAsync(withPage.load()).toBeResolved();
  });

  it('belongs to the instance it was given to: a named instance runs it with its own config, the default one does not get it', async () => {
    const named = (silentRenewUrl: string | undefined, monitored: boolean) => async () => {
      const harness = await AuthHarness.create({ renew: { silentRenewUrl: '/silent-renew.html' } });
      harness.providers = [
        provideAuth(
          { authority: harness.op.issuer, clientId: harness.op.clientId, storage: harness.storage, redirectUrl: '/?op=partner', renew: silentRenewUrl ? { silentRenewUrl } : {} },
          withName('partner'),
          ...(monitored ? [withSessionMonitor()] : []),
        ),
      ];
      return harness.load();
    };
    // The partner's own config is checked (it has no silent-renew page), not the default one's.
    await expectAsync(named(undefined, true)()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'renew.silentRenewUrl' } }));
    await expectAsync(named(undefined, false)()).toBeResolved();
    const harness = await AuthHarness.create();
    harness.providers = [provideAuth({ authority: harness.op.issuer, clientId: harness.op.clientId, storage: harness.storage, redirectUrl: '/?op=partner', renew: { silentRenewUrl: '/silent-renew.html?op=partner' } }, withName('partner'), withSessionMonitor())];
    // The default instance (no silent-renew page) does not run the partner's feature.
    await expectAsync(harness.load()).toBeResolved();
  });
});
