/**
 * I/O adapter: once a second, read the heap's figures and run a full garbage collection when
 * shared/memory-reclaim.ts says the process is quiet with garbage to free, or a compacting one
 * when shared/old-space-compaction.ts says the old generation was left full of holes, and hand the
 * C heap's free pages back at the reading after each collection and whenever its HeapTrimPolicy
 * says so. All are passed in: the hosts give io/exposed-gc.ts's collections (node exposes `gc`
 * with `--expose-gc`, which bin/burrow.js's shebang sets) and io/malloc-trim.ts's trim when its
 * addon was built.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { Clock } from '../shared/clock.js';
import {
  HeapTrimPolicy,
  MemoryReclaimPolicy,
  type HeapReading,
  type HeapTrimOptions,
  type MemoryReclaimOptions,
  type ProcessReading,
} from '../shared/memory-reclaim.js';
import { OldSpaceCompactionPolicy, type OldSpaceCompactionOptions, type OldSpaceReading } from '../shared/old-space-compaction.js';

/**
 * How often the heap's figures are read (a read costs microseconds and allocates almost nothing).
 * Once a second: the compaction after a storm of connections should not wait long (it was 2 s
 * when only the quiet-time collection and the trim read them).
 */
export const RECLAIM_SAMPLE_MS = 1000;

export interface MemoryReclaimerDeps {
  /** Runs a full, synchronous garbage collection; none without it. */
  collect?: () => void;
  /** Runs a full collection that moves every live object of the old generation together; none without it. */
  compact?: () => void;
  /** V8's old space: bytes in use and bytes resident; default from node:v8. */
  readOldSpace?: () => { oldUsed: number; oldPhysical: number };
  /** Hands the C heap's free pages back (malloc_trim); none without it. */
  trimHeap?: () => boolean;
  /** Resident set size, bytes; default process.memoryUsage.rss(). */
  readRss?: () => number;
  /** Bytes read from sockets so far, for the trim policy's light-traffic rule; none without it. */
  readSocketBytes?: () => number;
  clock: Clock;
  /** JavaScript heap in use and external (ArrayBuffer) memory, bytes; default from node:v8. */
  readHeap?: () => { heapUsed: number; external: number };
  /** Repeating timer; default setInterval, unref'd (it never keeps the process alive). */
  every?: (run: () => void, ms: number) => { stop(): void };
  /** Told after each collection: bytes of footprint before and after. */
  onCollected?: (before: number, after: number) => void;
  /** Told after each compaction: resident old-space bytes before and after. */
  onCompacted?: (before: number, after: number) => void;
  /** Told after each trim: RSS in bytes before and after. */
  onTrimmed?: (before: number, after: number) => void;
  /** Told when reading the process's figures, collecting or trimming threw; the reclaimer then stops. */
  onError?: (error: unknown) => void;
  options?: MemoryReclaimOptions;
  trimOptions?: HeapTrimOptions;
  compactOptions?: OldSpaceCompactionOptions;
}

function v8Heap(): { heapUsed: number; external: number } {
  const s = getHeapStatistics();
  return { heapUsed: s.used_heap_size, external: s.external_memory };
}

function v8OldSpace(): { oldUsed: number; oldPhysical: number } {
  const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  return { oldUsed: old?.space_used_size ?? 0, oldPhysical: old?.physical_space_size ?? 0 };
}

function nodeEvery(run: () => void, ms: number): { stop(): void } {
  const t = setInterval(run, ms);
  t.unref();
  return { stop: () => clearInterval(t) };
}

export interface MemoryReclaimer {
  stop(): void;
}

export function startMemoryReclaimer(deps: MemoryReclaimerDeps): MemoryReclaimer {
  const readHeap = deps.readHeap ?? v8Heap;
  const readRss = deps.readRss ?? (() => process.memoryUsage.rss());
  const { readSocketBytes } = deps;
  const socket = (): { socketBytes?: number } => (readSocketBytes ? { socketBytes: readSocketBytes() } : {});
  const read = (): HeapReading => ({ now: deps.clock.now(), ...readHeap(), ...socket() });
  const readProcess = (): ProcessReading => ({ ...read(), rss: readRss() });
  const readOld = deps.readOldSpace ?? v8OldSpace;
  const readOldSpace = (): OldSpaceReading => ({ now: deps.clock.now(), ...readOld(), ...socket() });
  const { collect, compact, trimHeap } = deps;
  const policy = new MemoryReclaimPolicy(read(), deps.options);
  const compaction = compact ? { run: compact, policy: new OldSpaceCompactionPolicy(readOldSpace(), deps.compactOptions) } : undefined;
  const trimPolicy = trimHeap ? new HeapTrimPolicy(readProcess(), deps.trimOptions) : undefined;
  // A collection frees the Buffers' memory to glibc only as V8 sweeps them, partly on a background
  // thread after gc() returns: the trim that follows a collection waits for the next reading.
  let trimAfterCollection = false;
  const tick = (): void => {
    const before = read();
    const collectDue = collect !== undefined && policy.sample(before);
    const oldBefore = compaction ? readOldSpace() : undefined;
    const oldSpaceDue = compaction && oldBefore ? compaction.policy.sample(oldBefore) : undefined;
    if (compaction && oldBefore && oldSpaceDue === 'compact') {
      // A compacting collection is a full one too: both policies start again from what is left.
      compaction.run();
      const oldAfter = readOldSpace();
      compaction.policy.compacted(oldAfter);
      policy.collected(read());
      deps.onCompacted?.(oldBefore.oldPhysical, oldAfter.oldPhysical);
      trimAfterCollection = true;
      return;
    }
    if (collect && (collectDue || oldSpaceDue === 'collect')) {
      collect();
      const after = read();
      policy.collected(after);
      compaction?.policy.collected(readOldSpace());
      deps.onCollected?.(before.heapUsed + before.external, after.heapUsed + after.external);
      trimAfterCollection = true;
      return;
    }
    if (!trimHeap || !trimPolicy) return;
    const r = readProcess();
    if (!trimPolicy.sample(r) && !trimAfterCollection) return;
    trimAfterCollection = false;
    trimHeap();
    const after = readProcess();
    trimPolicy.trimmed(after);
    deps.onTrimmed?.(r.rss, after.rss);
  };
  const timer = (deps.every ?? nodeEvery)(() => {
    try {
      tick();
    } catch (err) {
      // A figure that cannot be read (/proc gone) or a failing collection must not take the relay down.
      timer.stop();
      deps.onError?.(err);
    }
  }, RECLAIM_SAMPLE_MS);
  return { stop: () => timer.stop() };
}
