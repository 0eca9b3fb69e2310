import { Injectable, NgZone, inject } from '@angular/core';
import { AUTH_CONFIG } from '../core/config';
import { AuthError } from '../core/errors';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK } from '../platform/clock';
import { OP_FETCH } from '../platform/op-fetch';
import { AuthEvents } from '../state/auth-events';
import { DiscoveryCache } from '../state/discovery-cache';
import { SessionStore } from '../state/session-store';
import { SignInAttempts } from '../state/sign-in-attempts';
import { TabCoordinator } from '../tabs/tab-coordinator';
import type { OnDemand } from './on-demand';

/** How long after start an idle browser may wait before the protocol code is fetched anyway. */
const PREFETCH_DEADLINE_MS = 2_000;

/**
 * The one boundary between the code every page needs at start and the protocol code
 * (oauth4webapi and everything that uses it), which comes in its own chunk. A page that
 * restores a stored session starts without it; it is loaded at once when a sign-in, a
 * callback, a logout or a renewal needs it, and otherwise as soon as the browser is idle
 * after start. Once loaded it stays in memory: a deploy that replaces the chunks on the server
 * cannot break the renewals of a tab that is already open.
 */
@Injectable({ providedIn: 'root' })
export class ProtocolLoader {
  private readonly config = inject(AUTH_CONFIG);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly discovery = inject(DiscoveryCache);
  private readonly fetch = inject(OP_FETCH, { optional: true });
  private readonly browser = inject(AuthBrowser);
  private readonly zone = inject(NgZone);
  private readonly store = inject(SessionStore);
  private readonly tabs = inject(TabCoordinator);
  private readonly events = inject(AuthEvents);
  private readonly attempts = inject(SignInAttempts);
  private loading: Promise<OnDemand> | null = null;
  private onDemand: OnDemand | null = null;

  /** The protocol chunk's entry, loading the chunk first if needed. */
  load(): Promise<OnDemand> {
    this.loading ??= import('./on-demand').then(
      ({ OnDemand }) =>
        (this.onDemand = new OnDemand({
          config: this.config,
          clock: this.clock,
          discovery: this.discovery,
          fetch: this.fetch,
          window: this.browser.window,
          setTimer: (callback, ms) => {
            const window = this.browser.window;
            const timer = this.zone.runOutsideAngular(() => window?.setTimeout(callback, ms));
            return () => window?.clearTimeout(timer);
          },
          store: this.store,
          tabs: this.tabs,
          events: this.events,
          attempts: this.attempts,
          browser: this.browser,
        })),
      () => {
        // A failed fetch of the chunk (offline, a deploy that removed it) is tried again next time.
        this.loading = null;
        throw new AuthError('network_error', ngDevMode ? 'The sign-in code (a lazy chunk of ngx-oidc-session) could not be loaded.' : '', true);
      },
    );
    return this.loading;
  }

  /** The protocol chunk's entry if it is loaded already, else null. */
  loaded(): OnDemand | null {
    return this.onDemand;
  }

  /** Loads the protocol chunk when the browser is next idle (within a deadline). */
  prefetch(): void {
    const window = this.browser.window as (Window & typeof globalThis) | null;
    if (!window || this.loading) return;
    const load = () => void this.load().catch(() => undefined);
    this.zone.runOutsideAngular(() => {
      if (typeof window.requestIdleCallback === 'function') window.requestIdleCallback(load, { timeout: PREFETCH_DEADLINE_MS });
      else if (typeof window.setTimeout === 'function') window.setTimeout(load, PREFETCH_DEADLINE_MS);
    });
  }
}
