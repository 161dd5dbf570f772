import { describe, expect, it } from 'vitest';
import { ManualClock } from '../shared/clock.js';
import { RECLAIM_SAMPLE_MS, startMemoryReclaimer } from './memory-reclaimer.js';

const MB = 1024 * 1024;

/** A heap that grows as told and drops to `live` when collected; a timer fired by hand. */
function harness() {
  const clock = new ManualClock(0);
  const heap = { heapUsed: 15 * MB, external: 1 * MB, live: 16 * MB };
  const collections: number[] = [];
  const told: Array<[number, number]> = [];
  let tick: (() => void) | undefined;
  let interval = 0;
  let stopped = false;
  const reclaimer = startMemoryReclaimer({
    clock,
    collect: () => {
      collections.push(clock.now());
      heap.heapUsed = heap.live - MB;
      heap.external = MB;
    },
    readHeap: () => ({ heapUsed: heap.heapUsed, external: heap.external }),
    every: (run, ms) => {
      tick = run;
      interval = ms;
      return { stop: () => (stopped = true) };
    },
    onCollected: (before, after) => told.push([before, after]),
  });
  const advance = (ms: number) => {
    for (let t = 0; t < ms; t += interval) {
      clock.advance(interval);
      if (!stopped) tick!();
    }
  };
  return { heap, collections, told, advance, reclaimer, interval: () => interval };
}

describe('startMemoryReclaimer', () => {
  it('collects once after a burst when the process goes quiet, and reports what it freed', () => {
    const h = harness();
    expect(h.interval()).toBe(RECLAIM_SAMPLE_MS);
    h.heap.heapUsed = 63 * MB;
    h.heap.external = 154 * MB; // the burst's Buffers, all garbage
    h.advance(60_000);
    expect(h.collections).toEqual([2 * RECLAIM_SAMPLE_MS]); // the second reading finds it unchanged: quiet
    expect(h.told).toEqual([[217 * MB, 16 * MB]]);
  });

  it('never collects a process that stays at its size', () => {
    const h = harness();
    h.advance(300_000);
    expect(h.collections).toEqual([]);
  });

  it('stops', () => {
    const h = harness();
    h.reclaimer.stop();
    h.heap.external = 200 * MB;
    h.advance(60_000);
    expect(h.collections).toEqual([]);
  });
});
