import { DestroyRef, Injectable, NgZone, inject } from '@angular/core';
import { RenewTrigger } from '../core/auth-state';
import { AUTH_CONFIG } from '../core/config';
import { AuthError, isAuthError } from '../core/errors';
import { MAX_TIMER_MS, RETRY_CAP_MS, backoffDelayMs, classifyFailure, renewAt, retryAllowed } from '../core/renew-timing';
import { Session } from '../core/session';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK, TimerHandle } from '../platform/clock';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { AuthEvents } from '../state/auth-events';
import { SessionStore } from '../state/session-store';
import { TabCoordinator } from '../tabs/tab-coordinator';

/** Wake-up signals: the moments a frozen timer may have missed its due time. */
const WAKE_UP_EVENTS = [
  ['document', 'visibilitychange'],
  ['window', 'pageshow'],
  ['window', 'online'],
  ['window', 'focus'],
  // Not a wake-up: it only tells that renewals would fail until `online`.
  ['window', 'offline'],
] as const;

/**
 * Keeps the session's tokens fresh. One timer, set from the token's expiry (never polling),
 * following the session store; wake-up signals re-check the clock; every trigger shares the
 * renewal in progress; transient failures retry with bounded backoff, permanent ones end the
 * session.
 */
@Injectable({ providedIn: 'root' })
export class RenewScheduler {
  private readonly config = inject(AUTH_CONFIG);
  private readonly protocol = inject(ProtocolLoader);
  private readonly store = inject(SessionStore);
  private readonly events = inject(AuthEvents);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly browser = inject(AuthBrowser);
  private readonly zone = inject(NgZone);
  private readonly tabs = inject(TabCoordinator);
  private inFlight: Promise<Session> | null = null;
  /** Numbers the renewals, so that one that was superseded leaves the one in flight alone. */
  private flights = 0;
  private timer: TimerHandle | null = null;
  /** The time the current timer is meant for; a wake-up compares the clock with it. */
  private dueAt: number | null = null;
  private failures = 0;
  private firstFailureAt = 0;
  private lastAttemptAt = 0;
  /** The last transient failure, while the run of failures lasts. */
  private lastFailure: AuthError | null = null;
  /** Bumped by stop(): a renewal started before a logout must not store its result. */
  private generation = 0;
  private wakeUpsInstalled = false;
  /**
   * Between an `offline` and an `online` event. Taken from the events, not from
   * `navigator.onLine`: that says false wherever no network interface but loopback is up,
   * although an OP on localhost answers fine.
   */
  private offline = false;
  private readonly destroyRef = inject(DestroyRef);

  constructor() {
    // The timer follows the session: armed for each new token set, gone with the session.
    const changes = this.store.changes$.subscribe(({ session }) => (session ? this.sessionChanged(session) : this.stop()));
    this.installWakeUps();
    this.destroyRef.onDestroy(() => {
      changes.unsubscribe();
      this.stop();
    });
  }

  /** Renews now, or joins the renewal in progress. Rejects with the renewal's AuthError. */
  renew(trigger: RenewTrigger): Promise<Session> {
    if (!this.inFlight && trigger === 'token-request' && this.lastFailure && (this.offline || this.clock.now() < this.nextAttemptAllowedAt())) {
      // During an outage, the app's own requests must not turn into a renewal storm: they
      // get the last failure at once, and the scheduled retries carry on. Offline, they fail
      // fast until the `online` event, which forgets the failure and renews at once.
      return Promise.reject(this.lastFailure);
    }
    if (!this.inFlight) {
      const flight = ++this.flights;
      this.track(this.attempt(trigger, flight));
    }
    return this.inFlight!;
  }

  /** Makes `run` the renewal everyone joins, until it settles. */
  private track(run: Promise<Session>): void {
    const tracked: Promise<Session> = run.finally(() => {
      // Only its own: after a logout, a newer renewal may be in flight already.
      if (this.inFlight === tracked) this.inFlight = null;
    });
    this.inFlight = tracked;
  }

  /** The session changed (sign-in, renewal, restore, another tab): the timer follows its expiry. */
  private sessionChanged(session: Session): void {
    this.failures = 0;
    this.lastFailure = null;
    // A session that cannot be renewed ends when its access token expires.
    this.scheduleAt(this.canRenew(session) ? renewAt(session.expiresAt, session.receivedAt, this.config.renew.leadTimeSeconds) : session.expiresAt);
  }

  /** Logout: no timer, no iframe, and no result of a renewal already under way is kept. */
  stop(): void {
    this.generation++;
    this.inFlight = null;
    this.failures = 0;
    this.lastFailure = null;
    this.scheduleAt(null);
    this.protocol.loaded()?.client.cancelRenewal();
  }

  /** Whether the session can be renewed at all with this config. */
  canRenew(session: Session): boolean {
    const { strategy, fallbackToIframe } = this.config.renew;
    if (strategy === 'none') return false;
    if (strategy === 'iframe') return true;
    return Boolean(session.refreshToken) || fallbackToIframe;
  }

  private async attempt(trigger: RenewTrigger, flight: number): Promise<Session> {
    const generation = this.generation;
    const before = this.store.session() ?? this.store.load();
    if (!before) throw new AuthError('no_session', ngDevMode ? 'There is no session to renew.' : '');
    if (!this.canRenew(before)) {
      const error = new AuthError('no_session', ngDevMode ? 'The access token expired and this session cannot be renewed (renew.strategy or no refresh token).' : '');
      this.endSession(error, generation);
      throw error;
    }
    this.scheduleAt(null);
    try {
      // The protocol code is fetched before the lock is taken: other tabs never wait on it.
      const onDemand = await this.protocol.load();
      return await onDemand.renew(before, trigger, {
        current: () => generation === this.generation,
        settle: () => (this.inFlight = null),
      });
    } catch (caught) {
      const error = isAuthError(caught) ? caught : new AuthError('token_error', ngDevMode ? 'The renewal failed.' : '');
      if (generation !== this.generation) throw error;
      if (flight === this.flights) this.inFlight = null;
      this.handleFailure(error, generation);
      throw error;
    }
  }

  private handleFailure(error: AuthError, generation: number): void {
    const failureClass = classifyFailure(error);
    const now = this.clock.now();
    if (failureClass === 'permanent') {
      this.events.emit({ type: 'renew_failed', at: now, error, failureClass, retryInMs: null });
      this.endSession(error, generation);
      return;
    }
    // Transient: the session stays (its refresh token or OP session is still good).
    if (this.failures === 0) this.firstFailureAt = now;
    this.failures++;
    this.lastFailure = error;
    const delay = backoffDelayMs(this.failures);
    const retry = retryAllowed(this.failures, this.firstFailureAt, now, delay);
    this.events.emit({ type: 'renew_failed', at: now, error, failureClass, retryInMs: retry ? delay : null });
    // Out of budget: no more retries by timer. A wake-up (online, visible, focus) or a token
    // request tries again, so an outage never turns into a loop nor into a lost session.
    this.scheduleAt(retry ? now + delay : null);
  }

  /** During a run of failures: the scheduled retry, or (out of budget) one try per retry cap. */
  private nextAttemptAllowedAt(): number {
    return this.dueAt ?? this.lastAttemptAt + RETRY_CAP_MS;
  }

  /**
   * The OP refused the session for good: it ends in every tab. A tab left behind by the
   * others' renewals (stale_session) ends alone: theirs is another matter.
   */
  private endSession(error: AuthError, generation: number): void {
    if (generation !== this.generation) return;
    this.stop();
    const leftBehind = error.code === 'stale_session';
    const ended = this.store.session();
    this.store.clear(leftBehind ? 'left-behind' : 'ended', error);
    // The OP refused this sign-in: the tabs on it follow; a newer sign-in in another tab stays.
    if (!leftBehind && ended) this.tabs.postSignedOut(ended, false);
    this.events.emit({ type: 'session_expired', at: this.clock.now(), error });
  }

  /** One timer at a time, outside the Angular zone; chained when longer than setTimeout allows. */
  private scheduleAt(dueAt: number | null): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.dueAt = dueAt;
    if (dueAt === null) return;
    const delay = Math.max(0, dueAt - this.clock.now());
    this.zone.runOutsideAngular(() => {
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        if (delay > MAX_TIMER_MS) this.scheduleAt(dueAt);
        else this.fire('timer');
      }, Math.min(delay, MAX_TIMER_MS));
    });
  }

  private fire(trigger: RenewTrigger): void {
    this.renew(trigger).catch(() => {
      // reported through events and state; nothing waits on a timer's renewal
    });
  }

  /**
   * The browser is online again. The failures while it was offline say nothing about the
   * network now: they are forgotten, so the app's requests no longer fail fast with them, and a
   * renewal that is due or was failing runs at once rather than at its backoff time. A renewal
   * still in flight (an iframe renewal started offline is abandoned now, see iframe-renew.ts) is
   * followed at once by a new one if it fails, and whoever waits on it gets that one's outcome.
   */
  private onlineAgain(): void {
    const session = this.store.session();
    if (!session) return;
    const wasFailing = this.failures > 0;
    this.failures = 0;
    this.lastFailure = null;
    const previous = this.inFlight;
    if (previous) {
      const flight = ++this.flights;
      this.track(previous.catch(() => this.attempt('wake-up', flight)));
      return;
    }
    if (this.browser.window?.document.visibilityState === 'hidden') return;
    const due = renewAt(session.expiresAt, session.receivedAt, this.config.renew.leadTimeSeconds);
    if (wasFailing || this.clock.now() >= due) this.fire('wake-up');
    else if (this.dueAt !== null) this.scheduleAt(this.dueAt);
  }

  /** A timer may have been frozen (background tab, sleep): compare the clock with the due time. */
  private wakeUp(): void {
    const session = this.store.session();
    if (!session || this.inFlight) return;
    if (this.browser.window?.document.visibilityState === 'hidden') return;
    // Offline, a renewal can only fail: the `online` event will come, and renew then.
    if (this.offline) return;
    if (this.dueAt === null) {
      // Out of retry budget after an outage: a wake-up is worth one more try when the token is due.
      const due = renewAt(session.expiresAt, session.receivedAt, this.config.renew.leadTimeSeconds);
      if (this.failures > 0 && this.clock.now() >= due) {
        this.failures = 0;
        this.lastFailure = null;
        this.fire('wake-up');
      }
      return;
    }
    if (this.clock.now() >= this.dueAt) this.fire('wake-up');
    else this.scheduleAt(this.dueAt); // re-arm: the old timer may fire late after sleep
  }

  private installWakeUps(): void {
    const window = this.browser.window;
    if (!window || this.wakeUpsInstalled) return;
    this.wakeUpsInstalled = true;
    const listener = (event: Event) => {
      if (event.type === 'offline') this.offline = true;
      // A tab frozen or asleep when the network came back never gets `online`: a wake-up that
      // finds the browser online counts as that event. (`navigator.onLine` true is trusted, as
      // some network is up; false is not, see `offline`.)
      else if (event.type === 'online' || (this.offline && window.navigator?.onLine === true)) {
        this.offline = false;
        this.onlineAgain();
      } else this.wakeUp();
    };
    this.zone.runOutsideAngular(() => {
      for (const [target, type] of WAKE_UP_EVENTS) {
        (target === 'document' ? window.document : window).addEventListener(type, listener);
      }
    });
    this.destroyRef.onDestroy(() => {
      for (const [target, type] of WAKE_UP_EVENTS) {
        (target === 'document' ? window.document : window).removeEventListener(type, listener);
      }
    });
  }
}
