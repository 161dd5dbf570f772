import { describe, expect, it } from 'vitest';
import { OldSpaceCompactionPolicy, type OldSpaceReading } from './old-space-compaction.js';

const MB = 1024 * 1024;
/** A reading: old space used and resident, MB; socket bytes read so far, MB. */
const at = (now: number, usedMB: number, physicalMB: number, socketMB?: number): OldSpaceReading => ({
  now,
  oldUsed: usedMB * MB,
  oldPhysical: physicalMB * MB,
  ...(socketMB === undefined ? {} : { socketBytes: socketMB * MB }),
});

describe('OldSpaceCompactionPolicy', () => {
  it('compacts once a storm of short connections is over and left the old space full of holes', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 13, 0));
    expect(p.sample(at(2_000, 30, 31, 1))).toBe(false); // the storm promotes: growing by MB a second
    expect(p.sample(at(4_000, 44, 45, 2))).toBe(false);
    // V8's own full collection freed the garbage but left the survivors spread over 38 MB of pages.
    expect(p.sample(at(6_000, 15, 38, 3))).toBe(true);
  });

  it('does not compact while the old space keeps growing, whatever the holes', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 10, 40, 0));
    for (let t = 2_000, used = 12; t <= 20_000; t += 2_000, used += 2) expect(p.sample(at(t, used, 40, t / 1000))).toBe(false);
  });

  it('leaves a bulk transfer alone (many socket bytes between readings), and compacts once it is over', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 30, 0));
    expect(p.sample(at(2_000, 12, 30, 900))).toBe(false);
    expect(p.sample(at(4_000, 12, 30, 1800))).toBe(false);
    expect(p.sample(at(6_000, 12, 30, 1801))).toBe(true); // light traffic again
  });

  it('without a socket count, a settled old space is enough', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 30));
    expect(p.sample(at(2_000, 12, 30))).toBe(true);
  });

  it('does not compact for a few holes', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 13, 0));
    for (let t = 2_000; t <= 60_000; t += 2_000) expect(p.sample(at(t, 12, 19, t / 1000))).toBe(false);
  });

  it('does not compact an old space holding more than maxLiveBytes (the pause would be long)', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 20, 60, 0), { maxLiveBytes: 32 * MB });
    expect(p.sample(at(2_000, 40, 60, 1))).toBe(false);
    expect(p.sample(at(4_000, 40, 60, 2))).toBe(false);
  });

  it('does not compact again for memory that is really in use (the low point restarts after a compaction)', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 38, 0));
    expect(p.sample(at(2_000, 12, 38, 1))).toBe(true);
    p.compacted(at(2_000, 12, 12.5, 1));
    // 1000 connections are opened and stay: the old space grows by their 10 MB and then holds.
    expect(p.sample(at(4_000, 17, 18, 2))).toBe(false);
    expect(p.sample(at(6_000, 22, 23, 3))).toBe(false);
    // Grown 10.5 MB above the low, settled, past the interval: once more, then never again.
    expect(p.sample(at(20_000, 22, 23, 4))).toBe(true);
    p.compacted(at(20_000, 22, 22.5, 4));
    for (let t = 22_000; t <= 300_000; t += 2_000) expect(p.sample(at(t, 22, 22.5, 4 + t / 1e6))).toBe(false);
  });

  it('waits the minimum interval between compactions', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 38, 0), { minIntervalMs: 10_000 });
    expect(p.sample(at(2_000, 12, 38, 1))).toBe(true);
    p.compacted(at(2_000, 12, 13, 1));
    // Another storm and V8's collection leave holes again at once.
    expect(p.sample(at(4_000, 30, 31, 2))).toBe(false);
    expect(p.sample(at(6_000, 12, 36, 3))).toBe(false); // 4 s after the last one
    expect(p.sample(at(12_000, 12, 36, 4))).toBe(true);
  });

  it('rejects nonsense options', () => {
    expect(() => new OldSpaceCompactionPolicy(at(0, 1, 1), { settledBytes: -1 })).toThrow(/settledBytes must be a finite number >= 0, got -1/);
    expect(() => new OldSpaceCompactionPolicy(at(0, 1, 1), { maxLiveBytes: Number.NaN })).toThrow(/maxLiveBytes/);
  });
});
