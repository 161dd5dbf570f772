/**
 * Exponential reconnect backoff with jitter. Pure: the random source is injectable, and the
 * caller owns the timer (`setTimeout(reconnect, backoff.next())`).
 *
 * Attempt n (0-based) has base delay `min(maxMs, initialMs * factor^n)`; jitter then shortens it
 * by up to `jitter` of itself: `delay = base * (1 - jitter * random())`, so the delay lies in
 * `[base * (1 - jitter), base]` and never exceeds `maxMs`.
 */

/** Backoff tuning; every field is optional. */
export interface BackoffOptions {
  /** Base delay of the first attempt (ms). Default 500. */
  initialMs?: number;
  /** Cap on the base delay (ms). Default 30000. */
  maxMs?: number;
  /** Growth factor per attempt (>= 1). Default 2. */
  factor?: number;
  /** 0..1, default 0.5: delay is base*(1 - jitter*random()). */
  jitter?: number;
}

/** Produces successive reconnect delays; `reset()` after a successful connection. */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private count = 0;

  /** `random` defaults to Math.random; values outside [0, 1] are clamped. Throws RangeError for bad options. */
  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    const { initialMs = 500, maxMs = 30_000, factor = 2, jitter = 0.5 } = options;
    if (!(initialMs > 0) || !Number.isFinite(initialMs)) throw new RangeError(`backoff initialMs must be a positive number, got ${initialMs}`);
    if (!(maxMs >= initialMs) || !Number.isFinite(maxMs)) throw new RangeError(`backoff maxMs must be >= initialMs, got ${maxMs}`);
    if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`backoff factor must be >= 1, got ${factor}`);
    if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff jitter must be within 0..1, got ${jitter}`);
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
  }

  /** The delay (ms) before the next attempt; counts the attempt. */
  next(): number {
    const base = this.baseFor(this.count);
    this.count++;
    const r = Math.min(1, Math.max(0, this.random() || 0));
    return base * (1 - this.jitter * r);
  }

  /** Back to the initial delay (call after a successful connection). */
  reset(): void {
    this.count = 0;
  }

  /** How many delays `next()` has handed out since construction or the last `reset()`. */
  get attempts(): number {
    return this.count;
  }

  /** The un-jittered delay of attempt `n` (0-based). */
  private baseFor(n: number): number {
    // factor^n overflows to Infinity for large n; min() then yields maxMs.
    return Math.min(this.maxMs, this.initialMs * this.factor ** n);
  }
}
