import { TestBed } from '@angular/core/testing';
import { AuthHarness } from '../../testing/harness';
import { Session } from '../core/session';
import { withDPoP } from '../../../dpop/src/with-dpop';
import { RenewalLedger } from './renewal-ledger';
import { HANDOVER_WAIT_MS } from './tab-handover';

// Tabs of one app and client in different token modes: a tab of an earlier release (bearer)
// or one opened before the app switched withDPoP() on, next to withDPoP() tabs, and the reverse.
const OWNER = 'spa@https://op.example.com';
const CHANNEL = `ngx-oidc-session:${OWNER}`;
const NAMESPACE = `ngx-oidc-session:${OWNER}/`;
const SESSION_KEY = `${NAMESPACE}:session`;
const FORMAT = 2;

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = () => resolve();
  });
}

async function resetSharedState(): Promise<void> {
  localStorage.removeItem(`${NAMESPACE}:signed-out`);
  localStorage.removeItem(SESSION_KEY);
  await deleteDatabase('ngx-oidc-session-renewal-ledger');
  await deleteDatabase('ngx-oidc-session-dpop');
}

/** A tab signed in with a real page window (channel, locks, IndexedDB); withDPoP() and an OP issuing DPoP tokens when `dpop`. */
async function signedInTab(dpop: boolean, config: object = {}): Promise<AuthHarness> {
  const harness = await AuthHarness.create(config);
  harness.browser.windowRef = window;
  if (dpop) {
    harness.features = [withDPoP()];
    const issue = harness.op.handlers['/token'];
    harness.op.handlers['/token'] = async (request) => {
      const reply = await issue(request);
      return reply.status === 200 ? { ...reply, body: { ...(reply.body as object), token_type: 'DPoP' } } : reply;
    };
  }
  await harness.signIn();
  return harness;
}

function storedSession(harness: AuthHarness): Session {
  return JSON.parse(harness.storage.getItem(SESSION_KEY)!).session as Session;
}

/** `session` as a tab of the other mode would hold it. */
function inMode(session: Session, dpop: boolean): Session {
  const copy: Record<string, unknown> = { ...session, tokenType: dpop ? 'DPoP' : 'Bearer', dpopJkt: 'jkt-of-another-tab' };
  if (!dpop) delete copy['dpopJkt'];
  return copy as unknown as Session;
}

/** Looks until no tab holds a holder lock: letting go of one is not announced. */
async function untilNoHolder(): Promise<void> {
  const held = async () => ((await navigator.locks.query()).held ?? []).some((lock) => (lock.name ?? '').startsWith(`${NAMESPACE}:holder:`));
  while (await held()) await new Promise((resolve) => setTimeout(resolve));
}

/** Another tab, speaking on the library's channel. */
class OtherTab {
  readonly channel = new BroadcastChannel(CHANNEL);
  send(message: Record<string, unknown>): void {
    this.channel.postMessage({ format: FORMAT, owner: OWNER, ...message });
  }
}

/** Another user's new sign-in, made later (it outranks this tab's) in the other mode. */
function laterSignIn(mine: Session, dpop: boolean, at: number): Session {
  return inMode({ ...mine, accessToken: 'at-of-the-other-mode', refreshToken: 'rt-of-the-other-mode', epoch: mine.epoch + 1, chain: 'other-mode-chain', version: 0, receivedAt: at, expiresAt: at + 300_000, idTokenClaims: { ...mine.idTokenClaims, sub: 'another-user' } }, dpop);
}

describe('Tabs of different token modes (bearer and withDPoP())', () => {
  let other: OtherTab;

  beforeEach(async () => {
    await resetSharedState();
    other = new OtherTab();
  });

  afterEach(async () => {
    other.channel.close();
    TestBed.resetTestingModule(); // closes the tab's channel and lets go of its locks
    await resetSharedState();
  });

  for (const dpop of [true, false]) {
    const mode = dpop ? 'withDPoP()' : 'bearer';
    const otherMode = dpop ? 'bearer' : 'DPoP';

    it(`a ${mode} tab neither takes a broadcast ${otherMode} session nor signs out for it; the next one of its own mode it takes`, async () => {
      const harness = await signedInTab(dpop);
      const mine = storedSession(harness);
      const tokenTypes: (string | null)[] = [];
      harness.auth.state$.subscribe((state) => tokenTypes.push(state.tokenType));
      const events = harness.events.length;
      other.send({ kind: 'session', session: laterSignIn(mine, !dpop, harness.clock.now()) });
      // The same tab's next message arrives after it: a later sign-in of this user in this tab's
      // mode (token_type compared case-insensitively, RFC 9449 5).
      const own = { ...mine, tokenType: dpop ? 'dpop' : 'bearer', accessToken: 'at-own-mode', epoch: mine.epoch + 2, version: mine.version + 1 };
      other.send({ kind: 'session', session: own });
      await new Promise<void>((resolve) => harness.auth.state$.subscribe((state) => state.accessTokenExpiresAt !== null && storedSession(harness).accessToken === 'at-own-mode' && resolve()));
      expect(await harness.auth.getAccessToken()).toBe('at-own-mode');
      expect(tokenTypes).not.toContain(dpop ? 'Bearer' : 'DPoP');
      expect(harness.events.slice(events).map((event) => event.type)).not.toContain('signed_out');
    });

    it(`a new ${mode} tab takes no ${otherMode} session handed over, but the next answer of its own mode`, async () => {
      const first = await signedInTab(dpop);
      const mine = storedSession(first);
      first.storage.removeItem(SESSION_KEY); // a new tab: its own empty sessionStorage
      TestBed.resetTestingModule();
      // A live tab holds a session (its holder lock), and answers in the wrong mode first.
      let release!: () => void;
      await new Promise<void>((granted) => void navigator.locks.request(`${NAMESPACE}:holder:${mine.epoch}:${mine.chain}:${mine.version}`, { mode: 'shared' }, () => (granted(), new Promise<void>((resolve) => (release = resolve)))));
      other.channel.onmessage = (event: MessageEvent) => {
        const data = event.data as Record<string, unknown>;
        if (data['kind'] !== 'session-request') return;
        other.send({ kind: 'session-response', requestId: data['requestId'], session: laterSignIn(mine, !dpop, first.clock.now()) });
        other.send({ kind: 'session-response', requestId: data['requestId'], session: mine });
      };
      const auth = await first.load();
      release();
      expect(auth.state()).toEqual(jasmine.objectContaining({ status: 'authenticated', tokenType: dpop ? 'DPoP' : 'Bearer' }));
      expect(await auth.getAccessToken()).toBe(mine.accessToken);
    });
  }

  it("a withDPoP() tab renews its own sign-in when a bearer tab signed in later, without waiting for that tab's tokens", async () => {
    const harness = await signedInTab(true);
    const mine = storedSession(harness);
    // A bearer tab's later sign-in: announced, named in the ledger, held by that live tab.
    const theirs = laterSignIn(mine, false, harness.clock.now());
    other.send({ kind: 'session', session: theirs });
    await new RenewalLedger(indexedDB, NAMESPACE, (callback, ms) => {
      const timer = setTimeout(callback, ms);
      return () => clearTimeout(timer);
    }).recordNewest(theirs);
    let release!: () => void;
    await new Promise<void>((granted) => void navigator.locks.request(`${NAMESPACE}:holder:${theirs.epoch}:${theirs.chain}:${theirs.version}`, { mode: 'shared' }, () => (granted(), new Promise<void>((resolve) => (release = resolve)))));
    // This tab has the announcement once it answers a later request of the same tab.
    const answered = new Promise<void>((resolve) => (other.channel.onmessage = (event: MessageEvent) => (event.data as Record<string, unknown>)['kind'] === 'session-response' && resolve()));
    other.send({ kind: 'session-request', requestId: 'r1' });
    await answered;
    const asked = new Promise<string>((resolve) => other.channel.addEventListener('message', (event: MessageEvent) => (event.data as Record<string, unknown>)['kind'] === 'session-request' && resolve('asked the other tabs')));
    const renewal = harness.auth.renew();
    const first = await Promise.race([renewal.then(() => 'renewed'), asked]);
    if (first !== 'renewed') harness.clock.advance(HANDOVER_WAIT_MS); // lets a waiting renewal end, to report
    await renewal.catch(() => undefined);
    release();
    expect(first).toBe('renewed');
    expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual([mine.refreshToken!]);
    expect(harness.auth.state()).toEqual(jasmine.objectContaining({ status: 'authenticated', tokenType: 'DPoP' }));
  });

  it("with storage 'local', a renewal with no session in memory leaves another tab's later DPoP sign-in in storage", async () => {
    const harness = await signedInTab(true, { storage: 'local' });
    const written = JSON.parse(localStorage.getItem(SESSION_KEY)!) as { session: Session };
    localStorage.removeItem(SESSION_KEY);
    TestBed.resetTestingModule();
    await untilNoHolder(); // no live tab holds a session: the reload below asks none
    await harness.load(); // this tab starts signed out, with no key
    expect(harness.auth.state().status).toBe('unauthenticated');
    // Another tab signs in with a key of its own (this tab never checked it) and writes it.
    const later = JSON.stringify({ ...written, session: { ...written.session, epoch: written.session.epoch + 1, chain: 'later-sign-in', dpopJkt: 'jkt-of-a-later-sign-in' } });
    localStorage.setItem(SESSION_KEY, later);
    await expectAsync(harness.auth.renew()).toBeRejectedWith(jasmine.objectContaining({ code: 'no_session' }));
    expect(localStorage.getItem(SESSION_KEY)).toBe(later);
    expect(harness.auth.state().status).toBe('unauthenticated');
  });
});
