import { describe, expect, it } from 'vitest';
import { treeTicks, type ProcTicks } from './cpu-load.js';

const p = (pid: number, ppid: number, own: number, reaped = 0): ProcTicks => ({ pid, ppid, own, reaped });

describe('treeTicks', () => {
  it("sums the root's live descendants, and nobody else's", () => {
    const procs = [p(1, 0, 500), p(10, 1, 7), p(11, 10, 20, 3), p(12, 11, 40), p(13, 10, 5), p(20, 1, 900)];
    expect(treeTicks(procs, 10)).toBe(7 + 20 + 3 + 40 + 5);
  });

  it('a descendant that died between two readings is counted once, through its reaper', () => {
    // sshd (11) with a session child (12) that used 40 ticks before and 60 more after the first reading.
    const before = [p(10, 1, 100), p(11, 10, 20), p(12, 11, 40)];
    const after = [p(10, 1, 100), p(11, 10, 25, 100)]; // 12 exited; sshd reaped its 100 ticks
    expect(treeTicks(after, 10) - treeTicks(before, 10)).toBe(5 + 60);
  });

  it('survives a ppid cycle and an unknown root', () => {
    expect(treeTicks([p(5, 6, 1), p(6, 5, 2)], 5)).toBe(3);
    expect(treeTicks([p(5, 1, 1)], 99)).toBe(0);
  });
});
