import { TestBed } from '@angular/core/testing';
import { filter, firstValueFrom } from 'rxjs';
import { AuthHarness } from '../../testing/harness';
import { Session } from '../core/session';
import { LEDGER_TIMEOUT_MS, RenewalLedger } from './renewal-ledger';
import { TabCoordinator, parseTabMessage } from './tab-coordinator';
import { ARRIVING_WAIT_MS, HANDOVER_WAIT_MS } from './tab-handover';

const OWNER = 'spa@https://op.example.com';
// The default instance's channel name, as every earlier version named it: tabs of an old and
// a new version of the app must still hear each other during a deploy. Literal on purpose.
const CHANNEL = 'ngx-oidc-session:spa@https://op.example.com';
const NAMESPACE = 'ngx-oidc-session:spa@https://op.example.com/';
const RENEW_LOCK = `${NAMESPACE}:renew`;
const HOLDER_PREFIX = `${NAMESPACE}:holder:`;
const holderLock = (session: Session) => `${HOLDER_PREFIX}${session.epoch}:${session.chain}:${session.version}`;
const FORMAT = 2;

/** The ledger as another tab sees it: same database, same key. */
const ledger = () =>
  new RenewalLedger(indexedDB, NAMESPACE, (callback, ms) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  });

function deleteLedger(): Promise<void> {
  localStorage.removeItem(`${NAMESPACE}:signed-out`); // the logout marker is shared state too
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase('ngx-oidc-session-renewal-ledger');
    request.onsuccess = request.onerror = () => resolve();
  });
}

/** Another tab that holds a token set: it holds the holder lock named for it until released. */
async function holdHolderLock(session: Session): Promise<() => void> {
  let release!: () => void;
  let granted!: () => void;
  const held = new Promise<void>((resolve) => (granted = resolve));
  void navigator.locks.request(holderLock(session), { mode: 'shared' }, () => {
    granted();
    return new Promise<void>((resolve) => (release = resolve));
  });
  await held;
  return () => release();
}

/** Plays "another tab" of the same app: a raw BroadcastChannel on the library's channel name. */
class OtherTab {
  readonly channel = new BroadcastChannel(CHANNEL);
  readonly received: Record<string, unknown>[] = [];
  session: Session | null = null;

  constructor() {
    this.channel.onmessage = (event: MessageEvent) => {
      const data = event.data as Record<string, unknown>;
      this.received.push(data);
      if (data['kind'] === 'session-request' && this.session) {
        this.channel.postMessage({ format: FORMAT, owner: OWNER, kind: 'session-response', requestId: data['requestId'], session: this.session });
      }
    };
  }

  send(message: Record<string, unknown>): void {
    this.channel.postMessage({ format: FORMAT, owner: OWNER, ...message });
  }

  /** Resolves with the next message of a kind. */
  next(kind: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const listener = (event: MessageEvent) => {
        if ((event.data as Record<string, unknown>)['kind'] === kind) {
          this.channel.removeEventListener('message', listener);
          resolve(event.data as Record<string, unknown>);
        }
      };
      this.channel.addEventListener('message', listener);
    });
  }

  close(): void {
    this.channel.close();
  }
}

function storedSession(harness: AuthHarness): Session {
  return JSON.parse(harness.storage.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`)!).session as Session;
}

/** A session another tab renewed: the next renewal of the same sign-in. */
function renewedBy(other: Session, clockNow: number, token: string): Session {
  return { ...other, accessToken: token, refreshToken: `${token}-refresh`, receivedAt: clockNow, expiresAt: clockNow + 300_000, version: other.version + 1 };
}

/** Looks until `predicate` holds: for state no event announces (lock queues, timers set after an await). */
/**
 * Holds the fake OP's token answers until the returned function is called. With
 * `afterRotating`, the OP handles the grant at once (the refresh token rotates) and only its
 * answer is late.
 */
function holdTokenAnswers(harness: AuthHarness, afterRotating = false): () => void {
  let letThrough!: () => void;
  const answering = new Promise<void>((resolve) => (letThrough = resolve));
  const token = harness.op.handlers['/token'];
  harness.op.handlers['/token'] = async (request) => {
    if (!afterRotating) await answering;
    const reply = await token(request);
    await answering;
    return reply;
  };
  return letThrough;
}

async function until(predicate: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await predicate())) await new Promise((resolve) => setTimeout(resolve));
}

const heldLocks = async () => ((await navigator.locks.query()).held ?? []).map((lock) => lock.name ?? '');

describe('parseTabMessage', () => {
  it('ignores messages of another app or client, another format, or malformed ones', () => {
    const position = { epoch: 1, chain: 'c', version: 0 };
    expect(parseTabMessage({ format: 2, owner: 'other@https://op.example.com', kind: 'signed-out', position, everyone: true }, OWNER)).toBeNull();
    expect(parseTabMessage({ format: 1, owner: OWNER, kind: 'signed-out', position, everyone: true }, OWNER)).toBeNull();
    expect(parseTabMessage({ format: 2, owner: OWNER, kind: 'explode' }, OWNER)).toBeNull();
    expect(parseTabMessage({ format: 2, owner: OWNER, kind: 'session', session: { accessToken: 'x' } }, OWNER)).toBeNull();
    expect(parseTabMessage({ format: 2, owner: OWNER, kind: 'session-request' }, OWNER)).toBeNull();
    expect(parseTabMessage({ format: 2, owner: OWNER, kind: 'signed-out', position: { chain: 'c' } }, OWNER)).toBeNull();
    expect(parseTabMessage('signed-out', OWNER)).toBeNull();
    expect(parseTabMessage(null, OWNER)).toBeNull();
    expect(parseTabMessage({ format: 2, owner: OWNER, kind: 'signed-out', position, everyone: true }, OWNER)).toEqual({ kind: 'signed-out', position, everyone: true });
  });
});

describe('TabCoordinator between tabs', () => {
  let harness: AuthHarness;
  let other: OtherTab;

  beforeEach(async () => {
    await deleteLedger();
    other = new OtherTab();
    harness = await AuthHarness.create();
    harness.browser.windowRef = window;
    await harness.signIn();
  });

  afterEach(async () => {
    other.close();
    TestBed.resetTestingModule(); // closes the tab's channel and lets go of its locks
    await deleteLedger();
  });

  it('announces a sign-in and every renewal, with the ledger updated (no token in it)', async () => {
    const announced = new Promise<Session>((resolve) => {
      other.channel.addEventListener('message', (event: MessageEvent) => {
        const session = (event.data as Record<string, unknown>)['session'] as Session | undefined;
        if (session?.accessToken === 'at-2') resolve(session);
      });
    });
    await harness.runNextTimer();
    expect((await announced).refreshToken).toBe('rt-2');
    const renewed = storedSession(harness);
    expect(renewed.version).toBe(1);
    expect(await ledger().read()).toEqual(jasmine.objectContaining({ state: 'known', record: jasmine.objectContaining({ newest: { epoch: renewed.epoch, chain: renewed.chain, version: 1 } }) }));
  });

  it("takes another tab's renewed session instead of renewing itself", async () => {
    const mine = storedSession(harness);
    const theirs = renewedBy(mine, harness.clock.now() + 1, 'at-from-other-tab');
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    other.send({ kind: 'session', session: theirs });
    await adopted;
    expect(await harness.auth.getAccessToken()).toBe('at-from-other-tab');
    harness.clock.advance(200_000); // the old token's renewal time passes: nothing to do
    expect(harness.refreshGrants().length).toBe(0);
  });

  it('takes a later renewal even when the wall clock was set back', async () => {
    const mine = storedSession(harness);
    const theirs = { ...renewedBy(mine, mine.receivedAt - 3_600_000, 'at-renewed-after-clock-change'), expiresAt: mine.expiresAt + 1 };
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    other.send({ kind: 'session', session: theirs });
    await adopted;
    expect(await harness.auth.getAccessToken()).toBe('at-renewed-after-clock-change');
  });

  it("another user's session from another tab is a sign-out and a sign-in here, never a silent switch", async () => {
    const mine = storedSession(harness);
    const theirs: Session = {
      ...mine,
      accessToken: 'at-of-bob',
      refreshToken: 'rt-of-bob',
      idTokenClaims: { ...mine.idTokenClaims, sub: 'bob' },
      epoch: mine.epoch + 1,
      chain: 'bobs-sign-in',
      version: 0,
    };
    const before = harness.events.length;
    const signedInAgain = harness.nextEvent('signed_in');
    other.send({ kind: 'session', session: theirs });
    expect((await signedInAgain).user.sub).toBe('bob');
    const since = harness.events.slice(before);
    expect(since.map((event) => event.type)).toEqual(['signed_out', 'signed_in']);
    expect(since[0]).toEqual(jasmine.objectContaining({ type: 'signed_out', reason: 'other_tab' }));
    expect(harness.auth.state().user?.sub).toBe('bob');
    expect(await harness.auth.getAccessToken()).toBe('at-of-bob');
  });

  it("the same user's new sign-in in another tab is taken without events", async () => {
    const mine = storedSession(harness);
    const before = harness.events.length;
    const theirs: Session = { ...mine, accessToken: 'at-new-sign-in', epoch: mine.epoch + 1, chain: 'new-sign-in', version: 0 };
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter(() => storedSession(harness).chain === 'new-sign-in')));
    other.send({ kind: 'session', session: theirs });
    await adopted;
    expect(harness.events.slice(before).filter((event) => event.type === 'signed_out' || event.type === 'signed_in')).toEqual([]);
  });

  it('ignores an older session, another client, and malformed messages', async () => {
    const mine = storedSession(harness);
    other.send({ kind: 'session', session: { ...mine, accessToken: 'older', receivedAt: mine.receivedAt + 1 } });
    other.send({ kind: 'session', session: { ...mine, accessToken: 'older-sign-in', epoch: mine.epoch - 1, chain: 'older', version: 9 } });
    other.channel.postMessage({ format: FORMAT, owner: 'intruder@https://op.example.com', kind: 'session', session: renewedBy(mine, harness.clock.now() + 5, 'foreign') });
    other.send({ kind: 'session', session: { accessToken: 'broken' } });
    other.channel.postMessage('garbage');
    // A message sent after those arrives after them: when it is handled, they were too.
    const probe = new OtherTab();
    await deliveredTo(probe, other, 'ping');
    probe.close();
    expect(await harness.auth.getAccessToken()).toBe('at-1');
    expect(harness.events.filter((event) => event.type === 'signed_in').length).toBe(1); // only the real sign-in
    expect(harness.auth.state().error).toBeNull();
  });

  it('after the lock, a tab that finds the ledger ahead asks the live tabs and takes their tokens', async () => {
    const mine = storedSession(harness);
    const theirs = renewedBy(mine, harness.clock.now() + 200_000, 'at-renewed-while-asleep');
    other.session = theirs;
    await ledger().recordNewest(theirs); // another tab renewed while this one slept
    harness.clock.advance(200_000);
    harness.clock.advanceToNextTimer();
    const adopted = await firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    expect(adopted.status).toBe('authenticated');
    expect(await harness.auth.getAccessToken()).toBe('at-renewed-while-asleep');
    expect(harness.refreshGrants().length).toBe(0);
  });

  it('stays signed out when it logs out while asking the live tabs', async () => {
    const mine = storedSession(harness);
    const theirs = renewedBy(mine, harness.clock.now() + 200_000, 'at-answered-after-logout');
    await ledger().recordNewest(theirs); // another tab renewed while this one slept
    const asked = other.next('session-request'); // other.session is null: it does not answer yet
    harness.clock.advance(200_000);
    harness.clock.advanceToNextTimer();
    const request = await asked;
    await harness.auth.logout({ localOnly: true });
    other.send({ kind: 'session-response', requestId: request['requestId'], session: theirs });
    // Messages arrive in order: once a later one reached a third tab, the answer was handled.
    const observer = new OtherTab();
    const later = observer.next('ping');
    other.send({ kind: 'ping' });
    await later;
    observer.close();
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`)).toBeNull();
    expect(harness.refreshGrants().length).toBe(0);
  });

  it('signs out when another tab signs out, without a redirect', async () => {
    const navigations = harness.browser.navigations.length;
    const signedOut = harness.nextEvent('signed_out');
    other.send({ kind: 'signed-out', position: storedSession(harness), everyone: true });
    expect((await signedOut).reason).toBe('other_tab');
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.browser.navigations.length).toBe(navigations);
    expect(harness.clock.pendingTimers).toBe(0);
  });

  it('tells the other tabs when it signs out', async () => {
    const told = other.next('signed-out');
    await harness.auth.logout({ localOnly: true });
    expect((await told)['kind']).toBe('signed-out');
  });

  it('hands its session to a tab that asks', async () => {
    const answered = other.next('session-response');
    other.send({ kind: 'session-request', requestId: 'r1' });
    const response = await answered;
    expect(response['requestId']).toBe('r1');
    expect((response['session'] as Session).accessToken).toBe('at-1');
  });

  it('signs a new tab in from a live tab, with no request to the OP and no redirect', async () => {
    other.session = storedSession(harness);
    harness.storage.removeItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`); // a new tab: its own empty sessionStorage
    TestBed.resetTestingModule(); // the first tab is gone; "other" holds the session now
    const release = await holdHolderLock(other.session);
    const requests = harness.op.requests.length;
    const navigations = harness.browser.navigations.length;
    const auth = await harness.load();
    release();
    expect(auth.state().status).toBe('authenticated');
    expect(await auth.getAccessToken()).toBe('at-1');
    expect(harness.op.requests.length).toBe(requests);
    expect(harness.browser.navigations.length).toBe(navigations);
  });

  it('serialises renewals across tabs with a Web Lock', async () => {
    const order: string[] = [];
    let release!: () => void;
    let granted!: () => void;
    const lockGranted = new Promise<void>((resolve) => (granted = resolve));
    const held = navigator.locks.request(RENEW_LOCK, () => {
      order.push('other tab holds the lock');
      granted();
      return new Promise<void>((resolve) => (release = resolve));
    });
    await lockGranted;
    const renewal = harness.auth.renew().then(() => order.push('this tab renewed'));
    // No event says "queued for a lock": look until this tab's request waits behind the other's.
    await until(async () => (await navigator.locks.query()).pending?.some((lock) => lock.name === RENEW_LOCK) ?? false);
    expect(harness.events.some((event) => event.type === 'renew_started')).toBeFalse();
    expect(harness.refreshGrants().length).toBe(0);
    order.push('other tab releases');
    release();
    await held;
    await renewal;
    expect(order).toEqual(['other tab holds the lock', 'other tab releases', 'this tab renewed']);
    expect(harness.refreshGrants().length).toBe(1);
  });
});

/** Looks until no tab holds a holder lock (a destroyed tab releases it asynchronously). */
function untilNoHolder(): Promise<void> {
  return until(async () => !(await heldLocks()).some((name) => name.startsWith(HOLDER_PREFIX)));
}

/**
 * Sends a message from `from` and resolves once `tab` has it: in the one event loop of the test
 * page, every message posted before it has been delivered by then.
 */
async function deliveredTo(tab: OtherTab, from: OtherTab, kind: string): Promise<void> {
  const arrived = tab.next(kind);
  from.send({ kind });
  await arrived;
}

/** A tab signed in with a real page window (channel, locks, IndexedDB), next to another tab. */
async function signedInNextToOtherTab(): Promise<{ harness: AuthHarness; other: OtherTab }> {
  await deleteLedger();
  const other = new OtherTab();
  const harness = await AuthHarness.create();
  harness.browser.windowRef = window;
  await harness.signIn();
  return { harness, other };
}

async function closeTabs(other: OtherTab): Promise<void> {
  other.close();
  TestBed.resetTestingModule(); // closes the tab's channel and lets go of its locks
  await deleteLedger();
}

// Issue 12: the interleavings behind "one refresh token spent twice", one spec each.
describe('TabCoordinator: renewal races between tabs', () => {
  let harness: AuthHarness;
  let other: OtherTab;
  let mine: Session;
  /** When this tab's renewal timer fires. */
  let due: number;

  beforeEach(async () => {
    ({ harness, other } = await signedInNextToOtherTab());
    mine = storedSession(harness);
    due = harness.clock.nextDue()!;
  });

  afterEach(() => closeTabs(other));

  /** Resolves when the tab has set a timer of `ms` (it waits on the fake clock for that long). */
  const untilWaiting = (ms: number) => until(() => harness.clock.nextDue() === harness.clock.now() + ms);

  it("takes the lock before the winner's broadcast arrives: waits for the tokens the ledger names, never presents its own", async () => {
    // Chromium hands the lock over before the winner's broadcast (and its localStorage writes)
    // reach this tab; only the ledger in IndexedDB is already up to date.
    const theirs = renewedBy(mine, due - 1, 'at-from-the-winner');
    await ledger().recordNewest(theirs);
    const release = await holdHolderLock(theirs);
    const asked = other.next('session-request');
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    harness.clock.advanceToNextTimer();
    const request = await asked;
    other.send({ kind: 'session-response', requestId: request['requestId'], session: theirs });
    await adopted;
    release();
    expect(await harness.auth.getAccessToken()).toBe('at-from-the-winner');
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.events.some((event) => event.type === 'renew_started')).toBeFalse();
  });

  it('takes no answer but the token set the ledger names', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-newest');
    await ledger().recordNewest(theirs);
    other.session = mine; // a tab that has not heard of the renewal yet answers first
    const informed = new OtherTab();
    informed.channel.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as Record<string, unknown>;
      // It answers only after the stale answer went out, so that the stale one comes first.
      if (data['kind'] === 'session-response' && (data['session'] as Session).accessToken === mine.accessToken) {
        informed.send({ kind: 'session-response', requestId: data['requestId'], session: theirs });
      }
    });
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    harness.clock.advanceToNextTimer();
    await adopted;
    informed.close();
    expect(await harness.auth.getAccessToken()).toBe('at-newest');
    expect(harness.refreshGrants().length).toBe(0);
  });

  it('the renewing tab names its tokens in the ledger before it lets the next tab take the lock', async () => {
    const letThrough = holdTokenAnswers(harness);
    // In one page IndexedDB orders the transactions anyway; across processes only the wait for
    // the commit does. So the order is observed directly.
    const order: string[] = [];
    const write = RenewalLedger.prototype.recordNewest;
    spyOn(RenewalLedger.prototype, 'recordNewest').and.callFake(async function (this: RenewalLedger, entry) {
      const written = await write.call(this, entry);
      order.push('ledger written');
      return written;
    });
    const renewal = harness.runNextTimer();
    await until(() => harness.refreshGrants().length === 1); // this tab holds the lock, its request is on the wire
    // Another tab queues for the lock and looks at the ledger as soon as it gets it.
    const seenByNextTab = navigator.locks.request(RENEW_LOCK, () => {
      order.push('next tab has the lock');
      return ledger().read();
    });
    await until(async () => (await navigator.locks.query()).pending?.some((lock) => lock.name === RENEW_LOCK) ?? false);
    letThrough();
    await renewal;
    expect(await seenByNextTab).toEqual(jasmine.objectContaining({ state: 'known', record: jasmine.objectContaining({ newest: { epoch: mine.epoch, chain: mine.chain, version: 1 } }) }));
    expect(order).toEqual(['ledger written', 'next tab has the lock']);
  });

  it('when no open tab holds the tokens the ledger names, ends its own session only and presents nothing', async () => {
    await ledger().recordNewest(renewedBy(mine, due - 1, 'at-lost'));
    const asked = other.next('session-request');
    const ended = harness.nextEvent('session_expired');
    harness.clock.advanceToNextTimer();
    await asked;
    await untilWaiting(ARRIVING_WAIT_MS);
    harness.clock.advance(ARRIVING_WAIT_MS);
    expect((await ended).error?.code).toBe('stale_session');
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.auth.state().status).toBe('unauthenticated');
    const probe = new OtherTab();
    await deliveredTo(other, probe, 'ping');
    probe.close();
    expect(other.received.map((message) => message['kind'])).not.toContain('signed-out'); // the other tabs keep theirs
  });

  it('when a live tab holds the newer tokens but does not answer (frozen), keeps its session and tries again later', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-in-a-frozen-tab');
    await ledger().recordNewest(theirs);
    const release = await holdHolderLock(theirs);
    const failed = harness.nextEvent('renew_failed');
    harness.clock.advanceToNextTimer();
    await untilWaiting(HANDOVER_WAIT_MS);
    harness.clock.advance(HANDOVER_WAIT_MS);
    const failure = await failed;
    release();
    expect(failure.failureClass).toBe('transient');
    expect(failure.retryInMs).not.toBeNull();
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it("finds the winner's tokens in shared storage once the wait is over", async () => {
    const theirs = renewedBy(mine, due - 1, 'at-written-to-shared-storage');
    await ledger().recordNewest(theirs);
    const asked = other.next('session-request');
    harness.clock.advanceToNextTimer();
    await asked;
    await untilWaiting(ARRIVING_WAIT_MS);
    // storage: 'local': the winner's write reaches this tab's view of storage during the wait.
    harness.storage.setItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`, JSON.stringify({ format: 1, owner: OWNER, session: theirs }));
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    harness.clock.advance(ARRIVING_WAIT_MS);
    await adopted;
    expect(await harness.auth.getAccessToken()).toBe('at-written-to-shared-storage');
    expect(harness.refreshGrants().length).toBe(0);
  });

  it("renews its own tokens when the ledger names another sign-in that no tab holds any more", async () => {
    await ledger().recordNewest({ epoch: mine.epoch + 1, chain: 'a-sign-in-of-a-closed-tab', version: 7 });
    const renewal = harness.nextEvent('token_renewed', 'session_expired');
    harness.clock.advanceToNextTimer();
    await untilWaiting(ARRIVING_WAIT_MS);
    harness.clock.advance(ARRIVING_WAIT_MS);
    expect((await renewal).type).toBe('token_renewed');
    expect(await ledger().read()).toEqual(jasmine.objectContaining({ state: 'known', record: jasmine.objectContaining({ newest: { epoch: mine.epoch, chain: mine.chain, version: 1 } }) }));
  });

  it('when IndexedDB does not answer, decides by the holder locks of the live tabs and never hangs the lock', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-known-by-its-holder-lock');
    const release = await holdHolderLock(theirs);
    other.session = theirs;
    // A connection that stopped answering: its transactions never complete.
    const silent = { objectStore: () => ({ get: () => ({}), put: () => ({}), delete: () => ({}) }) };
    spyOn(IDBDatabase.prototype, 'transaction').and.returnValue(silent as unknown as IDBTransaction);
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    harness.clock.advanceToNextTimer();
    await adopted; // after LEDGER_TIMEOUT_MS of real time: the watchdog gives up on IndexedDB
    expect(LEDGER_TIMEOUT_MS).toBeLessThan(jasmine.DEFAULT_TIMEOUT_INTERVAL);
    release();
    expect(await harness.auth.getAccessToken()).toBe('at-known-by-its-holder-lock');
    expect(harness.refreshGrants().length).toBe(0);
    await until(async () => !(await heldLocks()).includes(RENEW_LOCK));
  });

  it("refused because another tab renewed first (no lock stopped it): takes the winner's tokens instead of ending the session", async () => {
    const theirs = renewedBy(mine, harness.clock.now() + 1, 'at-won-the-race');
    harness.op.handlers['/token'] = async () => {
      // The winner's refresh reached the OP first: this tab's token is rotated out.
      await ledger().recordNewest(theirs);
      other.send({ kind: 'session', session: theirs });
      return harness.op.oauthError('invalid_grant');
    };
    await harness.auth.renew(); // settles when the renewal has an outcome; rejects if the session ended
    expect(await harness.auth.getAccessToken()).toBe('at-won-the-race');
    expect(harness.events.map((event) => event.type)).not.toContain('session_expired');
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it('a late broadcast of a renewal does not undo a logout', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-renewed-while-signing-out');
    await harness.auth.logout({ localOnly: true });
    other.send({ kind: 'session', session: theirs });
    const probe = new OtherTab();
    await deliveredTo(probe, other, 'ping');
    probe.close();
    expect(harness.auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`)).toBeNull();
  });

  it('takes the lock after a logout in another tab whose message has not arrived: signs out, renews nothing', async () => {
    await ledger().recordSignOut(mine.epoch);
    const signedOut = harness.nextEvent('signed_out');
    harness.clock.advanceToNextTimer();
    expect((await signedOut).reason).toBe('other_tab');
    expect(harness.refreshGrants().length).toBe(0);
    expect(harness.auth.state().status).toBe('unauthenticated');
  });

  it('when the ledger write of the last renewal failed, the holder lock of the newer token set still wins', async () => {
    await ledger().recordNewest(mine); // the winner's write did not land: the ledger still names this tab's set
    const theirs = renewedBy(mine, due - 1, 'at-named-by-its-holder');
    const release = await holdHolderLock(theirs);
    other.session = theirs;
    const adopted = firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    harness.clock.advanceToNextTimer();
    await adopted;
    release();
    expect(harness.refreshGrants().length).toBe(0);
    expect(await harness.auth.getAccessToken()).toBe('at-named-by-its-holder');
  });

  it('a sign-out of another sign-in, ended by the OP, leaves this tab signed in; one of its own signs it out', async () => {
    // Another sign-in of the same epoch (two sign-ins while the ledger could not be read).
    other.send({ kind: 'signed-out', position: { epoch: mine.epoch, chain: 'another-sign-in', version: 3 }, everyone: false });
    const probe = new OtherTab();
    await deliveredTo(probe, other, 'ping');
    probe.close();
    expect(harness.auth.state().status).toBe('authenticated');
    const signedOut = harness.nextEvent('signed_out');
    other.send({ kind: 'signed-out', position: mine, everyone: false });
    expect((await signedOut).reason).toBe('other_tab');
  });

  it('a tab left behind keeps the newer token set another tab wrote to shared storage', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-in-shared-storage');
    const key = `ngx-oidc-session:spa@${harness.op.issuer}/:session`;
    await ledger().recordNewest({ ...theirs, version: theirs.version + 1 }); // a later one, gone with its tab
    const ended = harness.nextEvent('session_expired');
    harness.clock.advanceToNextTimer();
    await untilWaiting(ARRIVING_WAIT_MS);
    harness.storage.setItem(key, JSON.stringify({ format: 1, owner: OWNER, session: theirs }));
    harness.clock.advance(ARRIVING_WAIT_MS);
    expect((await ended).error?.code).toBe('stale_session');
    expect(JSON.parse(harness.storage.getItem(key)!).session.accessToken).toBe('at-in-shared-storage');
  });

  it('logout revokes the newest refresh token of any tab, not its own spent one', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-newest-to-revoke');
    await ledger().recordNewest(theirs);
    const release = await holdHolderLock(theirs);
    other.session = theirs;
    await harness.auth.logout();
    release();
    const revoked = harness.op.requestsTo('/revoke').map((request) => new URLSearchParams(String(request.body)).get('token'));
    expect(revoked).toEqual([theirs.refreshToken!]);
  });

  it('a sign-in gets an epoch after every sign-in and logout the ledger knows of, and after the time when it cannot read it', async () => {
    const key = `ngx-oidc-session:spa@${harness.op.issuer}/:session`;
    const farAhead = harness.clock.now() + 10_000_000;
    await ledger().recordNewest({ epoch: farAhead, chain: 'an-earlier-sign-in', version: 0 });
    const authorize = await harness.startLogin();
    await harness.load(harness.callbackUrl(authorize));
    expect(JSON.parse(harness.storage.getItem(key)!).session.epoch).toBe(farAhead + 1);
    // IndexedDB silent: the time is the floor, so a later sign-in still comes after earlier ones.
    const silent = { objectStore: () => ({ get: () => ({}), put: () => ({}), delete: () => ({}) }) };
    spyOn(IDBDatabase.prototype, 'transaction').and.returnValue(silent as unknown as IDBTransaction);
    TestBed.resetTestingModule();
    harness.storage.removeItem(key);
    await until(async () => !(await heldLocks()).some((name) => name.startsWith(HOLDER_PREFIX)));
    await harness.load();
    const again = await harness.startLogin();
    await harness.load(harness.callbackUrl(again));
    expect(JSON.parse(harness.storage.getItem(key)!).session.epoch).toBeGreaterThanOrEqual(harness.clock.now());
  }, 3 * LEDGER_TIMEOUT_MS + 5_000); // the silent ledger costs its watchdog time, twice

  it('a logout records the sign-out in the ledger and in localStorage; a tab that missed it restores nothing', async () => {
    const key = `ngx-oidc-session:spa@${harness.op.issuer}/:session`;
    const stored = harness.storage.getItem(key)!;
    await harness.auth.logout();
    const read = await ledger().read();
    expect(read.state === 'known' && read.record.signedOutUpTo).toBe(mine.epoch);
    // Another tab that slept through the message, with the session still in its sessionStorage.
    harness.storage.setItem(key, stored);
    const auth = await harness.load();
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(key)).toBeNull();
  });

  it('a logout while this tab\'s own refresh is on the wire revokes the new refresh token, not the spent one', async () => {
    const letThrough = holdTokenAnswers(harness);
    const renewal = harness.auth.renew().catch(() => undefined);
    await until(() => harness.refreshGrants().length === 1);
    const loggedOut = harness.auth.logout();
    letThrough();
    const result = await loggedOut;
    await renewal;
    const revoked = harness.op.requestsTo('/revoke').map((request) => new URLSearchParams(String(request.body)).get('token'));
    expect(revoked).toEqual(['rt-2']);
    expect(result.refreshTokenRevoked).toBeTrue();
    expect(harness.auth.state().status).toBe('unauthenticated');
  });

  it('a logout in a tab that holds no session still signs the other tabs out', async () => {
    const signedOutMessage = other.next('signed-out');
    await harness.auth.logout({ localOnly: true }); // this tab: signed out
    await signedOutMessage;
    const probe = new OtherTab();
    other.received.length = 0;
    const again = other.next('signed-out');
    // A tab that already holds nothing (left behind, say) logs out: the others must follow.
    await harness.auth.logout();
    const message = await again;
    probe.close();
    expect((message['position'] as { epoch: number }).epoch).toBeGreaterThanOrEqual(mine.epoch);
    expect(message['everyone']).toBeTrue();
  });

  it('when the OP ends a sign-in, a tab with a newer renewal of it stays signed in', async () => {
    const theirs = renewedBy(mine, due - 1, 'at-newer-than-the-refused');
    other.send({ kind: 'session', session: theirs });
    await firstValueFrom(harness.auth.state$.pipe(filter((state) => state.accessTokenExpiresAt === theirs.expiresAt)));
    other.send({ kind: 'signed-out', position: mine, everyone: false }); // the OP refused version 0
    const probe = new OtherTab();
    await deliveredTo(probe, other, 'ping');
    probe.close();
    expect(harness.auth.state().status).toBe('authenticated');
    expect(await harness.auth.getAccessToken()).toBe('at-newer-than-the-refused');
  });

  it('a newer renewal of this sign-in that is gone counts, even when the ledger moved on to another sign-in', async () => {
    await ledger().recordNewest(renewedBy(mine, due - 1, 'at-gone')); // this sign-in reached version 1 ...
    await ledger().recordNewest({ epoch: mine.epoch + 1, chain: 'a-later-sign-in-now-closed', version: 0 }); // ... then another one
    const ended = harness.nextEvent('session_expired');
    harness.clock.advanceToNextTimer();
    await untilWaiting(ARRIVING_WAIT_MS);
    harness.clock.advance(ARRIVING_WAIT_MS);
    await untilWaiting(ARRIVING_WAIT_MS);
    harness.clock.advance(ARRIVING_WAIT_MS);
    expect((await ended).error?.code).toBe('stale_session');
    expect(harness.refreshGrants().length).toBe(0);
  });

  it('a tab back from the back/forward cache after a logout elsewhere signs out', async () => {
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    localStorage.setItem(`${NAMESPACE}:signed-out`, String(mine.epoch)); // another tab logged out meanwhile
    const signedOut = harness.nextEvent('signed_out');
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    expect((await signedOut).reason).toBe('other_tab');
    expect(harness.auth.state().status).toBe('unauthenticated');
  });

  it('a logout ends the largest epoch ever recorded, also after an older sign-in renewed since', async () => {
    const later = { epoch: mine.epoch + 5, chain: 'a-later-sign-in-gone-with-its-tab', version: 0 };
    await ledger().recordNewest(later);
    const renewed = harness.nextEvent('token_renewed');
    harness.clock.advanceToNextTimer();
    await untilWaiting(ARRIVING_WAIT_MS);
    harness.clock.advance(ARRIVING_WAIT_MS); // no tab holds the later sign-in: this tab renews its own
    await renewed;
    await harness.auth.logout();
    expect(Number(localStorage.getItem(`${NAMESPACE}:signed-out`))).toBe(later.epoch);
  });

  it('without Web Locks, a logout waits in this page\'s queue for the refresh in flight, and the token it brought is revoked', async () => {
    const letTokenThrough = holdTokenAnswers(harness, true); // the OP rotates at once; its answer is slow to arrive
    spyOnProperty(Navigator.prototype, 'locks').and.returnValue(undefined as unknown as LockManager);
    const renewal = harness.auth.renew().catch(() => undefined);
    await until(() => harness.refreshGrants().length === 1);
    const loggedOut = harness.auth.logout(); // queued behind the renewal: no Web Lock, but one page
    letTokenThrough();
    await renewal;
    await loggedOut;
    await until(() => harness.op.requestsTo('/revoke').length >= 1);
    const revoked = harness.op.requestsTo('/revoke').map((request) => new URLSearchParams(String(request.body)).get('token'));
    expect(revoked).toContain('rt-2'); // the token the OP issued after the logout began
  });

  it('ignores a sign-out epoch no honest tab can have written, in a message or in storage', async () => {
    other.send({ kind: 'signed-out', position: { epoch: 1e300, chain: '', version: 0 }, everyone: true });
    const probe = new OtherTab();
    await deliveredTo(probe, other, 'ping');
    probe.close();
    expect(harness.auth.state().status).toBe('authenticated');
    expect(localStorage.getItem(`${NAMESPACE}:signed-out`)).toBeNull();
    localStorage.setItem(`${NAMESPACE}:signed-out`, String(2 ** 53));
    await harness.runNextTimer();
    expect(harness.auth.state().status).toBe('authenticated');
    expect(localStorage.getItem(`${NAMESPACE}:signed-out`)).toBeNull(); // removed as corrupt
  });

  it('holds the holder lock named for its token set, follows renewals, and lets go at sign-out and pagehide', async () => {
    expect(await heldLocks()).toContain(holderLock(mine));
    await harness.runNextTimer();
    const renewed = storedSession(harness);
    await until(async () => (await heldLocks()).includes(holderLock(renewed)) && !(await heldLocks()).includes(holderLock(mine)));
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    await untilNoHolder(); // back/forward cache: a page that holds a lock cannot enter it
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    await until(async () => (await heldLocks()).includes(holderLock(renewed)));
    await harness.auth.logout({ localOnly: true });
    await untilNoHolder();
    expect(harness.auth.state().status).toBe('unauthenticated');
  });
});

describe('TabCoordinator: a new tab', () => {
  let harness: AuthHarness;
  let other: OtherTab;
  let session: Session;

  beforeEach(async () => {
    ({ harness, other } = await signedInNextToOtherTab());
    session = storedSession(harness);
    // A new tab: its own empty sessionStorage, and the signed-in tab above is gone.
    harness.storage.removeItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`);
    TestBed.resetTestingModule();
    await untilNoHolder();
  });

  afterEach(() => closeTabs(other));

  it('asks nobody and waits for nothing when no tab holds a session', async () => {
    const auth = await harness.load();
    expect(auth.state().status).toBe('unauthenticated');
    const probe = new OtherTab();
    await deliveredTo(other, probe, 'ping');
    probe.close();
    expect(other.received.map((message) => message['kind'])).not.toContain('session-request');
  });

  it('waits for a slow answer while another tab holds a session', async () => {
    const release = await holdHolderLock(session);
    other.channel.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as Record<string, unknown>;
      if (data['kind'] !== 'session-request') return;
      harness.clock.advance(2_000); // a busy machine: the answer comes late
      other.send({ kind: 'session-response', requestId: data['requestId'], session });
    });
    const auth = await harness.load();
    release();
    expect(auth.state().status).toBe('authenticated');
    expect(await auth.getAccessToken()).toBe('at-1');
  });

  it('keeps a renewal broadcast that lands before the stale answer to its request', async () => {
    const release = await holdHolderLock(session);
    const renewed = renewedBy(session, harness.clock.now() + 1_000, 'at-renewed-while-joining');
    other.channel.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as Record<string, unknown>;
      if (data['kind'] !== 'session-request') return;
      // Another tab's renewal is announced, then a tab that had not heard of it answers.
      other.send({ kind: 'session', session: renewed });
      other.send({ kind: 'session-response', requestId: data['requestId'], session });
    });
    const auth = await harness.load();
    release();
    const probe = new OtherTab();
    await deliveredTo(probe, other, 'ping'); // sent after both: once it arrives, they were handled
    probe.close();
    expect(await auth.getAccessToken()).toBe('at-renewed-while-joining');
    expect(JSON.parse(harness.storage.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`)!).session.accessToken).toBe('at-renewed-while-joining');
  });
});

describe('TabCoordinator with isolated tabs', () => {
  let other: OtherTab;
  let probe: OtherTab;
  afterEach(() => {
    other.close();
    probe.close();
    TestBed.resetTestingModule();
  });

  /** Resolves once every message posted before it has been delivered (delivery keeps order). */
  async function barrier(kind: string): Promise<void> {
    const arrived = other.next(kind);
    probe.send({ kind });
    await arrived;
  }

  it('neither listens nor tells', async () => {
    other = new OtherTab();
    probe = new OtherTab();
    const harness = await AuthHarness.create({ tabs: 'isolated' });
    harness.browser.windowRef = window;
    await harness.signIn();
    other.send({ kind: 'signed-out', position: storedSession(harness), everyone: true });
    await barrier('ping-1');
    expect(harness.auth.state().status).toBe('authenticated'); // it did not listen
    await harness.auth.logout({ localOnly: true });
    expect(localStorage.getItem(`${NAMESPACE}:signed-out`)).toBeNull(); // isolated tabs do not sign each other out
    await barrier('ping-2');
    expect(other.received.map((message) => message['kind'])).toEqual(['ping-1', 'ping-2']); // it told nothing
  });
});

describe('TabCoordinator.exclusive without a cross-tab lock', () => {
  afterEach(() => TestBed.resetTestingModule());

  it("with isolated tabs (no Web Lock), queues this page's tasks one after another, a failed one included", async () => {
    const harness = await AuthHarness.create({ tabs: 'isolated' });
    await harness.load();
    const tabs = TestBed.inject(TabCoordinator);
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = tabs.exclusive(async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => (finishFirst = resolve));
      order.push('first ends');
      throw new Error('first failed');
    });
    const second = tabs.exclusive(async () => {
      order.push('second starts');
      return 'second';
    });
    await until(() => order.length === 1);
    await new Promise((resolve) => setTimeout(resolve));
    expect(order).toEqual(['first starts']);
    finishFirst();
    await expectAsync(first).toBeRejectedWithError('first failed');
    await expectAsync(second).toBeResolvedTo('second');
    expect(order).toEqual(['first starts', 'first ends', 'second starts']);
  });
});
