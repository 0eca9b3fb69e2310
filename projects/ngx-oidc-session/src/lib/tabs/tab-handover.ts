import { Session, SessionPosition, sameSession, supersedes } from '../core/session';
import { SessionStore, plausibleEpoch } from '../state/session-store';
import { LedgerRead, LedgerRecord, RenewalLedger } from './renewal-ledger';
import { TabCoordinator } from './tab-coordinator';

/**
 * Where a tab under the renewal lock stands against the other tabs:
 * - `current`: no tab holds newer tokens; renew from `session`;
 * - `handed-over`: another tab's newer token set, to adopt (or renew from, if due);
 * - `unavailable`: a live tab holds newer tokens but did not hand them over in time (frozen in
 *   the background): this tab's own refresh token may be spent; try later;
 * - `spent`: newer tokens of this sign-in existed, but no live tab holds them any more: this
 *   tab's refresh token is spent for good;
 * - `signed-out`: the user signed out in another tab (its message may not have arrived yet).
 */
export type Standing =
  | { readonly kind: 'current'; readonly session: Session }
  | { readonly kind: 'handed-over'; readonly session: Session }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'spent' }
  | { readonly kind: 'signed-out' };

/** How long a tab under the lock waits for a live tab to hand over newer tokens. */
export const HANDOVER_WAIT_MS = 5_000;
/** How long it waits when no live tab is known to hold them (a broadcast may still be on its way). */
export const ARRIVING_WAIT_MS = 1_000;

/**
 * What a tab does under the renewal lock: find out whether its token set is the newest of all
 * tabs, and record a new one before it lets go. Part of the protocol chunk: a page needs it
 * only when it renews, signs in or signs out.
 *
 * The evidence: a ledger in IndexedDB naming the newest token set (its position, never a
 * token), written by every renewal and sign-in before the lock is released; and the holder
 * locks of the live tabs. The newer of the two decides, so that a ledger write that failed, or
 * an IndexedDB that does not answer, cannot make a tab present a spent refresh token.
 */
export class TabHandover {
  constructor(
    private readonly tabs: TabCoordinator,
    private readonly store: SessionStore,
    private readonly ledger: RenewalLedger,
    private readonly now: () => number,
  ) {}

  /**
   * Under the renewal lock: whether `mine` is the newest token set of its sign-in and of all
   * tabs, or which one is, waiting at most `patienceMs` for another tab to hand it over.
   *
   * First the newest token set of all (a later sign-in, or a later renewal of this one): taken
   * when a tab hands it over. Then, if that fails, the newest renewal of this tab's own sign-in:
   * when one exists beyond `mine`, this tab's refresh token is spent, and it either gets that
   * token set or must not renew at all.
   */
  async standing(mine: Session, patienceMs = HANDOVER_WAIT_MS): Promise<Standing> {
    if (!this.tabs.enabled) return { kind: 'current', session: mine };
    const [read, held] = await Promise.all([this.ledger.read(), this.holders()]);
    const record = this.plausible(read);
    if (Math.max(record?.signedOutUpTo ?? -1, this.store.lastSignOutEpoch()) >= mine.epoch) return { kind: 'signed-out' };
    const holders = held ?? [];
    // Without holder locks to tell, assume a live tab holds a token set and wait the longer time.
    const alive = (target: SessionPosition) => held === null || holders.some((position) => sameSession(position, target));
    const wait = (target: SessionPosition) => Math.min(patienceMs, alive(target) ? HANDOVER_WAIT_MS : ARRIVING_WAIT_MS);

    const newest = [...holders, ...(record?.newest ? [record.newest] : [])].reduce<SessionPosition | null>((best, position) => (supersedes(position, best) ? position : best), null);
    if (newest && newest.chain !== mine.chain && supersedes(newest, mine)) {
      const found = await this.find(newest, wait(newest));
      // A newer sign-in of a tab of the other token mode (bearer next to withDPoP(), or the
      // reverse) is not this tab's to take or wait for: it goes on with its own sign-in.
      if (found && this.store.fits(found)) return { kind: 'handed-over', session: found };
      if (!found && alive(newest)) return { kind: 'unavailable' };
    }
    const ownVersions = [...holders.filter((position) => position.chain === mine.chain).map((position) => position.version), record?.chains[mine.chain] ?? -1];
    const ownNewest = { epoch: mine.epoch, chain: mine.chain, version: Math.max(...ownVersions) };
    if (ownNewest.version <= mine.version) return { kind: 'current', session: mine };
    const found = await this.find(ownNewest, wait(ownNewest));
    if (found && this.store.fits(found)) return { kind: 'handed-over', session: found };
    return alive(ownNewest) ? { kind: 'unavailable' } : { kind: 'spent' };
  }

  /**
   * Records a token set this tab renewed or signed in with as the newest, and tells the other
   * tabs. Called under the renewal lock; resolves once the ledger and this tab's holder lock
   * name it, so that the next tab to take the lock sees it.
   */
  async commit(session: Session): Promise<void> {
    this.tabs.postSession(session);
    if (!this.tabs.enabled) return;
    await Promise.all([this.ledger.recordNewest(session), this.tabs.holdSession(session)]);
  }

  /**
   * The epoch of a new sign-in: after every sign-in and logout the ledger, a live tab or this
   * tab knows of, and never below the time (milliseconds), so that a sign-in made while the
   * ledger cannot be read still comes after the sign-ins before it. Called under the lock.
   */
  async nextEpoch(): Promise<number> {
    const { signedOut, known } = await this.lastEvents();
    return Math.max(Math.max(known, signedOut) + 1, Math.floor(this.now()));
  }

  /**
   * Ends the session in every tab up to `epoch` (a logout): the message, this tab's memory and
   * localStorage, and the ledger, so that a tab that takes the lock before the message reaches
   * it does not renew. Called under the renewal lock.
   */
  async signOutEveryone(epoch: number): Promise<void> {
    this.tabs.postSignedOut({ epoch, chain: '', version: 0 }, true);
    if (this.tabs.enabled) await this.ledger.recordSignOut(epoch);
  }

  /**
   * The last logout (its epoch) and the largest epoch of any sign-in that the ledger, the live
   * tabs and this tab know of: a silent or popup sign-in compares them before and after it asks the OP.
   * Without shared tabs, this tab's own knowledge only.
   */
  async lastEvents(): Promise<{ readonly signedOut: number; readonly known: number }> {
    const record = this.tabs.enabled ? this.plausible(await this.ledger.read()) : null;
    return { signedOut: Math.max(this.store.lastSignOutEpoch(), record?.signedOutUpTo ?? -1), known: await this.knownEpoch(record) };
  }

  /**
   * The largest epoch the ledger, the live tabs and this tab know of: what a logout ends, so
   * that no token set it should end survives it. Called under the renewal lock.
   */
  async knownEpoch(record?: LedgerRecord | null): Promise<number> {
    if (record === undefined && this.tabs.enabled) record = this.plausible(await this.ledger.read());
    const held = this.tabs.enabled ? await this.holders() : null;
    return Math.max(
      this.store.session()?.epoch ?? -1,
      this.tabs.announced()?.epoch ?? -1,
      record?.newest?.epoch ?? -1,
      record?.maxEpoch ?? -1,
      ...(held ?? []).map((position) => position.epoch),
    );
  }

  /**
   * The record, without what no honest tab can have written: an epoch far in the future (see
   * plausibleEpoch) would sign out or outrank every later sign-in.
   */
  private plausible(read: LedgerRead): LedgerRecord | null {
    if (read.state !== 'known') return null;
    const now = this.now();
    const { newest, maxEpoch, signedOutUpTo, chains } = read.record;
    return {
      chains,
      newest: newest && plausibleEpoch(newest.epoch, now) ? newest : undefined,
      maxEpoch: maxEpoch !== undefined && plausibleEpoch(maxEpoch, now) ? maxEpoch : undefined,
      signedOutUpTo: signedOutUpTo !== undefined && plausibleEpoch(signedOutUpTo, now) ? signedOutUpTo : undefined,
    };
  }

  /** Which token sets the live tabs hold (or are about to), by their holder locks; null without Web Locks. */
  private async holders(): Promise<SessionPosition[] | null> {
    const names = await this.tabs.holderLocks();
    return (
      names?.flatMap((name) => {
        const [epoch, chain, version] = name.split(':');
        const position = { epoch: Number(epoch), chain, version: Number(version) };
        return chain && Number.isInteger(position.epoch) && Number.isInteger(position.version) && plausibleEpoch(position.epoch, this.now()) ? [position] : [];
      }) ?? null
    );
  }

  /** The token set at `position`, of either token mode: in this tab's view, or handed over by a live tab. */
  private async find(position: SessionPosition, waitMs: number): Promise<Session | null> {
    const known = () =>
      [this.store.session(), this.store.peekStored(), this.tabs.announced()].find(
        (candidate): candidate is Session => candidate !== null && sameSession(candidate, position) && !this.tabs.signedOut(candidate),
      ) ?? null;
    return known() ?? (await this.tabs.requestSession(waitMs, (session) => sameSession(session, position))) ?? known();
  }
}
