/**
 * The one clock for heartbeats, timeouts and deadlines: monotonic milliseconds, as
 * `performance.now()` gives them. Monotonic means a wall-clock jump (NTP step, suspend, a user
 * changing the date) can neither fire a deadline early nor hold it off; its zero is arbitrary, so
 * its values are only ever compared with each other, never shown as dates.
 *
 * Passed in, never read from a global, so state machines and their tests can run on a fake clock.
 * Wall-clock time (`Date.now()`) stays only where a user or another machine reads it as a date.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (fractions allowed). */
  now(): number;
}

/** A clock a test moves by hand with `advance(ms)`; starts at `start`. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a monotonic clock only moves forward, got ${ms}`);
    this.current += ms;
  }
}
