import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('starts full and grants up to the burst at once', () => {
    const b = new TokenBucket(1000, 500, 0);
    expect(b.take(200, 0)).toBe(200);
    expect(b.take(1000, 0)).toBe(300);
    expect(b.take(1, 0)).toBe(0);
  });

  it('never grants more than wanted', () => {
    const b = new TokenBucket(1000, 500, 0);
    expect(b.take(10, 0)).toBe(10);
    expect(b.take(0, 0)).toBe(0);
    expect(b.take(-5, 0)).toBe(0);
    expect(b.available(0)).toBe(490);
  });

  it('refills at the rate and never beyond the burst', () => {
    const b = new TokenBucket(1000, 500, 0); // 1 byte per ms
    expect(b.take(500, 0)).toBe(500);
    expect(b.take(500, 100)).toBe(100);
    expect(b.take(500, 350)).toBe(250);
    expect(b.take(10_000, 100_000)).toBe(500); // long idle: capped at burst
  });

  it('grants whole bytes only and keeps the fraction for later', () => {
    const b = new TokenBucket(500, 100, 0); // 0.5 byte per ms
    b.take(100, 0);
    expect(b.take(10, 1)).toBe(0); // 0.5 token
    expect(b.take(10, 3)).toBe(1); // 1.5 -> 1, 0.5 left
    expect(b.take(10, 4)).toBe(1); // 0.5 + 0.5
  });

  it('waitMs says how long until the tokens are there', () => {
    const b = new TokenBucket(1_000_000, 64 * 1024, 0); // 1000 bytes per ms
    expect(b.waitMs(1000, 0)).toBe(0);
    b.take(64 * 1024, 0);
    expect(b.waitMs(1000, 0)).toBe(1);
    expect(b.waitMs(10_000, 0)).toBe(10);
    expect(b.waitMs(10_000, 4)).toBe(6);
    expect(b.waitMs(10_000, 10)).toBe(0);
  });

  it('waitMs caps the request at the burst (a huge request does not wait forever)', () => {
    const b = new TokenBucket(1000, 500, 0);
    b.take(500, 0);
    expect(b.waitMs(1_000_000, 0)).toBe(500);
    expect(b.waitMs(1_000_000, 500)).toBe(0);
    expect(b.take(1_000_000, 500)).toBe(500);
  });

  it('waitMs rounds up: after waiting, the tokens really are there', () => {
    const b = new TokenBucket(3000, 100, 0); // 3 bytes per ms
    b.take(100, 0);
    const w = b.waitMs(10, 0);
    expect(w).toBe(4); // 10/3 = 3.33 -> 4
    expect(b.take(10, w)).toBe(10);
  });

  it('survives a clock going backwards (no bonus tokens, no stall)', () => {
    const b = new TokenBucket(1000, 500, 10_000);
    b.take(500, 10_000);
    expect(b.take(500, 5_000)).toBe(0);
    expect(b.take(500, 5_100)).toBe(100); // accrues again from the new time
  });

  it('rejects bad parameters', () => {
    expect(() => new TokenBucket(0, 100, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(Infinity, 100, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(100, 0, 0)).toThrow(RangeError);
  });

  it('property: over any schedule, total granted <= burst + rate * elapsed, and a greedy taker gets close to it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 500 }), want: fc.integer({ min: 0, max: 200_000 }) }), { maxLength: 100 }),
        (rate, burst, steps) => {
          const b = new TokenBucket(rate, burst, 0);
          let now = 0;
          let total = 0;
          for (const { dt, want } of steps) {
            now += dt;
            const g = b.take(want, now);
            expect(g).toBeGreaterThanOrEqual(0);
            expect(g).toBeLessThanOrEqual(want);
            expect(Number.isInteger(g)).toBe(true);
            total += g;
            expect(total).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-6);
            // waitMs is the smallest whole number of ms after which the (burst-capped) request fits.
            const need = Math.min(want, burst);
            const have = b.available(now);
            const w = b.waitMs(want, now);
            if (have >= need) expect(w).toBe(0);
            else {
              expect(have + (w * rate) / 1000).toBeGreaterThanOrEqual(need - 1e-6);
              expect(have + ((w - 1) * rate) / 1000).toBeLessThan(need + 1e-6);
            }
          }
        },
      ),
    );
  });
});
