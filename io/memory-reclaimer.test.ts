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

  it('trims the C heap once a transfer is over and the process is quiet, and one reading after a collection', () => {
    const clock = new ManualClock(0);
    const proc = { heapUsed: 10 * MB, external: MB, rss: 72 * MB };
    const trims: number[] = [];
    const told: Array<[number, number]> = [];
    let tick: (() => void) | undefined;
    startMemoryReclaimer({
      clock,
      collect: () => {
        proc.external = MB;
        proc.rss -= 10 * MB; // the collection freed Buffers to glibc, some of it at the heap's top
      },
      trimHeap: () => {
        trims.push(clock.now());
        proc.rss = 80 * MB; // the holes go back
        return true;
      },
      readHeap: () => ({ heapUsed: proc.heapUsed, external: proc.external }),
      readRss: () => proc.rss,
      every: (run) => ((tick = run), { stop: () => {} }),
      onTrimmed: (before, after) => told.push([before, after]),
    });
    const step = (change: () => void = () => {}) => {
      change();
      clock.advance(RECLAIM_SAMPLE_MS);
      tick!();
    };
    // iperf3 through it: Buffers come and go, RSS climbs to 108 MB.
    for (let i = 0; i < 5; i++) step(() => ((proc.external = (i % 2 ? 30 : 4) * MB), (proc.rss = (90 + 4 * i) * MB)));
    expect(trims).toEqual([]);
    step(() => ((proc.external = 2 * MB), (proc.rss = 108 * MB)));
    step(); // unchanged: quiet
    expect(trims).toEqual([7 * RECLAIM_SAMPLE_MS]);
    expect(told).toEqual([[108 * MB, 80 * MB]]);
    for (let i = 0; i < 20; i++) step(); // staying at 80 MB: nothing more to do
    expect(trims).toHaveLength(1);
    // A burst's garbage (the collection's case): collected, then trimmed at the next reading (V8
    // frees the Buffers' memory partly after gc() returns).
    step(() => ((proc.external = 154 * MB), (proc.rss = 240 * MB)));
    step();
    expect(trims).toHaveLength(1);
    const collectedAt = clock.now();
    step();
    expect(trims).toEqual([7 * RECLAIM_SAMPLE_MS, collectedAt + RECLAIM_SAMPLE_MS]);
    expect(told[1]).toEqual([230 * MB, 80 * MB]);
  });

  it('reads the socket bytes: a transfer followed by small messages is trimmed once the transfer ends', () => {
    const clock = new ManualClock(0);
    const proc = { heapUsed: 10 * MB, external: MB, rss: 72 * MB, socketBytes: 0 };
    const trims: number[] = [];
    let tick: (() => void) | undefined;
    startMemoryReclaimer({
      clock,
      trimHeap: () => (trims.push(clock.now()), (proc.rss = 80 * MB), true),
      readHeap: () => ({ heapUsed: proc.heapUsed, external: proc.external }),
      readRss: () => proc.rss,
      readSocketBytes: () => proc.socketBytes,
      every: (run) => ((tick = run), { stop: () => {} }),
    });
    const step = (socketMB: number, i: number) => {
      proc.socketBytes += socketMB * MB;
      proc.external = (i % 2 ? 30 : 4) * MB; // the heap churns all along: never quiet by footprint
      proc.rss = 108 * MB;
      clock.advance(RECLAIM_SAMPLE_MS);
      tick!();
    };
    for (let i = 0; i < 5; i++) step(800, i); // the transfer
    expect(trims).toEqual([]);
    for (let i = 0; i < 3; i++) step(0.5, i); // 1000 connections' small messages
    expect(trims).toEqual([6 * RECLAIM_SAMPLE_MS]);
  });

  it('compacts the old space once a storm of connections is over, in place of a plain collection, and trims at the next reading', () => {
    const clock = new ManualClock(0);
    const proc = { heapUsed: 14 * MB, external: MB, rss: 70 * MB, oldUsed: 12 * MB, oldPhysical: 13 * MB, socketBytes: 0 };
    const done: string[] = [];
    const told: Array<[number, number]> = [];
    let tick: (() => void) | undefined;
    startMemoryReclaimer({
      clock,
      collect: () => done.push(`collect ${clock.now()}`),
      compact: () => {
        done.push(`compact ${clock.now()}`);
        proc.oldPhysical = proc.oldUsed + MB;
        proc.heapUsed = proc.oldUsed + 2 * MB;
        proc.rss = 80 * MB;
      },
      trimHeap: () => (done.push(`trim ${clock.now()}`), (proc.rss = 78 * MB), true),
      readHeap: () => ({ heapUsed: proc.heapUsed, external: proc.external }),
      readOldSpace: () => ({ oldUsed: proc.oldUsed, oldPhysical: proc.oldPhysical }),
      readRss: () => proc.rss,
      readSocketBytes: () => proc.socketBytes,
      every: (run) => ((tick = run), { stop: () => {} }),
      onCompacted: (before, after) => told.push([before, after]),
    });
    const step = (change: Partial<typeof proc>) => {
      Object.assign(proc, change);
      proc.socketBytes += MB; // small messages only
      clock.advance(RECLAIM_SAMPLE_MS);
      tick!();
    };
    const collections = () => done.filter((d) => !d.startsWith('trim'));
    step({ oldUsed: 30 * MB, oldPhysical: 31 * MB, heapUsed: 33 * MB }); // the storm
    step({ oldUsed: 44 * MB, oldPhysical: 45 * MB, heapUsed: 47 * MB });
    expect(collections()).toEqual([]);
    // V8's own collection freed the garbage; the survivors hold 38 MB of pages. The footprint fell
    // by 30 MB, so the plain collection's policy will fire too once quiet: the compaction is it.
    step({ oldUsed: 15 * MB, oldPhysical: 38 * MB, heapUsed: 17 * MB, rss: 104 * MB });
    expect(collections()).toEqual([]); // the old space just shrank: the storm may go on
    const trimsBefore = done.length;
    step({});
    expect(done.slice(trimsBefore)).toEqual([`compact ${4 * RECLAIM_SAMPLE_MS}`]);
    expect(told).toEqual([[38 * MB, 16 * MB]]);
    step({});
    expect(done.slice(trimsBefore)).toEqual([`compact ${4 * RECLAIM_SAMPLE_MS}`, `trim ${5 * RECLAIM_SAMPLE_MS}`]);
    for (let i = 0; i < 50; i++) step({});
    expect(done.slice(trimsBefore)).toHaveLength(2);
  });

  it('never forces a collection in the middle of a transfer (V8 then runs full collections for the rest of it)', () => {
    const clock = new ManualClock(0);
    const proc = { heapUsed: 15 * MB, external: MB, socketBytes: 0 };
    const collections: number[] = [];
    let tick: (() => void) | undefined;
    startMemoryReclaimer({
      clock,
      collect: () => (collections.push(clock.now()), (proc.external = MB)),
      readHeap: () => ({ heapUsed: proc.heapUsed, external: proc.external }),
      readSocketBytes: () => proc.socketBytes,
      every: (run) => ((tick = run), { stop: () => {} }),
    });
    proc.external = 60 * MB; // the transfer's Buffers: the footprint grew and then holds still
    for (let i = 0; i < 10; i++) {
      proc.socketBytes += 700 * MB;
      clock.advance(RECLAIM_SAMPLE_MS);
      tick!();
    }
    expect(collections).toEqual([]);
    clock.advance(RECLAIM_SAMPLE_MS);
    tick!(); // nothing read since the last reading: over
    expect(collections).toEqual([11 * RECLAIM_SAMPLE_MS]);
  });

  it('stops, and says why, when a reading throws; the process lives on', () => {
    let tick: (() => void) | undefined;
    let stopped = false;
    const errors: unknown[] = [];
    let fail = false;
    startMemoryReclaimer({
      clock: new ManualClock(0),
      trimHeap: () => true,
      readHeap: () => ({ heapUsed: MB, external: MB }),
      readRss: () => {
        if (fail) throw new Error('ENOENT: /proc/self/stat');
        return 72 * MB;
      },
      every: (run) => ((tick = run), { stop: () => (stopped = true) }),
      onError: (e) => errors.push(e),
    });
    tick!();
    fail = true;
    expect(() => tick!()).not.toThrow();
    expect(stopped).toBe(true);
    expect(String(errors[0])).toContain('/proc/self/stat');
  });
});
