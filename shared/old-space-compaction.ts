/**
 * State machine: when a process whose old generation was left full of holes should run one
 * compacting full garbage collection (io/memory-reclaimer.ts carries it out).
 *
 * Why: a storm of short connections (the relay bench's new-connections phase: ~12,000 in 3 s)
 * promotes every connection's objects into V8's old generation (a connection outlives the two
 * scavenges that promote it: ~55 scavenges/s, 0.4 MB promoted each). V8's next full collection
 * frees them, but it moves live objects only off pages that are almost empty, so the 1000
 * connections opened afterwards stay scattered over pages they share with holes: measured, old
 * space 14.8 MB used of 37.7 MB resident on the client, and it stays so for as long as the
 * connections stay. RSS at 1000 held connections: 94–107 MB after the storm, 78–80 MB when one
 * compacting collection ran first (docs/BENCHMARKS.md, issue 12). V8's memory reducer does the same
 * for an idle Chrome tab; a relay with steady light traffic never looks idle to it.
 *
 * The rule, on readings taken every few seconds (time is an argument; no timers here), acting only
 * when the old space moved (grew or shrank) less than `settledBytes` since the previous reading —
 * the storm is over: during one it grows by megabytes a second, and a reading just after one of
 * V8's own mid-storm collections shows it shrinking; compacting then would only be undone — and the
 * traffic is light (fewer than `lightTrafficBytes` read from sockets since then; a bulk transfer is
 * left alone):
 * - 'compact' when the old space has at least `minReclaimableBytes` of holes (resident − in use)
 *   and holds at most `maxLiveBytes` (the pause grows with what it moves: measured 17–19 ms after
 *   the bench's storm, 30–33 ms for 15 MB live), at most every `minIntervalMs`;
 * - else 'collect' (a plain full collection) when the old space grew by `minReclaimableBytes`
 *   since the lowest it was after the last collection or compaction: right after a storm that
 *   growth is mostly garbage, which only marking can tell; the holes it leaves are compacted at a
 *   later reading. Also at most every `minIntervalMs`.
 * After either, the low restarts from what is left, so memory that is really in use (the 1000
 * connections) does not trigger collection after collection.
 */

import { optionValues, socketBytesBetween } from './memory-reclaim.js';

export interface OldSpaceReading {
  /** Monotonic milliseconds. */
  now: number;
  /** Bytes of V8's old space in use (garbage included until collected). */
  oldUsed: number;
  /** Bytes of V8's old space that are resident. */
  oldPhysical: number;
  /** Bytes read from sockets so far (a running total), when the host counts them. */
  socketBytes?: number;
}

export interface OldSpaceCompactionOptions {
  /** Compact for at least this much of holes, collect for this much of growth; default 8 MiB. */
  minReclaimableBytes?: number;
  /** The old space counts as settled while it moves (grows or shrinks) less than this between readings; default 1 MiB. */
  settledBytes?: number;
  /** Fewer socket bytes than this between readings is light traffic; default 8 MiB. */
  lightTrafficBytes?: number;
  /** Never compact an old space holding more than this (the pause would be long); default 32 MiB. */
  maxLiveBytes?: number;
  /** At least this long between compactions, ms; default 10 000. */
  minIntervalMs?: number;
}

export const COMPACT_DEFAULT_MIN_RECLAIMABLE = 8 * 1024 * 1024;
export const COMPACT_DEFAULT_SETTLED = 1024 * 1024;
export const COMPACT_DEFAULT_LIGHT_TRAFFIC = 8 * 1024 * 1024;
export const COMPACT_DEFAULT_MAX_LIVE = 32 * 1024 * 1024;
export const COMPACT_DEFAULT_MIN_INTERVAL_MS = 10_000;

export class OldSpaceCompactionPolicy {
  private readonly o: Required<OldSpaceCompactionOptions>;
  private low: number;
  private previous: OldSpaceReading;
  private lastCompaction: number;
  private lastCollection: number;

  constructor(first: OldSpaceReading, options: OldSpaceCompactionOptions = {}) {
    this.o = optionValues(options, {
      minReclaimableBytes: COMPACT_DEFAULT_MIN_RECLAIMABLE,
      settledBytes: COMPACT_DEFAULT_SETTLED,
      lightTrafficBytes: COMPACT_DEFAULT_LIGHT_TRAFFIC,
      maxLiveBytes: COMPACT_DEFAULT_MAX_LIVE,
      minIntervalMs: COMPACT_DEFAULT_MIN_INTERVAL_MS,
    });
    this.low = first.oldUsed;
    this.previous = first;
    this.lastCompaction = first.now - this.o.minIntervalMs;
    this.lastCollection = this.lastCompaction;
  }

  /**
   * A new reading, and what to run now (see the rule above): 'compact' (then report the reading
   * after it with `compacted`), 'collect' (a plain full collection; report with `collected`), or
   * nothing.
   */
  sample(r: OldSpaceReading): 'compact' | 'collect' | undefined {
    const prev = this.previous;
    this.previous = r;
    if (r.oldUsed < this.low) this.low = r.oldUsed;
    const { minReclaimableBytes, settledBytes, maxLiveBytes, minIntervalMs } = this.o;
    const settled = Math.abs(r.oldUsed - prev.oldUsed) < settledBytes;
    // Without a socket count there is no telling a transfer from light traffic: settled must do.
    const light = (socketBytesBetween(prev, r) ?? 0) < this.o.lightTrafficBytes;
    if (!settled || !light) return undefined;
    const holes = r.oldPhysical - r.oldUsed;
    if (holes >= minReclaimableBytes && r.oldUsed <= maxLiveBytes && r.now - this.lastCompaction >= minIntervalMs) return 'compact';
    const grown = r.oldUsed - this.low;
    if (grown >= minReclaimableBytes && r.now - this.lastCollection >= minIntervalMs) return 'collect';
    return undefined;
  }

  /** The reading right after the plain collection that `sample` asked for: what is left is the new low. */
  collected(after: OldSpaceReading): void {
    this.low = after.oldUsed;
    this.previous = after;
    this.lastCollection = after.now;
  }

  /** The reading right after a compaction: the new low point. */
  compacted(after: OldSpaceReading): void {
    this.low = after.oldUsed;
    this.previous = after;
    this.lastCompaction = after.now;
  }
}
