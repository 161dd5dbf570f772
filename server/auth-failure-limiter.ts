/**
 * Rate-limits failed logins per source address and in total (sliding windows). Pure: time comes
 * in as `now`.
 *
 * A source is blocked while it has at least `failures` failed attempts within the last
 * `windowMs`; it is unblocked as soon as the oldest of those slides out of the window. With
 * `globalFailures`, every source is also blocked while all sources together have that many
 * failures within the window (a spread-out guesser using many addresses).
 *
 * "Blocked" only says how failures are answered: callers check a proof first, and a correct
 * proof is never refused because of the limiter — many real clients share one public address
 * behind a NAT, so refusing them for a stranger's failures would be a denial of service.
 *
 * Memory: per source only the newest `failures` timestamps are kept (older ones cannot matter),
 * sources whose failures have all left the window are dropped as they are seen, and at most
 * `maxTracked` sources are tracked — past that, the source whose last failure is oldest is evicted.
 * (So a flood of distinct addresses can evict a blocked source early: the bound on memory wins.)
 */

/** Limiter settings. */
export interface AuthFailureLimiterOptions {
  /** Failed attempts within the window that trigger a block (>= 1). */
  failures: number;
  /** Sliding window length (ms). */
  windowMs: number;
  /** Memory bound: most sources tracked at once; the oldest is evicted. Default 10000. */
  maxTracked?: number;
  /** Failed attempts from all sources together within the window that block everyone (>= 1). Default: no global budget. */
  globalFailures?: number;
}

/** One tracked source, linked in order of last failure (oldest at the head). */
interface Entry {
  readonly source: string;
  /** Newest failure times, ascending, at most `failures` of them. */
  readonly times: number[];
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** Tracks failed logins per source address and says when a source must wait. */
export class AuthFailureLimiter {
  private readonly failures: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly globalFailures: number | undefined;
  /** Newest failure times of all sources, ascending, at most `globalFailures` of them. */
  private readonly globalTimes: number[] = [];
  private readonly bySource = new Map<string, Entry>();
  /**
   * Recency list (oldest last failure first). A hand-made list rather than Map order: V8 leaves
   * holes at the front of a Map after deletions, so "first entry" would cost O(n) under churn.
   */
  private head: Entry | undefined;
  private tail: Entry | undefined;

  /** Throws RangeError for a non-positive failures/windowMs/maxTracked. */
  constructor(options: AuthFailureLimiterOptions) {
    const { failures, windowMs, maxTracked = 10_000, globalFailures } = options;
    if (globalFailures !== undefined && (!Number.isInteger(globalFailures) || globalFailures < 1)) {
      throw new RangeError(`globalFailures must be an integer >= 1, got ${globalFailures}`);
    }
    this.globalFailures = globalFailures;
    if (!Number.isInteger(failures) || failures < 1) throw new RangeError(`failures must be an integer >= 1, got ${failures}`);
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    if (!Number.isInteger(maxTracked) || maxTracked < 1) throw new RangeError(`maxTracked must be an integer >= 1, got ${maxTracked}`);
    this.failures = failures;
    this.windowMs = windowMs;
    this.maxTracked = maxTracked;
  }

  /** True when `source` (or, with a global budget, everyone together) had too many failed logins within the last windowMs. */
  isBlocked(source: string, now: number): boolean {
    return this.blockedUntil(source, now) > now;
  }

  /** Counts a failed login (bad token, wrong secret…) by `source` at `now`. O(1) amortised. */
  recordFailure(source: string, now: number): void {
    this.prune(now);
    let entry = this.bySource.get(source);
    if (entry) {
      this.unlink(entry);
    } else {
      entry = { source, times: [], prev: undefined, next: undefined };
      this.bySource.set(source, entry);
    }
    this.append(entry);
    const times = entry.times;
    times.push(now);
    if (times.length > 1 && times[times.length - 2]! > now) times.sort((a, b) => a - b); // clock went back
    if (times.length > this.failures) times.splice(0, times.length - this.failures);
    if (this.globalFailures !== undefined) {
      const all = this.globalTimes;
      all.push(now);
      if (all.length > 1 && all[all.length - 2]! > now) all.sort((a, b) => a - b);
      if (all.length > this.globalFailures) all.splice(0, all.length - this.globalFailures);
    }
    while (this.bySource.size > this.maxTracked && this.head) this.remove(this.head);
  }

  /** A successful login forgets the source's failures. */
  recordSuccess(source: string): void {
    const entry = this.bySource.get(source);
    if (entry) this.remove(entry);
  }

  /** Seconds until the source may try again (0 if not blocked); rounded up, so >= 1 while blocked. */
  retryAfterSeconds(source: string, now: number): number {
    const until = this.blockedUntil(source, now);
    // Whole milliseconds first: with a fractional monotonic clock, (t + window) - t can come out a
    // hair over the window (float rounding), and Math.ceil would then say one second too many.
    return until > now ? Math.ceil(Math.round(until - now) / 1000) : 0;
  }

  /** How many sources currently have failures on record (bounded by maxTracked). */
  get trackedSources(): number {
    return this.bySource.size;
  }

  /** When the source's (or the global) block ends (<= now when not blocked). */
  private blockedUntil(source: string, now: number): number {
    return Math.max(this.sourceBlockedUntil(source, now), this.globalBlockedUntil());
  }

  private globalBlockedUntil(): number {
    const all = this.globalTimes;
    if (this.globalFailures === undefined || all.length < this.globalFailures) return -Infinity;
    return all[0]! + this.windowMs;
  }

  /** When the source's block ends (<= now when not blocked). Drops the source's stale record. */
  private sourceBlockedUntil(source: string, now: number): number {
    const entry = this.bySource.get(source);
    if (!entry) return -Infinity;
    const times = entry.times;
    if (times[times.length - 1]! + this.windowMs <= now) {
      this.remove(entry);
      return -Infinity;
    }
    if (times.length < this.failures) return -Infinity;
    // Exactly `failures` kept: blocked until the oldest of them leaves the window.
    return times[0]! + this.windowMs;
  }

  /** Drops sources (oldest first) whose every failure has left the window. Amortised O(1). */
  private prune(now: number): void {
    while (this.head && this.head.times[this.head.times.length - 1]! + this.windowMs <= now) this.remove(this.head);
  }

  private remove(entry: Entry): void {
    this.unlink(entry);
    this.bySource.delete(entry.source);
  }

  private unlink(entry: Entry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = undefined;
  }

  private append(entry: Entry): void {
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
  }
}
