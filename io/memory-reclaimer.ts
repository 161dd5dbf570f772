/**
 * I/O adapter: every few seconds, read the heap's figures and run a full garbage collection when
 * shared/memory-reclaim.ts says the process is quiet with garbage to free, and hand the C heap's
 * free pages back at the reading after each collection and whenever its HeapTrimPolicy says so. Both are passed in: the hosts give
 * `globalThis.gc`, which node exposes with `--expose-gc` (bin/burrow.js's shebang sets it), and
 * io/malloc-trim.ts's trim when its addon was built.
 */
import { getHeapStatistics } from 'node:v8';
import type { Clock } from '../shared/clock.js';
import {
  HeapTrimPolicy,
  MemoryReclaimPolicy,
  type HeapReading,
  type HeapTrimOptions,
  type MemoryReclaimOptions,
  type ProcessReading,
} from '../shared/memory-reclaim.js';

/** How often the heap's figures are read (a read costs microseconds and allocates almost nothing). */
export const RECLAIM_SAMPLE_MS = 2000;

export interface MemoryReclaimerDeps {
  /** Runs a full, synchronous garbage collection; none without it. */
  collect?: () => void;
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
  /** Told after each trim: RSS in bytes before and after. */
  onTrimmed?: (before: number, after: number) => void;
  /** Told when reading the process's figures, collecting or trimming threw; the reclaimer then stops. */
  onError?: (error: unknown) => void;
  options?: MemoryReclaimOptions;
  trimOptions?: HeapTrimOptions;
}

function v8Heap(): { heapUsed: number; external: number } {
  const s = getHeapStatistics();
  return { heapUsed: s.used_heap_size, external: s.external_memory };
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
  const read = (): HeapReading => ({ now: deps.clock.now(), ...readHeap() });
  const { readSocketBytes } = deps;
  const readProcess = (): ProcessReading => ({ ...read(), rss: readRss(), ...(readSocketBytes ? { socketBytes: readSocketBytes() } : {}) });
  const { collect, trimHeap } = deps;
  const policy = new MemoryReclaimPolicy(read(), deps.options);
  const trimPolicy = trimHeap ? new HeapTrimPolicy(readProcess(), deps.trimOptions) : undefined;
  // A collection frees the Buffers' memory to glibc only as V8 sweeps them, partly on a background
  // thread after gc() returns: the trim that follows a collection waits for the next reading.
  let trimAfterCollection = false;
  const tick = (): void => {
    const before = read();
    if (collect && policy.sample(before)) {
      collect();
      const after = read();
      policy.collected(after);
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
