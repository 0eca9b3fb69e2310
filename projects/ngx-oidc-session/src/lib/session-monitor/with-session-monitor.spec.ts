import { TestBed } from '@angular/core/testing';
import { FakeBrowser, FakeWindow } from '../../testing/fake-browser';
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

  /** Just enough of a page for the monitor: an iframe that records what it is sent, storage. */
  class MonitorWindow extends FakeWindow {
    readonly frames: { src: string; sent: string[] }[] = [];
    readonly localStorage = new Map<string, string>();
    constructor() {
      super();
      const storage = { getItem: (key: string) => this.localStorage.get(key) ?? null, setItem: (key: string, value: string) => void this.localStorage.set(key, value), removeItem: (key: string) => void this.localStorage.delete(key) };
      Object.assign(this, { sessionStorage: storage });
      Object.defineProperty(this, 'localStorage', { value: storage });
      Object.assign(this.document, {
        createElement: () => {
          const sent: string[] = [];
          const frame = { src: '', title: '', style: {}, sent, setAttribute() {}, addEventListener(type: string, listener: () => void) { if (type === 'load') queueMicrotask(listener); }, remove() {}, contentWindow: { postMessage: (message: string) => sent.push(message) } };
          this.frames.push(frame);
          return frame;
        },
        body: { appendChild: () => undefined },
      });
    }
  }

  async function monitoredHarness(): Promise<{ harness: AuthHarness; window: MonitorWindow }> {
    const harness = await AuthHarness.create({ renew: { silentRenewUrl: '/silent-renew.html' } });
    harness.op.metadata['check_session_iframe'] = `${harness.op.issuer}/check-session`;
    const window = new MonitorWindow();
    const browser = new FakeBrowser();
    browser.windowRef = window as unknown as Window;
    Object.defineProperty(harness, 'browser', { value: browser });
    harness.features = [withSessionMonitor({ intervalSeconds: 2 })];
    await harness.load();
    return { harness, window };
  }

  it('in the browser: loads the monitor once the tab holds a session, which asks the OP check_session iframe about it', async () => {
    const { harness, window } = await monitoredHarness();
    expect(window.frames).toEqual([]);
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize, { session_state: 'opaque-state.salt' }));
    // The lazy chunk, discovery and the iframe's load are promises: wait until the first poll went out.
    while (!window.frames[0]?.sent.length) await new Promise((resolve) => setTimeout(resolve));
    expect(window.frames.map((frame) => frame.src)).toEqual([`${harness.op.issuer}/check-session`]);
    expect(window.frames[0].sent).toEqual([`${harness.op.clientId} opaque-state.salt`]);
  });
});
