import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from './replay-window.js';

/** The rule, stated plainly: accept a number never seen, unless it is `size` or more below the highest seen. */
class Model {
  private readonly seen = new Set<number>();
  private top = -1;
  constructor(private readonly size: number) {}
  check(seq: number): boolean {
    if (this.seen.has(seq) || seq <= this.top - this.size) return false;
    this.seen.add(seq);
    this.top = Math.max(this.top, seq);
    return true;
  }
}

describe('replay window', () => {
  it('agrees with the plain rule on any sequence of arrivals (reordered, duplicated, far jumps)', () => {
    const arrivals = fc.array(
      fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 100_000 })),
      { maxLength: 400 },
    );
    fc.assert(
      fc.property(fc.constantFrom(32, 64, 128), arrivals, (size, seqs) => {
        const w = new ReplayWindow(size);
        const m = new Model(size);
        for (const s of seqs) expect(w.check(s)).toBe(m.check(s));
      }),
      { numRuns: 500 },
    );
  });

  it('delivers every datagram of a sender once, however they are reordered within the window, and no replay of any', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.array(fc.nat(), { minLength: 500, maxLength: 500 }), (n, keys) => {
        // a permutation of 0..n-1 that moves nothing more than 64 places (window 2048 is far larger)
        const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => a + (keys[a]! % 64) - (b + (keys[b]! % 64)));
        const w = new ReplayWindow();
        expect(order.map((s) => w.check(s)).every(Boolean)).toBe(true);
        expect(order.some((s) => w.check(s))).toBe(false);
      }),
    );
  });

  it('rejects what fell out of the window, and numbers that are not sequence numbers', () => {
    const w = new ReplayWindow(64);
    expect(w.check(1000)).toBe(true);
    expect(w.check(936)).toBe(false); // 1000 - 64
    expect(w.check(937)).toBe(true);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expect(w.check(bad)).toBe(false);
    expect(() => new ReplayWindow(33)).toThrow(/multiple of 32/);
    expect(() => new ReplayWindow(0)).toThrow(RangeError);
  });
});
