import { DestroyRef, NgZone, inject, provideEnvironmentInitializer } from '@angular/core';
import { AuthError, AuthFeature } from 'ngx-oidc-session';
// The primary entry point's internals this entry point needs (ɵ: not public, see its public-api.ts).
import {
  ɵAUTH_CLOCK as AUTH_CLOCK,
  ɵAUTH_CONFIG as AUTH_CONFIG,
  ɵAuthBrowser as AuthBrowser,
  ɵAuthEvents as AuthEvents,
  ɵProtocolLoader as ProtocolLoader,
  ɵSessionStore as SessionStore,
  ɵTabCoordinator as TabCoordinator,
  ɵauthFeature as authFeature,
  ɵbackoffDelayMs as backoffDelayMs,
} from 'ngx-oidc-session';
import type { OpSessionMonitor } from './op-session-monitor';

export interface SessionMonitorOptions {
  /**
   * How often the OP's check_session iframe is asked about the session, in seconds (default 5,
   * between 1 and 300). A sign-out at the OP is seen within about this long (plus one prompt=none
   * round trip). A poll is a postMessage to the iframe, with no request to the OP.
   */
  readonly intervalSeconds?: number;
}

const DEFAULT_INTERVAL_SECONDS = 5;

/**
 * OP session monitoring: when the user signs out at the OP (in another app, or in another tab),
 * the app learns it and ends the session, with a `signed_out` event of reason `op_session_ended`.
 * - OpenID Connect Session Management 1.0, where the OP advertises a `check_session_iframe`:
 *   polled every `intervalSeconds`; a `changed` answer is confirmed by a prompt=none request in
 *   the hidden iframe before anything ends (so a re-authentication at the OP signs nobody out).
 * - OpenID Connect Front-Channel Logout 1.0: register `<app>/frontchannel-logout.html` (a static
 *   page this package ships with its frontchannel-logout.js, beside silent-renew.html) as the client's `frontchannel_logout_uri`
 *   with `frontchannel_logout_session_required`; a logout at the OP loads it with `iss` and `sid`,
 *   and the session with that `sid` ends.
 *
 * Where the browser withholds the OP's cookies from a frame on another site (third-party cookies
 * blocked) neither can work: the app says so once (`session_monitor` event, status
 * `unavailable`, error `session_monitor_unavailable`) and the user stays signed in. Needs
 * `renew.silentRenewUrl` (the prompt=none check lands there). Nothing runs on the server.
 *
 * ```ts
 * provideAuth(config, withSessionMonitor({ intervalSeconds: 5 }))
 * ```
 */
export function withSessionMonitor(options: SessionMonitorOptions = {}): AuthFeature<'session-monitor'> {
  const seconds = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  // Kept in production: too short a poll would keep the OP's iframe busy, too long one misses sign-outs.
  if (typeof seconds !== 'number' || !(seconds >= 1 && seconds <= 300)) {
    throw new AuthError('config_invalid', ngDevMode ? `ngx-oidc-session: withSessionMonitor({ intervalSeconds }) must be a number of seconds between 1 and 300 (got ${String(seconds)}).` : '', false, {
      configKey: 'sessionMonitor.intervalSeconds',
    });
  }
  return authFeature('session-monitor', [provideEnvironmentInitializer(() => startSessionMonitor(seconds * 1000))]);
}

/**
 * Runs in the auth instance's injector when it is created: follows its session store, and loads
 * the monitor (this entry point's lazy chunk) once the tab holds a session.
 */
function startSessionMonitor(intervalMs: number): void {
  const config = inject(AUTH_CONFIG);
  // Checked at start, in production too: a `changed` answer is confirmed through that page.
  if (!config.renew.silentRenewUrl) {
    throw new AuthError(
      'config_invalid',
      ngDevMode ? 'ngx-oidc-session: config.renew.silentRenewUrl is required by withSessionMonitor(): set it to the page ng add generated, e.g. "/silent-renew.html", and register it as a redirect URI at the OP.' : '',
      false,
      { configKey: 'renew.silentRenewUrl' },
    );
  }
  const browser = inject(AuthBrowser);
  const window = browser.isBrowser ? browser.window : null;
  if (!window) return; // server-side rendering: nothing to watch
  const store = inject(SessionStore);
  const tabs = inject(TabCoordinator);
  const events = inject(AuthEvents);
  const clock = inject(AUTH_CLOCK);
  const zone = inject(NgZone);
  const protocol = inject(ProtocolLoader);
  // Settles with null when the chunk did not load (no unhandled rejection; the next change retries).
  let monitor: Promise<OpSessionMonitor | null> | null = null;
  let destroyed = false;
  const load = () => {
    if (monitor || destroyed || !store.session()) return;
    monitor = import('./op-session-monitor').then(
      ({ OpSessionMonitor }) =>
        new OpSessionMonitor({
          window,
          clientId: config.clientId,
          storageNamespace: config.storageNamespace,
          sharedTabs: config.tabs === 'shared',
          intervalMs,
          clock,
          outsideZone: (run) => zone.runOutsideAngular(run),
          store,
          tabs,
          emit: (event) => zone.run(() => events.emit(event)),
          protocol: async () => {
            const { client } = await protocol.load();
            return {
              discover: () => client.discover(),
              confirm: (session) => client.silentRenew(session),
              revoke: (refreshToken) => client.revoke(refreshToken, 'refresh_token'),
            };
          },
          error: (code, message) => new AuthError(code, message),
          backoffDelayMs: (attempt) => backoffDelayMs(attempt),
        }),
      () => {
        monitor = null; // the chunk did not load: tried again with the next session change
        return null;
      },
    );
  };
  const changes = store.changes$.subscribe(load);
  inject(DestroyRef).onDestroy(() => {
    destroyed = true;
    changes.unsubscribe();
    void monitor?.then((created) => created?.destroy());
  });
}
