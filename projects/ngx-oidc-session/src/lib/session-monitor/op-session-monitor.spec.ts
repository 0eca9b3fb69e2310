import { Subject } from 'rxjs';
import { AuthError, AuthEvent, ɵSession as Session } from 'ngx-oidc-session';
import { FakeClock } from '../../testing/fake-clock';
import { FRONTCHANNEL_MESSAGE, MonitorProtocol, OpSessionMonitor } from '../../../session-monitor/src/op-session-monitor';

const OP = 'https://op.example';
const CLIENT = 'spa';
const INTERVAL = 5_000;

/** The check_session iframe as the monitor sees it: what it was sent, and how it answers. */
class FakeFrame {
  src = '';
  title = '';
  readonly style = { cssText: '' };
  removed = false;
  private onLoad: (() => void) | null = null;
  readonly sent: { message: string; targetOrigin: string }[] = [];
  readonly contentWindow = { postMessage: (message: string, targetOrigin: string) => this.sent.push({ message, targetOrigin }) };
  setAttribute(): void {}
  addEventListener(type: string, listener: () => void): void {
    if (type === 'load') this.onLoad = listener;
  }
  remove(): void {
    this.removed = true;
  }
  load(): void {
    this.onLoad?.();
  }
}

class FakeChannel {
  static last: FakeChannel | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  constructor(readonly name: string) {
    FakeChannel.last = this;
  }
  close(): void {}
}

function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    getItem: (key: string) => map.get(key) ?? null,
    setItem: (key: string, value: string) => void map.set(key, value),
    removeItem: (key: string) => void map.delete(key),
  } as Storage;
}

function session(overrides: Partial<Session> = {}): Session {
  return {
    accessToken: 'at',
    tokenType: 'bearer',
    expiresAt: Date.now() + 300_000,
    refreshToken: 'rt-1',
    idToken: 'id-token',
    idTokenClaims: { iss: OP, sub: 'alice', aud: CLIENT, exp: 2e9, iat: 1e9, sid: 'sid-1' },
    receivedAt: Date.now(),
    epoch: 1,
    chain: 'chain-1',
    version: 0,
    sessionState: 'state-1.salt',
    ...overrides,
  };
}

describe('OpSessionMonitor (check_session iframe, prompt=none confirmation, front-channel logout)', () => {
  let clock: FakeClock;
  let frames: FakeFrame[];
  let listeners: ((event: MessageEvent) => void)[];
  let current: Session | null;
  let changes: Subject<void>;
  let cleared: string[];
  let signedOut: { position: Session; everyone: boolean }[];
  let events: AuthEvent[];
  let metadata: Record<string, unknown>;
  let protocol: jasmine.SpyObj<MonitorProtocol>;
  let storage: Storage;
  let monitor: OpSessionMonitor | null;
  let announced: Session | null;
  let backoff: number;

  const frame = () => frames[frames.length - 1];
  const answer = (data: unknown, { origin = OP, source = frame().contentWindow as unknown }: { origin?: string; source?: unknown } = {}) => {
    for (const listener of listeners) listener({ data, origin, source } as MessageEvent);
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve));
  const signOutReasons = () => events.filter((event) => event.type === 'signed_out').map((event) => (event as { reason: string }).reason);
  const statuses = () => events.filter((event) => event.type === 'session_monitor').map((event) => (event as { status: string }).status);

  async function start(): Promise<OpSessionMonitor> {
    const window = {
      document: {
        createElement: () => {
          const created = new FakeFrame();
          frames.push(created);
          return created;
        },
        body: { appendChild: () => undefined },
      },
      addEventListener: (type: string, listener: (event: MessageEvent) => void) => type === 'message' && listeners.push(listener),
      removeEventListener: (type: string, listener: (event: MessageEvent) => void) => (listeners = listeners.filter((each) => each !== listener)),
      BroadcastChannel: FakeChannel,
      localStorage: storage,
      sessionStorage: storage,
    } as unknown as Window;
    monitor = new OpSessionMonitor({
      window,
      clientId: CLIENT,
      storageNamespace: 'ns',
      sharedTabs: true,
      intervalMs: INTERVAL,
      clock,
      outsideZone: (run) => run(),
      store: {
        session: () => current,
        changes$: changes,
        clear: (cause) => {
          cleared.push(cause);
          current = null;
          changes.next();
        },
      },
      tabs: { exclusive: (task) => task(), postSignedOut: (position, everyone) => signedOut.push({ position: position as Session, everyone }), announced: () => announced },
      emit: (event) => events.push(event),
      protocol: async () => protocol,
      error: (code, message) => new AuthError(code, message),
      backoffDelayMs: (attempt) => backoff * 2 ** (attempt - 1),
    });
    await settle();
    return monitor;
  }

  /** Starts, loads the iframe, and gets the first `unchanged`: monitoring works for this sign-in. */
  async function startWorking(): Promise<void> {
    await start();
    frame().load();
    answer('unchanged');
  }

  beforeEach(() => {
    clock = new FakeClock();
    frames = [];
    listeners = [];
    current = session();
    changes = new Subject<void>();
    cleared = [];
    signedOut = [];
    events = [];
    storage = memoryStorage();
    metadata = { authorization_endpoint: `${OP}/auth`, check_session_iframe: `${OP}/session/check` };
    protocol = jasmine.createSpyObj<MonitorProtocol>('protocol', ['discover', 'confirm', 'revoke']);
    protocol.discover.and.callFake(async () => metadata);
    protocol.revoke.and.resolveTo(true);
    monitor = null;
    announced = null;
    backoff = 1_000;
  });

  afterEach(() => monitor?.destroy());

  it('loads the OP check_session iframe and asks "client_id session_state" at once, then every interval, to the OP origin only', async () => {
    await start();
    expect(frames.length).toBe(1);
    expect(frame().src).toBe(`${OP}/session/check`);
    expect(frame().sent).toEqual([]);
    frame().load();
    expect(frame().sent).toEqual([{ message: `${CLIENT} state-1.salt`, targetOrigin: OP }]);
    answer('unchanged');
    clock.advance(INTERVAL);
    answer('unchanged');
    clock.advance(INTERVAL);
    expect(frame().sent.length).toBe(3);
    expect(statuses()).toEqual(['monitoring']);
    expect(protocol.confirm).not.toHaveBeenCalled();
  });

  it('ignores answers from another window, another origin, or with no poll in flight', async () => {
    await startWorking();
    answer('changed'); // none in flight: the poll was answered already
    clock.advance(INTERVAL);
    answer('changed', { origin: 'https://evil.example' });
    answer('changed', { source: {} });
    answer('bogus');
    await settle();
    expect(protocol.confirm).not.toHaveBeenCalled();
    expect(cleared).toEqual([]);
  });

  it('ends the session in every tab on this sign-in when "changed" is confirmed by login_required, once monitoring worked', async () => {
    await startWorking();
    protocol.confirm.and.rejectWith(new AuthError('authorization_error', '', false, { oauthError: 'login_required' }));
    clock.advance(INTERVAL);
    answer('changed');
    await settle();
    expect(protocol.confirm).toHaveBeenCalledOnceWith(jasmine.objectContaining({ chain: 'chain-1' }));
    expect(cleared).toEqual(['ended']);
    expect(signedOut).toEqual([{ position: jasmine.objectContaining({ chain: 'chain-1' }) as unknown as Session, everyone: false }]);
    expect(signOutReasons()).toEqual(['op_session_ended']);
    expect(protocol.revoke).toHaveBeenCalledOnceWith('rt-1');
    const sent = frame().sent.length;
    clock.advance(INTERVAL * 3);
    expect(frame().sent.length).toBe(sent);
  });

  it('keeps the session when the OP confirms the same user (a re-authentication there), and polls with the new session_state', async () => {
    await startWorking();
    protocol.confirm.and.resolveTo(session({ sessionState: 'state-2.salt', refreshToken: 'rt-of-the-check' }));
    clock.advance(INTERVAL);
    answer('changed');
    await settle();
    expect(cleared).toEqual([]);
    expect(events.some((event) => event.type === 'signed_out')).toBeFalse();
    // Its tokens are not taken: its refresh token is revoked rather than left valid.
    expect(protocol.revoke).toHaveBeenCalledOnceWith('rt-of-the-check');
    clock.advance(INTERVAL);
    expect(frame().sent.at(-1)).toEqual({ message: `${CLIENT} state-2.salt`, targetOrigin: OP });
    answer('unchanged');
    expect(statuses()).toEqual(['monitoring']);
  });

  it('where monitoring never worked, a "changed" the OP does not confirm means it cannot monitor: said once, no sign-out, no more polls', async () => {
    await start();
    frame().load();
    protocol.confirm.and.rejectWith(new AuthError('authorization_error', '', false, { oauthError: 'login_required' }));
    answer('changed');
    await settle();
    expect(cleared).toEqual([]);
    expect(statuses()).toEqual(['unavailable']);
    expect((events.find((event) => event.type === 'session_monitor') as { error: AuthError }).error.code).toBe('session_monitor_unavailable');
    const sent = frame().sent.length;
    clock.advance(INTERVAL * 5);
    expect(frame().sent.length).toBe(sent);
    expect(protocol.confirm).toHaveBeenCalledTimes(1);
  });

  it('where monitoring never worked, "changed" again for the session_state the OP just confirmed means it cannot monitor, with no sign-out', async () => {
    await start();
    frame().load();
    protocol.confirm.and.resolveTo(session({ sessionState: 'state-2.salt', refreshToken: undefined }));
    answer('changed');
    await settle();
    expect(statuses()).toEqual([]);
    clock.advance(INTERVAL);
    answer('changed');
    await settle();
    expect(cleared).toEqual([]);
    expect(statuses()).toEqual(['unavailable']);
    expect(protocol.confirm).toHaveBeenCalledTimes(1); // no second request for what the OP just said
  });

  it('remembers for the sign-in that it cannot monitor: a reload says so again without asking the OP', async () => {
    await start();
    frame().load();
    protocol.confirm.and.rejectWith(new AuthError('authorization_error', '', false, { oauthError: 'login_required' }));
    answer('changed');
    await settle();
    monitor!.destroy();
    events = [];
    frames = [];
    await start();
    expect(statuses()).toEqual(['unavailable']);
    expect(frames).toEqual([]);
    expect(protocol.confirm).toHaveBeenCalledTimes(1);
  });

  it('a transient failure of the confirmation (timeout) ends nothing and is asked again at the next poll', async () => {
    await startWorking();
    protocol.confirm.and.rejectWith(new AuthError('timeout', '', true));
    clock.advance(INTERVAL);
    answer('changed');
    await settle();
    expect(cleared).toEqual([]);
    expect(statuses()).toEqual(['monitoring']);
    clock.advance(INTERVAL);
    answer('changed');
    await settle();
    expect(protocol.confirm).toHaveBeenCalledTimes(2);
  });

  it('"error" from the iframe: cannot monitor, no sign-out', async () => {
    await start();
    frame().load();
    answer('error');
    await settle();
    expect(statuses()).toEqual(['unavailable']);
    expect(cleared).toEqual([]);
  });

  it('refuses a check_session_iframe on another origin than the authorization endpoint (no iframe), and says why once', async () => {
    metadata = { authorization_endpoint: `${OP}/auth`, check_session_iframe: 'https://elsewhere.example/check' };
    await start();
    expect(frames).toEqual([]);
    expect(statuses()).toEqual(['unavailable']);
  });

  it('says it cannot monitor when the OP offers no check_session_iframe, or the sign-in brought no session_state', async () => {
    metadata = { authorization_endpoint: `${OP}/auth` };
    await start();
    expect(frames).toEqual([]);
    expect(statuses()).toEqual(['unavailable']);
    monitor!.destroy();
    events = [];
    metadata = { authorization_endpoint: `${OP}/auth`, check_session_iframe: `${OP}/session/check` };
    current = session({ chain: 'chain-2', sessionState: undefined });
    await start();
    expect(frames).toEqual([]);
    expect(statuses()).toEqual(['unavailable']);
  });

  it('front-channel logout: ends the session whose issuer and sid the OP named, and no other', async () => {
    await start();
    const deliver = (data: unknown) => FakeChannel.last!.onmessage!({ data } as MessageEvent);
    expect(FakeChannel.last!.name).toBe(FRONTCHANNEL_MESSAGE);
    deliver({ type: FRONTCHANNEL_MESSAGE, iss: OP, sid: 'another-sid', origin: OP });
    deliver({ type: FRONTCHANNEL_MESSAGE, iss: 'https://other-op.example', sid: 'sid-1', origin: OP });
    deliver({ type: 'something-else', iss: OP, sid: 'sid-1', origin: OP });
    expect(cleared).toEqual([]);
    deliver({ type: FRONTCHANNEL_MESSAGE, iss: OP, sid: 'sid-1', origin: OP });
    expect(cleared).toEqual(['ended']);
    expect(signOutReasons()).toEqual(['op_session_ended']);
  });

  it('tries discovery again after an interval when it failed (the OP down), then monitors', async () => {
    protocol.discover.and.rejectWith(new AuthError('network_error', '', true));
    await start();
    expect(frames).toEqual([]);
    expect(statuses()).toEqual([]);
    protocol.discover.and.callFake(async () => metadata);
    clock.advance(INTERVAL);
    await settle();
    frame().load();
    answer('unchanged');
    expect(statuses()).toEqual(['monitoring']);
  });

  it('stops polling when the session ends, and starts again for the next sign-in', async () => {
    await startWorking();
    current = null;
    changes.next();
    const sent = frame().sent.length;
    clock.advance(INTERVAL * 3);
    expect(frame().sent.length).toBe(sent);
    current = session({ chain: 'chain-2', sessionState: 'state-9.salt' });
    changes.next();
    await settle();
    expect(frame().sent.at(-1)).toEqual({ message: `${CLIENT} state-9.salt`, targetOrigin: OP });
  });

  describe('after the security review (issue 18)', () => {
    const loginRequired = () => new AuthError('authorization_error', '', false, { oauthError: 'login_required' });
    const record = () => JSON.parse(storage.getItem('ns:op-session') ?? 'null') as Record<string, unknown> | null;

    it('ends the whole sign-in in every tab (every version), revokes the newest refresh token another tab announced, and keeps an "ended" marker', async () => {
      await startWorking();
      // Another tab renewed past this one (version 1, its own refresh token).
      announced = session({ version: 1, refreshToken: 'rt-newest' });
      protocol.confirm.and.rejectWith(loginRequired());
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      expect(signedOut.length).toBe(1);
      expect(signedOut[0].position.chain).toBe('chain-1');
      expect(signedOut[0].position.version).toBe(Number.MAX_SAFE_INTEGER);
      expect(protocol.revoke.calls.allArgs()).toEqual([['rt-newest'], ['rt-1']]);
      expect(record()).toEqual({ chain: 'chain-1', ended: true });
    });

    it('a tab on a newer version of a sign-in another tab found over ends at its next poll, though it missed the broadcast', async () => {
      await startWorking();
      storage.setItem('ns:op-session', JSON.stringify({ chain: 'chain-1', ended: true }));
      current = session({ version: 3, refreshToken: 'rt-4' });
      clock.advance(INTERVAL);
      await settle();
      expect(cleared).toEqual(['ended']);
      expect(signOutReasons()).toEqual(['op_session_ended']);
      expect(protocol.revoke).toHaveBeenCalledWith('rt-4');
    });

    it('an ID token that fails a check (clock skew, unknown key) ends nothing and backs off; another user signed in at the OP ends the session', async () => {
      await startWorking();
      backoff = 60_000;
      protocol.confirm.and.rejectWith(new AuthError('id_token_invalid', ''));
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      expect(cleared).toEqual([]);
      expect(statuses()).toEqual(['monitoring']);
      expect(record()).toEqual(jasmine.objectContaining({ failures: 1, retryAt: clock.now() + 60_000 }));
      // Within the backoff, "changed" asks the OP nothing.
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      expect(protocol.confirm).toHaveBeenCalledTimes(1);
      // After it, the OP says another user is signed in there now.
      protocol.confirm.and.rejectWith(new AuthError('id_token_invalid', '', false, { differentUser: true }));
      for (let polls = 0; polls < 12; polls++) {
        clock.advance(INTERVAL);
        answer('changed');
        await settle();
      }
      expect(protocol.confirm).toHaveBeenCalledTimes(2);
      expect(cleared).toEqual(['ended']);
      expect(signOutReasons()).toEqual(['op_session_ended']);
    });

    it('transient failures back off exponentially, shared through the record (not every interval in every tab)', async () => {
      await startWorking();
      backoff = 20_000;
      protocol.confirm.and.rejectWith(new AuthError('network_error', '', true, { status: 503 }));
      const changedAfter = async (ms: number) => {
        clock.advance(ms);
        answer('changed');
        await settle();
      };
      await changedAfter(INTERVAL);
      expect(protocol.confirm).toHaveBeenCalledTimes(1);
      await changedAfter(INTERVAL);
      await changedAfter(INTERVAL);
      await changedAfter(INTERVAL);
      expect(protocol.confirm).toHaveBeenCalledTimes(1);
      await changedAfter(INTERVAL); // 20 s after the failure
      expect(protocol.confirm).toHaveBeenCalledTimes(2);
      expect(record()).toEqual(jasmine.objectContaining({ failures: 2 }));
      // The second backoff is twice as long: 40 s.
      for (let polls = 0; polls < 7; polls++) await changedAfter(INTERVAL);
      expect(protocol.confirm).toHaveBeenCalledTimes(2);
      await changedAfter(INTERVAL);
      expect(protocol.confirm).toHaveBeenCalledTimes(3);
      expect(cleared).toEqual([]);
    });

    it('"changed" again after two confirmations of the same user: unavailable, no third confirmation, and the confirmed sid and state are in the record', async () => {
      await startWorking();
      let turn = 1;
      protocol.confirm.and.callFake(async () => session({ sessionState: `state-${++turn}.salt`, refreshToken: undefined, idTokenClaims: { iss: OP, sub: 'alice', aud: CLIENT, exp: 2e9, iat: 1e9, sid: `sid-${turn}` } }));
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      expect(record()).toEqual(jasmine.objectContaining({ to: 'state-2.salt', sid: 'sid-2', confirmations: 1 }));
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      expect(protocol.confirm).toHaveBeenCalledTimes(2);
      expect(statuses()).toEqual(['monitoring', 'unavailable']);
      expect(cleared).toEqual([]);
    });

    it('an "unchanged" between confirmations resets their count', async () => {
      await startWorking();
      let turn = 1;
      protocol.confirm.and.callFake(async () => session({ sessionState: `state-${++turn}.salt`, refreshToken: undefined }));
      for (let round = 0; round < 3; round++) {
        clock.advance(INTERVAL);
        answer('changed');
        await settle();
        clock.advance(INTERVAL);
        answer('unchanged');
      }
      expect(protocol.confirm).toHaveBeenCalledTimes(3);
      expect(statuses()).toEqual(['monitoring']);
    });

    it('storage refusing the record does not make it confirm at every poll', async () => {
      await startWorking();
      storage.setItem = () => {
        throw new DOMException('quota', 'QuotaExceededError');
      };
      protocol.confirm.and.resolveTo(session({ sessionState: 'state-2.salt', refreshToken: undefined }));
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      clock.advance(INTERVAL);
      expect(frame().sent.at(-1)!.message).toBe(`${CLIENT} state-2.salt`);
      answer('unchanged');
      expect(protocol.confirm).toHaveBeenCalledTimes(1);
    });

    it('stops, saying so once, when another tab found monitoring unavailable for this sign-in', async () => {
      await startWorking();
      storage.setItem('ns:op-session', JSON.stringify({ chain: 'chain-1', unavailable: true }));
      clock.advance(INTERVAL);
      const sent = frame().sent.length;
      clock.advance(INTERVAL * 3);
      expect(frame().sent.length).toBe(sent);
      expect(statuses()).toEqual(['monitoring', 'unavailable']);
    });

    it('polls the iframe leaves unanswered (CSP, X-Frame-Options) make it unavailable once', async () => {
      await start();
      frame().load();
      clock.advance(INTERVAL * 10);
      expect(statuses()).toEqual(['unavailable']);
      expect(frame().sent.length).toBe(3);
      expect(frame().removed).toBeTrue();
    });

    it('an iframe that never loads makes it unavailable once', async () => {
      await start();
      clock.advance(INTERVAL * 10);
      expect(statuses()).toEqual(['unavailable']);
    });

    it('a session that lost its session_state (an iframe renewal without one) makes it unavailable once, rather than polling with nothing', async () => {
      await startWorking();
      current = session({ version: 1, sessionState: undefined });
      clock.advance(INTERVAL * 5);
      expect(statuses()).toEqual(['monitoring', 'unavailable']);
    });

    it('front-channel logout: acts only on a page framed by the OP, and matches the sid a confirmation found too', async () => {
      await startWorking();
      const deliver = (data: unknown) => FakeChannel.last!.onmessage!({ data } as MessageEvent);
      deliver({ type: FRONTCHANNEL_MESSAGE, iss: OP, sid: 'sid-1' }); // no embedding origin
      deliver({ type: FRONTCHANNEL_MESSAGE, iss: OP, sid: 'sid-1', origin: 'https://evil.example' });
      expect(cleared).toEqual([]);
      protocol.confirm.and.resolveTo(session({ sessionState: 'state-2.salt', refreshToken: undefined, idTokenClaims: { iss: OP, sub: 'alice', aud: CLIENT, exp: 2e9, iat: 1e9, sid: 'sid-2' } }));
      clock.advance(INTERVAL);
      answer('changed');
      await settle();
      deliver({ type: FRONTCHANNEL_MESSAGE, iss: OP, sid: 'sid-2', origin: OP });
      expect(cleared).toEqual(['ended']);
    });
  });
});
