import { Clock, TimerHandle } from '../lib/platform/clock';

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/** A clock whose time moves only when a test says so. Timers fire in due order. */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: Timer[] = [];
  /** Every delay ever passed to setTimeout, for assertions on timing rules. */
  readonly requestedDelays: number[] = [];

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    this.requestedDelays.push(delayMs);
    const timer = { id: this.nextId++, due: this.time + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((timer) => timer.id !== (handle as unknown as number));
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** When the next timer falls due, or null when none is pending. */
  nextDue(): number | null {
    return this.timers.length ? Math.min(...this.timers.map((timer) => timer.due)) : null;
  }

  /** Moves time to the next timer and fires it (and any due at the same moment). */
  advanceToNextTimer(): void {
    const due = this.nextDue();
    if (due === null) throw new Error('no timer pending');
    this.advance(due - this.time);
  }

  /** Moves time forward, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.timers].sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next || next.due > end) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.time = next.due;
      next.callback();
    }
    this.time = end;
  }

  /** Jumps the wall clock without firing timers: what a sleeping laptop or frozen tab sees. */
  jump(ms: number): void {
    this.time += ms;
  }
}
