/**
 * One timer for a sans-I/O state machine that says when it next needs to run (ngtcp2's
 * get_expiry / handle_expiry contract): `nextExpiry()` gives the earliest deadline (ms on the
 * state machine's clock, undefined for none) and `handleExpiry(now)` does what is due. The timer
 * is armed for that deadline only, never polls, and is re-armed after each run; the owner calls
 * `rearm()` after a change that may have brought a deadline forward. A timer already armed for a
 * time at or before the new earliest deadline is kept (waking early is harmless: `handleExpiry`
 * finds nothing due and the timer is re-armed for the real deadline), so `rearm()` after every
 * request or datagram costs no timer churn.
 */

export interface Expiring {
  nextExpiry(): number | undefined;
  handleExpiry(now: number): void;
}

/** setTimeout's largest delay; a later deadline is re-examined after this long. */
const MAX_DELAY_MS = 0x7fffffff;

export interface TimerFunctions {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const nodeTimers: TimerFunctions = {
  set: (run, ms) => setTimeout(run, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class DeadlineTimer {
  private handle: unknown;
  /** The deadline the timer is armed for. */
  private armedFor: number | undefined;
  private stopped = false;

  constructor(
    private readonly target: Expiring,
    private readonly now: () => number,
    private readonly timers: TimerFunctions = nodeTimers,
  ) {}

  /** The deadline the timer is armed for (undefined: not armed). */
  get deadline(): number | undefined {
    return this.armedFor;
  }

  /** Makes sure the timer fires no later than the target's earliest deadline. */
  rearm(): void {
    if (this.stopped) return;
    const next = this.target.nextExpiry();
    if (next === undefined) return;
    if (this.armedFor !== undefined && this.armedFor <= next) return;
    this.disarm();
    this.armedFor = next;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, next - this.now()));
    this.handle = this.timers.set(() => this.fire(), delay);
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private fire(): void {
    this.handle = undefined;
    this.armedFor = undefined;
    if (this.stopped) return;
    try {
      this.target.handleExpiry(this.now());
    } finally {
      this.rearm();
    }
  }

  private disarm(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
    this.armedFor = undefined;
  }
}
