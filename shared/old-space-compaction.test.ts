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
    expect(p.sample(at(1_000, 30, 31, 1))).toBeUndefined(); // the storm promotes: growing by MB a second
    expect(p.sample(at(2_000, 44, 45, 2))).toBeUndefined();
    // V8's own full collection freed the garbage but left the survivors spread over 38 MB of
    // pages; the old space just shrank, so the storm may go on: wait.
    expect(p.sample(at(3_000, 15, 38, 3))).toBeUndefined();
    expect(p.sample(at(4_000, 15.2, 38, 4))).toBe('compact'); // it did not
  });

  it('does not compact in mid-storm when V8 has just collected', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 13, 0));
    const used = [30, 44, 15, 30, 44, 15, 30, 44];
    used.forEach((u, i) => expect(p.sample(at((i + 1) * 1000, u, 45, i + 1))).toBeUndefined());
  });

  it('does not compact while the old space keeps growing, whatever the holes', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 10, 40, 0));
    for (let t = 2_000, used = 12; t <= 20_000; t += 2_000, used += 2) expect(p.sample(at(t, used, 40, t / 1000))).toBeUndefined();
  });

  it('leaves a bulk transfer alone (many socket bytes between readings), and compacts once it is over', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 30, 0));
    expect(p.sample(at(2_000, 12, 30, 900))).toBeUndefined();
    expect(p.sample(at(4_000, 12, 30, 1800))).toBeUndefined();
    expect(p.sample(at(6_000, 12, 30, 1801))).toBe('compact'); // light traffic again
  });

  it('without a socket count, a settled old space is enough', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 30));
    expect(p.sample(at(2_000, 12, 30))).toBe('compact');
  });

  it('does not compact for a few holes', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 13, 0));
    for (let t = 2_000; t <= 60_000; t += 2_000) expect(p.sample(at(t, 12, 19, t / 1000))).toBeUndefined();
  });

  it("collects first when the storm's garbage is still in the old space, then compacts the holes it leaves", () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 13, 0), { maxLiveBytes: 32 * MB });
    expect(p.sample(at(1_000, 46, 47, 1))).toBeUndefined(); // the storm
    // Over: 46 MB in use, most of it the storm's garbage, but that is known only after marking.
    expect(p.sample(at(2_000, 46.5, 47, 2))).toBe('collect');
    p.collected(at(2_000, 15, 38, 2));
    expect(p.sample(at(3_000, 15, 38, 3))).toBe('compact');
    p.compacted(at(3_000, 15, 16, 3));
    // An old space that is really that full (5000 connections) is collected once, never compacted.
    const big = new OldSpaceCompactionPolicy(at(0, 12, 13, 0), { maxLiveBytes: 32 * MB, minIntervalMs: 10_000 });
    const asked: Array<string | undefined> = [];
    for (let t = 1_000; t <= 60_000; t += 1_000) {
      const a = big.sample(at(t, 60, 70, t / 1000));
      asked.push(a);
      if (a === 'collect') big.collected(at(t, 60, 70, t / 1000));
    }
    expect(asked.filter((a) => a !== undefined)).toEqual(['collect']);
  });

  it('does not compact or collect again for memory that is really in use (the low point restarts after each)', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 38, 0));
    expect(p.sample(at(2_000, 12, 38, 1))).toBe('compact');
    p.compacted(at(2_000, 12, 12.5, 1));
    // 1000 connections are opened and stay: the old space grows by their 10 MB and then holds.
    expect(p.sample(at(4_000, 17, 18, 2))).toBeUndefined();
    expect(p.sample(at(6_000, 22, 23, 3))).toBeUndefined();
    // Grown 10 MB above the low with no holes: one plain collection (it might have been garbage),
    // then never again.
    expect(p.sample(at(20_000, 22, 23, 4))).toBe('collect');
    p.collected(at(20_000, 22, 22.5, 4));
    for (let t = 22_000; t <= 300_000; t += 2_000) expect(p.sample(at(t, 22, 22.5, 4 + t / 1e6))).toBeUndefined();
  });

  it('waits the minimum interval between compactions', () => {
    const p = new OldSpaceCompactionPolicy(at(0, 12, 38, 0), { minIntervalMs: 10_000 });
    expect(p.sample(at(2_000, 12, 38, 1))).toBe('compact');
    p.compacted(at(2_000, 12, 13, 1));
    // Another storm and V8's collection leave holes again at once.
    expect(p.sample(at(4_000, 30, 31, 2))).toBeUndefined();
    expect(p.sample(at(6_000, 12, 36, 3))).toBeUndefined(); // 4 s after the last one
    expect(p.sample(at(12_000, 12, 36, 4))).toBe('compact');
  });

  it('rejects nonsense options', () => {
    expect(() => new OldSpaceCompactionPolicy(at(0, 1, 1), { settledBytes: -1 })).toThrow(/settledBytes must be a finite number >= 0, got -1/);
    expect(() => new OldSpaceCompactionPolicy(at(0, 1, 1), { maxLiveBytes: Number.NaN })).toThrow(/maxLiveBytes/);
  });
});
