/**
 * I/O adapter: every few seconds, read the heap's figures and run a full garbage collection when
 * shared/memory-reclaim.ts says the process is quiet with garbage to free. The collection itself
 * is passed in (the hosts give `globalThis.gc`, which node exposes with `--expose-gc`, as
 * bin/burrow.js's shebang sets); without one there is nothing to start.
 */
import { getHeapStatistics } from 'node:v8';
import type { Clock } from '../shared/clock.js';
import { MemoryReclaimPolicy, type HeapReading, type MemoryReclaimOptions } from '../shared/memory-reclaim.js';

/** How often the heap's figures are read (a read costs microseconds and allocates almost nothing). */
export const RECLAIM_SAMPLE_MS = 2000;

export interface MemoryReclaimerDeps {
  /** Runs a full, synchronous garbage collection. */
  collect: () => void;
  clock: Clock;
  /** JavaScript heap in use and external (ArrayBuffer) memory, bytes; default from node:v8. */
  readHeap?: () => { heapUsed: number; external: number };
  /** Repeating timer; default setInterval, unref'd (it never keeps the process alive). */
  every?: (run: () => void, ms: number) => { stop(): void };
  /** Told after each collection: bytes of footprint before and after. */
  onCollected?: (before: number, after: number) => void;
  options?: MemoryReclaimOptions;
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
  const read = (): HeapReading => ({ now: deps.clock.now(), ...readHeap() });
  const policy = new MemoryReclaimPolicy(read(), deps.options);
  const timer = (deps.every ?? nodeEvery)(() => {
    const before = read();
    if (!policy.sample(before)) return;
    deps.collect();
    const after = read();
    policy.collected(after);
    deps.onCollected?.(before.heapUsed + before.external, after.heapUsed + after.external);
  }, RECLAIM_SAMPLE_MS);
  return { stop: () => timer.stop() };
}

/** `globalThis.gc` when node runs with `--expose-gc`, else undefined. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? () => (gc as () => void)() : undefined;
}
