import { describe, expect, it } from 'vitest';
import { HeapTrimPolicy, MemoryReclaimPolicy, type HeapReading, type ProcessReading } from './memory-reclaim.js';

const MB = 1024 * 1024;
const at = (now: number, heapMB: number, externalMB = 0): HeapReading => ({ now, heapUsed: heapMB * MB, external: externalMB * MB });

describe('MemoryReclaimPolicy', () => {
  it('collects once a process that grew by a burst has gone quiet', () => {
    const p = new MemoryReclaimPolicy(at(0, 15, 1));
    expect(p.sample(at(5_000, 40, 60))).toBe(false); // the burst: growing fast
    expect(p.sample(at(10_000, 63, 150))).toBe(false); // still growing
    expect(p.sample(at(15_000, 63, 150))).toBe(true); // unchanged since: quiet, 197 MB above the low
  });

  it('does not collect while the footprint keeps moving (a busy process: V8 collects as it allocates)', () => {
    const p = new MemoryReclaimPolicy(at(0, 15));
    let heap = 15;
    for (let t = 5_000; t <= 120_000; t += 5_000) {
      heap = heap === 15 ? 60 : 15; // allocation and V8's own collections
      expect(p.sample(at(t, heap, 40))).toBe(false);
    }
  });

  it('does not collect while bytes flow through the sockets, even when the footprint holds still for a reading', () => {
    const r = (now: number, heapMB: number, externalMB: number, socketMB: number): HeapReading => ({ ...at(now, heapMB, externalMB), socketBytes: socketMB * MB });
    const p = new MemoryReclaimPolicy(r(0, 15, 1, 0));
    expect(p.sample(r(1_000, 40, 60, 700))).toBe(false); // a transfer: grown, moving
    expect(p.sample(r(2_000, 40, 60, 1400))).toBe(false); // still for a second, 700 MB read meanwhile
    expect(p.sample(r(3_000, 40, 60, 1401))).toBe(true); // the transfer is over
  });

  it('does not collect when the growth is small', () => {
    const p = new MemoryReclaimPolicy(at(0, 15, 1));
    expect(p.sample(at(40_000, 25, 5))).toBe(false);
    expect(p.sample(at(45_000, 25, 5))).toBe(false);
  });

  it('does not collect again for memory that is really in use (the low point restarts after a collection)', () => {
    const p = new MemoryReclaimPolicy(at(0, 15));
    expect(p.sample(at(30_000, 50))).toBe(false); // grown, not yet known to be quiet
    expect(p.sample(at(35_000, 50))).toBe(true);
    p.collected(at(35_000, 48)); // 1000 idle connections stay open: little was garbage
    for (let t = 40_000; t <= 300_000; t += 5_000) expect(p.sample(at(t, 48))).toBe(false);
  });

  it('waits the minimum interval between collections', () => {
    const p = new MemoryReclaimPolicy(at(0, 15), { minIntervalMs: 30_000 });
    expect(p.sample(at(5_000, 60))).toBe(false);
    expect(p.sample(at(10_000, 60))).toBe(true); // the first: as soon as it is quiet
    p.collected(at(10_000, 15));
    expect(p.sample(at(15_000, 60))).toBe(false);
    expect(p.sample(at(20_000, 60))).toBe(false); // quiet and grown, but only 10 s after the last
    expect(p.sample(at(40_000, 60))).toBe(true);
  });

  it("V8's own collections lower the low point", () => {
    const p = new MemoryReclaimPolicy(at(0, 40), { minGarbageBytes: 16 * MB });
    expect(p.sample(at(5_000, 20))).toBe(false); // V8 collected on its own
    expect(p.sample(at(10_000, 45))).toBe(false); // moving
    expect(p.sample(at(15_000, 45))).toBe(true); // 25 MB above the low of 20, quiet
  });

  it('rejects nonsense options', () => {
    expect(() => new MemoryReclaimPolicy(at(0, 1), { quietBytes: -1 })).toThrow(RangeError);
    expect(() => new MemoryReclaimPolicy(at(0, 1), { minIntervalMs: Number.NaN })).toThrow(RangeError);
  });
});

const proc = (now: number, rssMB: number, heapMB = 10, externalMB = 1): ProcessReading => ({ now, rss: rssMB * MB, heapUsed: heapMB * MB, external: externalMB * MB });

describe('HeapTrimPolicy', () => {
  it('trims once a process whose RSS grew by a transfer has gone quiet', () => {
    const p = new HeapTrimPolicy(proc(0, 72));
    expect(p.sample(proc(2_000, 95, 12, 30))).toBe(false); // the transfer: Buffers come and go
    expect(p.sample(proc(4_000, 100, 11, 8))).toBe(false); // still moving
    expect(p.sample(proc(6_000, 100, 11, 8))).toBe(true); // unchanged since: quiet, 28 MB above the base
  });

  it('trims a busy process (its JavaScript footprint moves) only once a minute, even at a steady RSS', () => {
    const p = new HeapTrimPolicy(proc(0, 72));
    const trims: number[] = [];
    for (let t = 2_000; t <= 180_000; t += 2_000) {
      if (p.sample(proc(t, 100, 11, t % 4_000 === 0 ? 30 : 5))) {
        trims.push(t);
        p.trimmed(proc(t, 80, 11, t % 4_000 === 0 ? 30 : 5));
      }
    }
    // First 50 s after the start (it starts as if a quiet interval had just passed: 60 - 10), then every 60 s.
    expect(trims).toEqual([50_000, 110_000, 170_000]);
  });

  it('does not trim for a small growth, nor again for memory that stays in use after a trim', () => {
    const p = new HeapTrimPolicy(proc(0, 72));
    expect(p.sample(proc(2_000, 78))).toBe(false);
    expect(p.sample(proc(4_000, 78))).toBe(false); // 6 MB: under the 8 MiB default
    expect(p.sample(proc(6_000, 90))).toBe(false);
    expect(p.sample(proc(8_000, 90))).toBe(true);
    p.trimmed(proc(8_001, 85)); // 85 MB is really in use (say 1000 open connections)
    for (let t = 20_000; t <= 120_000; t += 2_000) expect(p.sample(proc(t, 85))).toBe(false);
  });

  it('waits the minimum interval between trims, and a lower RSS lowers the base', () => {
    const p = new HeapTrimPolicy(proc(0, 72), { minIntervalMs: 10_000 });
    p.sample(proc(2_000, 100));
    expect(p.sample(proc(4_000, 100))).toBe(true);
    p.trimmed(proc(4_000, 80));
    p.sample(proc(6_000, 100));
    expect(p.sample(proc(8_000, 100))).toBe(false); // 4 s after the last trim
    expect(p.sample(proc(14_000, 100))).toBe(true);
    p.trimmed(proc(14_000, 90));
    p.sample(proc(16_000, 60)); // V8 and glibc gave memory back on their own
    p.sample(proc(26_000, 70));
    expect(p.sample(proc(28_000, 70))).toBe(true); // 10 MB above the new low, not 20 below the old base
  });

  it('trims a process whose heap churns but whose sockets carry only light traffic as if it were quiet', () => {
    // After a bulk transfer, 1000 connections echo small messages: the JavaScript footprint keeps
    // moving, but only ~1 MB a reading comes in from the sockets.
    const light = (now: number, rssMB: number, socketMB: number) => ({ ...proc(now, rssMB, 11, now % 4_000 === 0 ? 30 : 5), socketBytes: socketMB * MB });
    const p = new HeapTrimPolicy(light(0, 72, 0));
    expect(p.sample(light(2_000, 100, 900))).toBe(false); // the transfer: 900 MB in 2 s
    expect(p.sample(light(4_000, 100, 901))).toBe(true); // 1 MB since: light, and 28 MB above the base
    p.trimmed(light(4_000, 80, 901));
    expect(p.sample(light(6_000, 100, 902))).toBe(false); // the quiet interval (10 s) since the trim still applies
    // The same readings with a bulk transfer still running are busy: no trim before the busy minute.
    const q = new HeapTrimPolicy(light(0, 72, 0));
    const trims: number[] = [];
    for (let t = 2_000; t <= 60_000; t += 2_000) {
      if (!q.sample(light(t, 100, t * 0.4))) continue; // 800 MB a reading
      trims.push(t);
      q.trimmed(light(t, 80, t * 0.4));
    }
    expect(trims).toEqual([50_000]);
  });

  it('rejects nonsense options', () => {
    expect(() => new HeapTrimPolicy(proc(0, 1), { lightTrafficBytes: -1 })).toThrow(RangeError);
    expect(() => new HeapTrimPolicy(proc(0, 1), { minGrowthBytes: -1 })).toThrow(RangeError);
    expect(() => new HeapTrimPolicy(proc(0, 1), { quietBytes: Number.NaN })).toThrow(RangeError);
    expect(() => new HeapTrimPolicy(proc(0, 1), { minIntervalMs: Infinity })).toThrow(RangeError);
    expect(() => new HeapTrimPolicy(proc(0, 1), { busyIntervalMs: -5 })).toThrow(RangeError);
  });
});
