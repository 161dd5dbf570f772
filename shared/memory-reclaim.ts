/**
 * State machine: when a quiet process should run a full garbage collection to give memory back.
 *
 * Why: a relay's socket reads are 64 KiB Buffers whose memory lives outside the JavaScript heap
 * and is freed only when V8 collects the Buffer objects. After a burst (thousands of connections,
 * or a bulk transfer) the process goes quiet, allocates nothing more, and so V8 never runs the
 * major collection that would free them: measured on `burrow server` 60 s after 5000 connections
 * × 64 KiB, 154 MB of such Buffers were still held, all of it garbage (issue 12,
 * docs/BENCHMARKS.md). A busy process needs none of this; V8 collects as it allocates.
 *
 * The rule, on readings taken every few seconds (time is an argument; no timers here):
 * - `footprint` = JavaScript heap in use + memory held by ArrayBuffers/Buffers;
 * - `low` = the smallest footprint seen since the last collection (V8's own collections lower it);
 * - collect when the footprint is at least `minGarbageBytes` above `low` (there is probably
 *   that much to free), it moved less than `quietBytes` since the previous reading (nothing is
 *   being allocated: the process is idle, so a pause of a few ms disturbs nobody), and at least
 *   `minIntervalMs` passed since the last collection (the first may come at any time).
 * After a collection, `low` restarts from what is left: memory that is really in use (say 1000
 * open idle connections) does not trigger collection after collection.
 */

export interface HeapReading {
  /** Monotonic milliseconds. */
  now: number;
  /** JavaScript heap in use, bytes (V8's used_heap_size, garbage included until collected). */
  heapUsed: number;
  /** Memory outside the heap owned by JavaScript objects (ArrayBuffers, Buffers), bytes. */
  external: number;
}

export interface MemoryReclaimOptions {
  /** Collect only when the footprint is this much above its low point; default 16 MiB. */
  minGarbageBytes?: number;
  /** The process counts as quiet while its footprint moves less than this between readings; default 1 MiB. */
  quietBytes?: number;
  /** At least this long between collections, ms; default 30 000. */
  minIntervalMs?: number;
}

export const RECLAIM_DEFAULT_MIN_GARBAGE = 16 * 1024 * 1024;
export const RECLAIM_DEFAULT_QUIET = 1024 * 1024;
export const RECLAIM_DEFAULT_MIN_INTERVAL_MS = 30_000;

const footprint = (r: HeapReading): number => r.heapUsed + r.external;

export class MemoryReclaimPolicy {
  private readonly minGarbage: number;
  private readonly quiet: number;
  private readonly minInterval: number;
  private low: number;
  private previous: number;
  private lastCollection: number;

  constructor(first: HeapReading, options: MemoryReclaimOptions = {}) {
    this.minGarbage = options.minGarbageBytes ?? RECLAIM_DEFAULT_MIN_GARBAGE;
    this.quiet = options.quietBytes ?? RECLAIM_DEFAULT_QUIET;
    this.minInterval = options.minIntervalMs ?? RECLAIM_DEFAULT_MIN_INTERVAL_MS;
    for (const [name, v] of [
      ['minGarbageBytes', this.minGarbage],
      ['quietBytes', this.quiet],
      ['minIntervalMs', this.minInterval],
    ] as const) {
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
    }
    this.low = footprint(first);
    this.previous = this.low;
    // The first collection may come as soon as the process is quiet.
    this.lastCollection = first.now - this.minInterval;
  }

  /** A new reading; true when a collection should run now (then report its result with `collected`). */
  sample(r: HeapReading): boolean {
    const f = footprint(r);
    const moved = Math.abs(f - this.previous);
    this.previous = f;
    if (f < this.low) this.low = f;
    return f - this.low >= this.minGarbage && moved < this.quiet && r.now - this.lastCollection >= this.minInterval;
  }

  /** The reading right after a collection: the new low point. */
  collected(after: HeapReading): void {
    this.low = footprint(after);
    this.previous = this.low;
    this.lastCollection = after.now;
  }
}
