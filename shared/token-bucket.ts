/**
 * Token bucket for bandwidth limits. Pure: time comes in as `now` (ms). One bucket per tunnel is
 * shared by all of that tunnel's connections (see io/throttle.ts for the stream adapter).
 *
 * Tokens are bytes. The bucket starts full, refills at `rateBytesPerSecond` and holds at most
 * `burstBytes`. Grants are whole bytes.
 */

/** A refilling allowance of bytes. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /** Starts full. Throws RangeError unless the rate is finite and > 0 and the burst is >= 1. */
  constructor(
    readonly rateBytesPerSecond: number,
    readonly burstBytes: number,
    now: number,
  ) {
    if (!(rateBytesPerSecond > 0) || !Number.isFinite(rateBytesPerSecond)) {
      throw new RangeError(`token bucket rate must be a positive finite number, got ${rateBytesPerSecond}`);
    }
    if (!(burstBytes >= 1) || !Number.isFinite(burstBytes)) throw new RangeError(`token bucket burst must be >= 1, got ${burstBytes}`);
    this.tokens = burstBytes;
    this.last = now;
  }

  /** Take up to `wanted` bytes; returns how many were granted now (0..wanted) — never more than available tokens. */
  take(wanted: number, now: number): number {
    this.refill(now);
    const granted = Math.max(0, Math.min(Math.floor(wanted), Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  /** ms until at least `bytes` tokens (capped at burst) are available; 0 if now. Rounded up, so >= 1 when not 0. */
  waitMs(bytes: number, now: number): number {
    this.refill(now);
    const need = Math.min(bytes, this.burstBytes);
    if (this.tokens >= need) return 0;
    return Math.max(1, Math.ceil(((need - this.tokens) * 1000) / this.rateBytesPerSecond));
  }

  /** Tokens available at `now` (fractional; `take` only grants whole bytes). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    // A clock that went backwards just restarts accrual from `now` (no stall, no bonus tokens).
    if (now > this.last) this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.last) * this.rateBytesPerSecond) / 1000);
    this.last = now;
  }
}
