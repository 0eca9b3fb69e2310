import { InjectionToken } from '@angular/core';

export type TimerHandle = { readonly __timer: unique symbol };

/**
 * The one place that reads the time and sets timers, so that every timing rule can be
 * tested with a fake clock. Provide your own with `withClock()` (tests only).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};

export const AUTH_CLOCK = new InjectionToken<Clock>('ngx-oidc-session clock', {
  providedIn: 'root',
  factory: () => systemClock,
});
