// withSessionMonitor()'s lazy chunk (loaded with import() by with-session-monitor.ts once the
// tab holds a session): the OP's check_session iframe, the poll, the prompt=none check of a
// "changed" answer, and the front-channel logout listener.
import type { Observable } from 'rxjs';
// Types only: the error class comes in the context (see MonitorContext.error), so that this
// chunk needs nothing of the start bundle.
import type { AuthError, AuthErrorCode, AuthEvent, Clock, TimerHandle, ɵSession as Session } from 'ngx-oidc-session';

/** The message frontchannel-logout.html posts, and the BroadcastChannel it posts it on (a fixed name: the static page knows no config). */
export const FRONTCHANNEL_MESSAGE = 'ngx-oidc-session:frontchannel-logout';

/** The check_session iframe's answers (OIDC Session Management 1.0 3.2). */
const ANSWERS = new Set(['unchanged', 'changed', 'error']);
/** The OP's answers to prompt=none that say its session is over or is another user's (OIDC Core 3.1.2.6). */
const NO_OP_SESSION = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);
/** Polls in a row the iframe left unanswered (CSP frame-src, X-Frame-Options, a navigated frame) before monitoring is said unavailable. */
const MAX_UNANSWERED = 3;
/** Successful confirmations in a row answered `changed` again (no `unchanged` between) before monitoring is said unavailable. */
const MAX_CONFIRMATIONS = 2;

export interface MonitorStore {
  session(): Session | null;
  readonly changes$: Observable<unknown>;
  clear(cause: 'ended'): void;
}

export interface MonitorTabs {
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  postSignedOut(position: Pick<Session, 'epoch' | 'chain' | 'version'>, everyone: boolean): void;
  /** The newest token set another tab announced (TabCoordinator.announced). */
  announced(): Session | null;
}

/** What the monitor asks of the protocol chunk. */
export interface MonitorProtocol {
  /** The OP's discovery document. */
  discover(): Promise<Readonly<Record<string, unknown>>>;
  /**
   * A prompt=none authorization request with the session's ID token as id_token_hint, in the
   * hidden iframe, checked like any renewal (same `sub`, OIDC Core 12.2 rules). Its tokens are
   * not stored.
   */
  confirm(session: Session): Promise<Session>;
  /** RFC 7009 revocation of a refresh token. */
  revoke(refreshToken: string): Promise<unknown>;
}

export interface MonitorContext {
  readonly window: Window;
  readonly clientId: string;
  /** config.storageNamespace: the key of this instance's monitoring record. */
  readonly storageNamespace: string;
  /** Shared tabs keep the record in localStorage (every tab polls with what one confirmed), isolated ones per tab. */
  readonly sharedTabs: boolean;
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly outsideZone: <T>(run: () => T) => T;
  readonly store: MonitorStore;
  readonly tabs: MonitorTabs;
  readonly emit: (event: AuthEvent) => void;
  readonly protocol: () => Promise<MonitorProtocol>;
  /** Makes the AuthError to report (the core's class, passed in: see the imports). */
  readonly error: (code: AuthErrorCode, message: string) => AuthError;
  /** The renewals' exponential backoff with jitter (core/renew-timing.ts), for failed confirmations. */
  readonly backoffDelayMs: (attempt: number) => number;
}

/**
 * What this browser learnt about one sign-in (`chain`): `worked` once the check_session iframe
 * answered `unchanged` for it (so the iframe can see the OP's session here), `unavailable` once
 * it turned out it cannot, and `from` → `to`: the session_state a confirmation replaced, so that
 * every tab polls with the newest one. No token, nothing secret.
 */
interface MonitorRecord {
  readonly chain: string;
  readonly from?: string;
  readonly to?: string;
  readonly worked?: boolean;
  readonly unavailable?: boolean;
  /** The OP session is over: every tab still on this sign-in (any version of it) ends. */
  readonly ended?: boolean;
  /** The `sid` of the OP session a confirmation found (front-channel logouts name that one). */
  readonly sid?: string;
  /** Successful confirmations since the last `unchanged`. */
  readonly confirmations?: number;
  /** Transient confirmation failures in a row, and when the next confirmation may run (backoff, shared by the tabs). */
  readonly failures?: number;
  readonly retryAt?: number;
}

const RECORD_FIELDS: Readonly<Record<string, string>> = { from: 'string', to: 'string', sid: 'string', worked: 'boolean', unavailable: 'boolean', ended: 'boolean', confirmations: 'number', failures: 'number', retryAt: 'number' };

/**
 * OP session monitoring for one auth instance in one tab (OpenID Connect Session Management
 * 1.0, Front-Channel Logout 1.0).
 *
 * Every `intervalMs` it posts `client_id + " " + session_state` to the OP's check_session
 * iframe, and takes an answer only from that iframe (`event.source`) and the OP's origin
 * (`event.origin`). `changed` is confirmed before anything is ended, since session_state also
 * changes when the user merely signs in again at the OP: under the renewal lock, a prompt=none
 * request with the ID token as hint. A code for the same user keeps the session (with the new
 * session_state; the confirmation's tokens are not taken, its refresh token is revoked); an
 * answer that the OP session is over (login_required, ...) ends it, with `signed_out`
 * `op_session_ended`, in every tab on this sign-in.
 *
 * No false sign-outs: the iframe must have answered `unchanged` once for this sign-in in this
 * browser (`worked`) before a failed confirmation ends anything. Where it never did, as where
 * the browser withholds the OP's cookies from a frame on another site (third-party cookies
 * blocked), a `changed` that the confirmation cannot settle means this browser cannot monitor:
 * said once (`session_monitor` `unavailable`), the polling stops, and the user stays signed in.
 */
export class OpSessionMonitor {
  private iframe: HTMLIFrameElement | null = null;
  private iframeUrl: string | null = null;
  private opOrigin = '';
  private loaded = false;
  private timer: TimerHandle | null = null;
  /** The session_state the poll in flight asked about; an answer to anything else is stale. */
  private asked: string | null = null;
  /** The sign-in followed, and whether its monitoring runs (false once unavailable or ended). */
  private chain: string | null = null;
  private active = false;
  private confirming = false;
  /** Polls in a row with no answer from the iframe. */
  private unanswered = 0;
  /** The record, kept here too when storage refused it (else every poll would confirm again). */
  private kept: MonitorRecord | null = null;
  /** The origins the OP serves from (issuer, endpoints): front-channel logout pages must be framed by one. */
  private opOrigins = new Set<string>();
  /** Statuses said in this page, per sign-in: each once. */
  private readonly said = new Set<string>();
  private readonly recordKey: string;
  private channel: BroadcastChannel | null = null;
  private readonly subscription: { unsubscribe(): void };
  private readonly onMessage = (event: MessageEvent) => this.answer(event);

  constructor(private readonly context: MonitorContext) {
    const window = context.window as Window & typeof globalThis;
    this.recordKey = `${context.storageNamespace}:op-session`;
    context.outsideZone(() => {
      window.addEventListener('message', this.onMessage);
      if (typeof window.BroadcastChannel === 'function') {
        this.channel = new window.BroadcastChannel(FRONTCHANNEL_MESSAGE);
        this.channel.onmessage = (event: MessageEvent) => this.frontchannelLogout(event.data);
      }
    });
    this.subscription = context.store.changes$.subscribe(() => this.follow());
    this.follow();
  }

  /** Ends everything (the auth instance is destroyed). */
  destroy(): void {
    this.pause();
    this.subscription.unsubscribe();
    this.context.window.removeEventListener('message', this.onMessage);
    this.channel?.close();
    this.iframe?.remove();
    this.iframe = null;
  }

  /** The session changed: a new sign-in starts its monitoring, none stops it. */
  private follow(): void {
    const session = this.context.store.session();
    if (!session) {
      this.chain = null;
      this.active = false;
      this.pause();
      return;
    }
    if (session.chain === this.chain) return;
    this.chain = session.chain;
    this.unanswered = 0;
    this.pause();
    void this.begin(session);
  }

  private async begin(session: Session): Promise<void> {
    const still = () => this.context.store.session()?.chain === session.chain;
    if (this.read(session).ended) return this.endSession(session);
    if (typeof session.sessionState !== 'string' || !session.sessionState) return this.unavailable(session, 'The OP sent no session_state with this sign-in.');
    if (this.read(session).unavailable) return this.unavailable(session, 'The check_session iframe cannot see the OP session in this browser (found earlier for this sign-in).');
    let metadata: Readonly<Record<string, unknown>>;
    try {
      metadata = await (await this.context.protocol()).discover();
    } catch {
      // Discovery failed (offline, the OP down): tried again after an interval.
      if (still()) this.timer = this.context.outsideZone(() => this.context.clock.setTimeout(() => this.retry(session), this.context.intervalMs));
      return;
    }
    if (!still()) return;
    const iframeUrl = metadata['check_session_iframe'];
    const authorizationEndpoint = metadata['authorization_endpoint'];
    if (typeof iframeUrl !== 'string') return this.unavailable(session, 'The OP offers no check_session_iframe (discovery).');
    let origin: string | null = null;
    try {
      origin = new URL(iframeUrl).origin;
      // The iframe reads the OP's cookies: it must be served where the user signs in. Kept in
      // production: the poll's target origin, and the origin answers are taken from, is this.
      if (typeof authorizationEndpoint !== 'string' || new URL(authorizationEndpoint).origin !== origin) origin = null;
    } catch {
      origin = null;
    }
    if (!origin || !/^https?:$/.test(new URL(iframeUrl).protocol)) {
      return this.unavailable(session, "The OP's check_session_iframe is not on the origin of its authorization endpoint: not used.");
    }
    this.active = true;
    this.opOrigin = origin;
    for (const endpoint of [authorizationEndpoint, metadata['end_session_endpoint']]) if (typeof endpoint === 'string') this.opOrigins.add(new URL(endpoint).origin);
    if (this.iframe && this.iframeUrl === iframeUrl) {
      if (this.loaded) this.poll();
      return;
    }
    this.iframe?.remove();
    const iframe = this.context.window.document.createElement('iframe');
    iframe.setAttribute('aria-hidden', 'true');
    iframe.setAttribute('tabindex', '-1');
    iframe.title = 'session check';
    iframe.style.cssText = 'position:absolute;width:0;height:0;border:0;visibility:hidden';
    this.iframe = iframe;
    this.iframeUrl = iframeUrl;
    this.loaded = false;
    iframe.addEventListener('load', () => {
      if (this.iframe !== iframe) return;
      this.loaded = true;
      if (this.active && !this.confirming) this.poll();
    });
    iframe.src = iframeUrl;
    this.context.window.document.body.appendChild(iframe);
    // A frame that never loads (blocked before any page) would leave the poll waiting forever.
    this.timer = this.context.outsideZone(() =>
      this.context.clock.setTimeout(() => {
        if (this.iframe === iframe && !this.loaded) this.unavailable(session, "The OP's check_session iframe did not load (CSP frame-src?).");
      }, this.context.intervalMs * MAX_UNANSWERED),
    );
  }

  private retry(session: Session): void {
    this.timer = null;
    if (this.context.store.session()?.chain === session.chain) void this.begin(session);
  }

  /** Asks the OP's iframe about the session now, and again every interval. */
  private poll(): void {
    const unanswered = this.asked !== null;
    this.pause();
    const session = this.context.store.session();
    if (!session || session.chain !== this.chain || !this.active || this.confirming) return;
    // Another tab may have found the OP session over, or monitoring impossible, meanwhile.
    const record = this.read(session);
    if (record.ended) return this.endSession(session);
    if (record.unavailable) return this.unavailable(session, 'Another tab found that the check_session iframe cannot see the OP session in this browser.');
    const state = this.currentState(session);
    // An iframe renewal whose response had no session_state leaves nothing to ask about.
    if (!state) return this.unavailable(session, 'The session has no session_state (an iframe renewal brought none).');
    if (unanswered && ++this.unanswered >= MAX_UNANSWERED) return this.unavailable(session, 'The check_session iframe does not answer (CSP frame-src, X-Frame-Options, or a navigated frame?).');
    this.asked = state;
    this.iframe?.contentWindow?.postMessage(`${this.context.clientId} ${state}`, this.opOrigin);
    this.timer = this.context.outsideZone(() => this.context.clock.setTimeout(() => this.poll(), this.context.intervalMs));
  }

  private pause(): void {
    if (this.timer !== null) this.context.clock.clearTimeout(this.timer);
    this.timer = null;
    this.asked = null;
  }

  /** An answer of the check_session iframe: only from it, only from the OP's origin, only to the poll in flight. */
  private answer(event: MessageEvent): void {
    if (!this.iframe || event.source !== this.iframe.contentWindow || event.origin !== this.opOrigin) return;
    const answer = event.data;
    if (typeof answer !== 'string' || !ANSWERS.has(answer) || this.asked === null) return;
    const asked = this.asked;
    this.asked = null;
    this.unanswered = 0;
    const session = this.context.store.session();
    if (!session || session.chain !== this.chain || !this.active || this.currentState(session) !== asked) return;
    if (answer === 'unchanged') {
      const record = this.read(session);
      if (!record.worked || record.confirmations || record.failures) this.write({ ...record, worked: true, confirmations: 0, failures: 0, retryAt: undefined });
      this.say(session, 'monitoring', null);
    } else if (answer === 'changed') {
      void this.confirm(session, asked);
    } else {
      this.unavailable(session, 'The check_session iframe answered "error" (it does not know this client or origin).');
    }
  }

  /**
   * `changed`: under the renewal lock (one tab confirms; the others then poll with its result),
   * a prompt=none request decides. The OP's session over, or another user's, ends this session,
   * but only where monitoring worked for it; elsewhere it means this browser cannot monitor.
   */
  private async confirm(session: Session, asked: string): Promise<void> {
    this.confirming = true;
    this.pause();
    const { store, tabs, protocol, clock } = this.context;
    try {
      await tabs.exclusive(async () => {
        const now = store.session();
        // Signed out or in again meanwhile, or another tab confirmed this change already.
        if (!now || now.chain !== session.chain || this.currentState(now) !== asked) return;
        const record = this.read(now);
        if (record.ended) return this.endSession(now);
        if (record.unavailable) return this.unavailable(now, 'Another tab found that the check_session iframe cannot see the OP session in this browser.');
        // Backing off after failures (in any tab): the next poll asks again.
        if (record.retryAt && record.retryAt > clock.now()) return;
        // The OP's iframe said `changed` for the very session_state the OP has just given, where
        // it never answered `unchanged`, or again and again after confirmations: it cannot see the
        // OP's session from this page, and confirming again would only repeat the same requests.
        if ((!record.worked && asked === record.to) || (record.confirmations ?? 0) >= MAX_CONFIRMATIONS) {
          return this.unavailable(now, 'The check_session iframe keeps saying "changed" for the session_state the OP has just confirmed (third-party cookies blocked?).');
        }
        const ops = await protocol();
        let confirmed: Session;
        try {
          confirmed = await ops.confirm(now);
        } catch (caught) {
          if (store.session()?.chain !== now.chain) return; // a logout cancelled it
          const error = caught as Partial<AuthError>;
          const details = error.details as { oauthError?: string; differentUser?: boolean } | undefined;
          // Only the OP's own answer that its session is over, or a sign-in of another user
          // (OIDC Core 3.1.2.6, 12.2), ends the session; a token check failing for another
          // reason (clock skew, an unknown key) says nothing about the OP session.
          const over = NO_OP_SESSION.has(details?.oauthError ?? '') || details?.differentUser === true;
          if (over && record.worked) this.endSession(now);
          else if (over) this.unavailable(now, 'The check_session iframe said "changed" but the OP session could not be confirmed (the iframe cannot read the OP cookies: third-party cookies blocked?).');
          else {
            // Transient or unexplained: tried again after a backoff shared by the tabs.
            const failures = (record.failures ?? 0) + 1;
            this.write({ ...record, failures, retryAt: clock.now() + this.context.backoffDelayMs(failures) });
          }
          return;
        }
        // The session goes on with its own tokens; the confirmation's grant is not used.
        if (confirmed.refreshToken && confirmed.refreshToken !== now.refreshToken) void ops.revoke(confirmed.refreshToken).catch(() => undefined);
        if (!confirmed.sessionState) return this.unavailable(now, 'The OP confirmed the session without a session_state.');
        const sid = confirmed.idTokenClaims['sid'];
        this.write({
          chain: now.chain,
          worked: record.worked,
          from: now.sessionState,
          to: confirmed.sessionState,
          sid: typeof sid === 'string' ? sid : record.sid,
          confirmations: (record.confirmations ?? 0) + 1,
        });
      });
    } catch {
      // The lock or the chunk failed: asked again at the next poll.
    } finally {
      this.confirming = false;
    }
    if (this.active && this.context.store.session()?.chain === session.chain) {
      this.timer = this.context.outsideZone(() => this.context.clock.setTimeout(() => this.poll(), this.context.intervalMs));
    }
  }

  /**
   * Front-Channel Logout 1.0 4: the OP loaded frontchannel-logout.html with `iss` and `sid`,
   * which posted them here. Only a session of that issuer with that very `sid` ends; without a
   * `sid` in the ID token nothing does (the dev OP and Keycloak send one).
   */
  private frontchannelLogout(data: unknown): void {
    const message = data as { type?: unknown; iss?: unknown; sid?: unknown; origin?: unknown } | null;
    if (message?.type !== FRONTCHANNEL_MESSAGE) return;
    const session = this.context.store.session();
    if (!session || message.iss !== session.idTokenClaims.iss || typeof message.sid !== 'string' || !message.sid) return;
    // The sid is not secret (Keycloak's is the session_state of the callback URL): the page
    // must have been framed by the OP itself (it posts its embedder's origin, or nothing).
    let issuerOrigin = '';
    try {
      issuerOrigin = new URL(session.idTokenClaims.iss).origin;
    } catch {
      // no origin: only the endpoints' count
    }
    if (typeof message.origin !== 'string' || (message.origin !== issuerOrigin && !this.opOrigins.has(message.origin))) return;
    // The sign-in's sid, or the one of the OP session a confirmation found since.
    if (message.sid !== session.idTokenClaims['sid'] && message.sid !== this.read(session).sid) return;
    this.endSession(session);
  }

  /**
   * The OP session is over: this sign-in ends in every tab on it, whatever version of its tokens
   * each holds (another tab may have renewed past this one), and the newest refresh token known
   * here is revoked. The record keeps `ended`, so that a tab that missed the broadcast (frozen,
   * or loading) ends too at its next look.
   */
  private endSession(session: Session): void {
    const { store, tabs, clock, emit, protocol } = this.context;
    this.active = false;
    this.pause();
    this.write({ chain: session.chain, ended: true });
    const announced = tabs.announced();
    const newer = announced?.chain === session.chain && announced.version > session.version ? announced : null;
    store.clear('ended');
    tabs.postSignedOut({ epoch: session.epoch, chain: session.chain, version: Number.MAX_SAFE_INTEGER }, false);
    emit({ type: 'signed_out', at: clock.now(), reason: 'op_session_ended' });
    for (const refreshToken of new Set([newer?.refreshToken, session.refreshToken])) {
      if (refreshToken) void protocol().then((ops) => ops.revoke(refreshToken)).catch(() => undefined);
    }
  }

  /** This browser cannot monitor this sign-in: said once, no more polls, the session stays. */
  private unavailable(session: Session, message: string): void {
    this.active = false;
    this.pause();
    this.iframe?.remove();
    this.iframe = null;
    const record = this.read(session);
    if (session.sessionState && !record.unavailable) this.write({ ...record, unavailable: true });
    this.say(session, 'unavailable', this.context.error('session_monitor_unavailable', ngDevMode ? message : ''));
  }

  private say(session: Session, status: 'monitoring' | 'unavailable', error: AuthError | null): void {
    const key = `${session.chain} ${status}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    this.context.emit({ type: 'session_monitor', at: this.context.clock.now(), status, error });
  }

  /** The session_state to poll with: the session's own, or what a confirmation in any tab replaced it with. */
  private currentState(session: Session): string | undefined {
    const record = this.read(session);
    return record.to && record.from === session.sessionState ? record.to : session.sessionState;
  }

  private storage(): Storage | null {
    try {
      return this.context.sharedTabs ? this.context.window.localStorage : this.context.window.sessionStorage;
    } catch {
      return null;
    }
  }

  /** This sign-in's record; another sign-in's, or a malformed one, counts as none. */
  private read(session: Session): MonitorRecord {
    try {
      if (this.kept?.chain === session.chain) return this.kept;
      const record = JSON.parse(this.storage()?.getItem(this.recordKey) ?? 'null') as Record<string, unknown> | null;
      if (record?.['chain'] === session.chain && Object.entries(RECORD_FIELDS).every(([key, type]) => record[key] === undefined || typeof record[key] === type)) return record as unknown as MonitorRecord;
    } catch {
      // malformed: none
    }
    return { chain: session.chain };
  }

  private write(record: MonitorRecord): void {
    try {
      this.storage()?.setItem(this.recordKey, JSON.stringify(record));
      this.kept = null;
    } catch {
      // Storage refused: this page keeps it (so that it does not confirm again at every poll).
      this.kept = record;
    }
  }
}
