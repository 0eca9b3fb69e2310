import { Session, SessionPosition, sameSession, supersedes } from '../core/session';
import { SessionStore } from '../state/session-store';
import { LedgerEntry, RenewalLedger } from './renewal-ledger';
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
  ) {}

  /**
   * Under the renewal lock: whether `mine` is the newest token set of any tab, or which one is,
   * waiting at most `patienceMs` for another tab to hand it over.
   */
  async standing(mine: Session, patienceMs = HANDOVER_WAIT_MS): Promise<Standing> {
    if (!this.tabs.enabled) return { kind: 'current', session: mine };
    const [read, held] = await Promise.all([this.ledger.read(), this.holders()]);
    const recorded = read.state === 'known' ? read.entry : null;
    if (recorded?.signedOut && recorded.epoch >= mine.epoch) return { kind: 'signed-out' };
    const holders = held ?? [];
    const evidence: SessionPosition[] = [...holders, ...(recorded && !recorded.signedOut ? [recorded] : [])];
    const newest = evidence.reduce<SessionPosition | null>((best, position) => (supersedes(position, best) ? position : best), null);
    if (!newest || !supersedes(newest, mine)) return { kind: 'current', session: mine };

    // Without holder locks to tell, assume a live tab holds it and wait the longer time.
    const alive = (target: SessionPosition) => held === null || holders.some((position) => sameSession(position, target));
    const found = await this.find(newest, Math.min(patienceMs, alive(newest) ? HANDOVER_WAIT_MS : ARRIVING_WAIT_MS));
    if (found) return { kind: 'handed-over', session: found };
    if (alive(newest)) return { kind: 'unavailable' };
    // The newest tokens are gone with their tabs. A live tab may still hold a newer token set of
    // this tab's own sign-in (the ledger moved on to another one): that one is the way forward.
    const sameChain = holders.filter((position) => position.chain === mine.chain && position.version > mine.version);
    if (sameChain.length) {
      const best = sameChain.reduce((a, b) => (b.version > a.version ? b : a));
      const handed = await this.find(best, Math.min(patienceMs, HANDOVER_WAIT_MS));
      return handed ? { kind: 'handed-over', session: handed } : { kind: 'unavailable' };
    }
    // Another sign-in's tokens, gone: this tab's own are not known to be spent.
    if (newest.chain !== mine.chain) return { kind: 'current', session: mine };
    return { kind: 'spent' };
  }

  /**
   * Records a token set this tab renewed or signed in with as the newest, and tells the other
   * tabs. Called under the renewal lock; resolves once the ledger and this tab's holder lock
   * name it, so that the next tab to take the lock sees it.
   */
  async commit(session: Session): Promise<void> {
    this.tabs.postSession(session);
    if (!this.tabs.enabled) return;
    await Promise.all([this.ledger.write(session), this.tabs.holdSession(session)]);
  }

  /**
   * The epoch of a new sign-in: after every sign-in the ledger or a live tab knows of. Called
   * under the renewal lock.
   */
  async nextEpoch(): Promise<number> {
    if (!this.tabs.enabled) return (this.store.session()?.epoch ?? 0) + 1;
    const [read, held] = await Promise.all([this.ledger.read(), this.holders()]);
    const known: number[] = [this.store.session()?.epoch ?? 0, ...(held ?? []).map((position) => position.epoch)];
    if (read.state === 'known') known.push(read.entry.epoch);
    return Math.max(...known) + 1;
  }

  /**
   * Ends the session in the other tabs: every tab for a logout, else the tabs on `position`'s
   * sign-in. A logout is recorded in the ledger, so that a tab that takes the lock before the
   * message reaches it does not renew. Called under the renewal lock.
   */
  async signOut(position: SessionPosition, everyone: boolean): Promise<void> {
    this.tabs.postSignedOut(position, everyone);
    if (!this.tabs.enabled) return;
    const entry: LedgerEntry = { epoch: position.epoch, chain: position.chain, version: position.version, signedOut: true };
    if (everyone) await this.ledger.write(entry);
  }

  /** Which token sets the live tabs hold (or are about to), by their holder locks; null without Web Locks. */
  private async holders(): Promise<SessionPosition[] | null> {
    const names = await this.tabs.holderLocks();
    return (
      names?.flatMap((name) => {
        const [epoch, chain, version] = name.split(':');
        const position = { epoch: Number(epoch), chain, version: Number(version) };
        return chain && Number.isInteger(position.epoch) && Number.isInteger(position.version) ? [position] : [];
      }) ?? null
    );
  }

  /** The token set at `position`: in this tab's view, or handed over by a live tab. */
  private async find(position: SessionPosition, waitMs: number): Promise<Session | null> {
    const known = () =>
      [this.store.session(), this.store.peekStored(), this.tabs.announced()].find(
        (candidate): candidate is Session => candidate !== null && sameSession(candidate, position) && !this.tabs.signedOut(candidate),
      ) ?? null;
    return known() ?? (await this.tabs.requestSession(waitMs, (session) => sameSession(session, position))) ?? known();
  }
}
