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
 *   being allocated: the process is idle, so a pause of a few ms disturbs nobody), fewer than
 *   `busyTrafficBytes` were read from sockets since then (when the host counts them), and at least
 *   `minIntervalMs` passed since the last collection (the first may come at any time).
 * The socket rule is there because a footprint can hold still for a second in the middle of a
 * transfer, and a collection forced then throws V8 into a run of incremental full collections for
 * the rest of it: measured, gc() 2.5 s into an 8-stream iperf3 through `burrow server` → 129
 * more full collections in the next 4 s, 750 → 523 MB/s (issue 12, docs/BENCHMARKS.md).
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
  /** Bytes read from sockets so far (a running total), when the host counts them. */
  socketBytes?: number;
}

export interface MemoryReclaimOptions {
  /** Collect only when the footprint is this much above its low point; default 16 MiB. */
  minGarbageBytes?: number;
  /** The process counts as quiet while its footprint moves less than this between readings; default 1 MiB. */
  quietBytes?: number;
  /** At least this long between collections, ms; default 30 000. */
  minIntervalMs?: number;
  /** No collection while more socket bytes than this were read since the previous reading; default 8 MiB. */
  busyTrafficBytes?: number;
}

export const RECLAIM_DEFAULT_MIN_GARBAGE = 16 * 1024 * 1024;
export const RECLAIM_DEFAULT_QUIET = 1024 * 1024;
export const RECLAIM_DEFAULT_MIN_INTERVAL_MS = 30_000;
export const RECLAIM_DEFAULT_BUSY_TRAFFIC = 8 * 1024 * 1024;

const footprint = (r: HeapReading): number => r.heapUsed + r.external;

/** Bytes read from sockets between two readings, or undefined when either does not say. */
export function socketBytesBetween(prev: { socketBytes?: number }, r: { socketBytes?: number }): number | undefined {
  return r.socketBytes === undefined || prev.socketBytes === undefined ? undefined : r.socketBytes - prev.socketBytes;
}

/** Each option's value, or its default; a RangeError names the first that is not a finite number >= 0. */
export function optionValues<K extends string>(given: Partial<Record<K, number>>, defaults: Record<K, number>): Record<K, number> {
  const out = { ...defaults };
  for (const name of Object.keys(defaults) as K[]) {
    const v = given[name] ?? defaults[name];
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
    out[name] = v;
  }
  return out;
}

export class MemoryReclaimPolicy {
  private readonly minGarbage: number;
  private readonly quiet: number;
  private readonly minInterval: number;
  private readonly busyTraffic: number;
  private low: number;
  private previous: number;
  private previousSocketBytes: number | undefined;
  private lastCollection: number;

  constructor(first: HeapReading, options: MemoryReclaimOptions = {}) {
    const o = optionValues(options, {
      minGarbageBytes: RECLAIM_DEFAULT_MIN_GARBAGE,
      quietBytes: RECLAIM_DEFAULT_QUIET,
      minIntervalMs: RECLAIM_DEFAULT_MIN_INTERVAL_MS,
      busyTrafficBytes: RECLAIM_DEFAULT_BUSY_TRAFFIC,
    });
    this.minGarbage = o.minGarbageBytes;
    this.quiet = o.quietBytes;
    this.minInterval = o.minIntervalMs;
    this.busyTraffic = o.busyTrafficBytes;
    this.low = footprint(first);
    this.previous = this.low;
    this.previousSocketBytes = first.socketBytes;
    // The first collection may come as soon as the process is quiet.
    this.lastCollection = first.now - this.minInterval;
  }

  /** A new reading; true when a collection should run now (then report its result with `collected`). */
  sample(r: HeapReading): boolean {
    const f = footprint(r);
    const moved = Math.abs(f - this.previous);
    const flowing = (socketBytesBetween({ socketBytes: this.previousSocketBytes }, r) ?? 0) >= this.busyTraffic;
    this.previous = f;
    this.previousSocketBytes = r.socketBytes;
    if (f < this.low) this.low = f;
    return f - this.low >= this.minGarbage && moved < this.quiet && !flowing && r.now - this.lastCollection >= this.minInterval;
  }

  /** The reading right after a collection: the new low point. */
  collected(after: HeapReading): void {
    this.low = footprint(after);
    this.previous = this.low;
    this.previousSocketBytes = after.socketBytes;
    this.lastCollection = after.now;
  }
}

/**
 * When a quiet process should hand the C heap's free pages back (glibc's malloc_trim, through
 * io/malloc-trim.ts).
 *
 * Why: the garbage collection above frees the Buffers' memory to glibc, and V8 frees it during a
 * transfer anyway, but glibc returns only the free space at the very top of its heap to the kernel;
 * the holes left below a live block stay resident. Measured on `burrow server` after 5 s of iperf3
 * through it: 58 MB of heap, 6 MB of it in use, RSS 91.6 MB; malloc_trim(0) took it to 77.1 MB
 * (issue 12, docs/BENCHMARKS.md).
 *
 * The rule, on readings taken every few seconds: trim when resident memory is at least
 * `minGrowthBytes` above its level after the last trim (or its lowest since), and either the
 * process is quiet (neither RSS nor the JavaScript footprint moved more than `quietBytes` since the
 * previous reading) and `minIntervalMs` passed since the last trim, or it is busy and
 * `busyIntervalMs` passed. A busy process takes some of the pages straight back, but a server
 * with steady light traffic (1000 connections each sending now and then) is never quiet by that
 * measure and would otherwise keep a transfer's holes for ever. Measured here: trimming 128 MB of
 * holes takes 5-6 ms (the event loop waits that long), and faulting 124 MB back in costs about 40 ms
 * more than reusing it untrimmed, so a busy process trimmed once a minute pays well under 0.1 % CPU.
 *
 * Light traffic counts as quiet: when the reading says how many bytes the process read from its
 * sockets, fewer than `lightTrafficBytes` since the previous reading means no bulk transfer is
 * running, whatever small messages still churn the JavaScript heap. Measured (the relay bench's
 * sequence: iperf3, then latency at 1000 and 4000 requests/s): the transfer left 25–30 MB of holes
 * in each process's C heap, and the requests, never quiet by the footprint, kept them for the busy
 * minute; with this rule the C heap is back to 7 MB before the next phase.
 */
export interface ProcessReading extends HeapReading {
  /** Resident set size, bytes. */
  rss: number;
}

export interface HeapTrimOptions {
  /** Trim only when RSS is this much above its level after the last trim; default 8 MiB. */
  minGrowthBytes?: number;
  /** Quiet while RSS and the JavaScript footprint each move less than this between readings; default 1 MiB. */
  quietBytes?: number;
  /** At least this long between trims of a quiet process, ms; default 10 000. */
  minIntervalMs?: number;
  /** At least this long between trims of a busy one, ms; default 60 000. */
  busyIntervalMs?: number;
  /** Fewer socket bytes than this between readings is light traffic, trimmed as if quiet; default 8 MiB. */
  lightTrafficBytes?: number;
}

export const TRIM_DEFAULT_MIN_GROWTH = 8 * 1024 * 1024;
export const TRIM_DEFAULT_QUIET = 1024 * 1024;
export const TRIM_DEFAULT_MIN_INTERVAL_MS = 10_000;
export const TRIM_DEFAULT_BUSY_INTERVAL_MS = 60_000;
export const TRIM_DEFAULT_LIGHT_TRAFFIC = 8 * 1024 * 1024;

export class HeapTrimPolicy {
  private readonly minGrowth: number;
  private readonly quiet: number;
  private readonly minInterval: number;
  private readonly busyInterval: number;
  private readonly lightTraffic: number;
  private base: number;
  private previous: ProcessReading;
  private lastTrim: number;

  constructor(first: ProcessReading, options: HeapTrimOptions = {}) {
    const o = optionValues(options, {
      minGrowthBytes: TRIM_DEFAULT_MIN_GROWTH,
      quietBytes: TRIM_DEFAULT_QUIET,
      minIntervalMs: TRIM_DEFAULT_MIN_INTERVAL_MS,
      busyIntervalMs: TRIM_DEFAULT_BUSY_INTERVAL_MS,
      lightTrafficBytes: TRIM_DEFAULT_LIGHT_TRAFFIC,
    });
    this.minGrowth = o.minGrowthBytes;
    this.quiet = o.quietBytes;
    this.minInterval = o.minIntervalMs;
    this.busyInterval = o.busyIntervalMs;
    this.lightTraffic = o.lightTrafficBytes;
    this.base = first.rss;
    this.previous = first;
    this.lastTrim = first.now - this.minInterval;
  }

  /** A new reading; true when the heap should be trimmed now (then report the reading after it with `trimmed`). */
  sample(r: ProcessReading): boolean {
    const prev = this.previous;
    this.previous = r;
    if (r.rss < this.base) this.base = r.rss;
    const light = (socketBytesBetween(prev, r) ?? Infinity) < this.lightTraffic;
    const quiet = light || (Math.abs(r.rss - prev.rss) < this.quiet && Math.abs(footprint(r) - footprint(prev)) < this.quiet);
    return r.rss - this.base >= this.minGrowth && r.now - this.lastTrim >= (quiet ? this.minInterval : this.busyInterval);
  }

  /** The reading right after a trim: resident memory's new base. */
  trimmed(after: ProcessReading): void {
    this.base = after.rss;
    this.previous = after;
    this.lastTrim = after.now;
  }
}
