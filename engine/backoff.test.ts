import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('uses the documented defaults (500 ms, x2, 30 s cap)', () => {
    const b = new Backoff(undefined, () => 0);
    const delays = Array.from({ length: 10 }, () => b.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('default jitter is 0.5: random() = 1 halves the delay', () => {
    const b = new Backoff({}, () => 1);
    expect(b.next()).toBe(250);
    expect(b.next()).toBe(500);
  });

  it('grows exponentially with the given factor and caps at maxMs', () => {
    const b = new Backoff({ initialMs: 100, factor: 3, maxMs: 5000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 300, 900, 2700, 5000, 5000]);
  });

  it('stays at maxMs after very many attempts (no overflow to Infinity/NaN)', () => {
    const b = new Backoff({ initialMs: 1, maxMs: 1000, jitter: 0 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = b.next();
    expect(last).toBe(1000);
    expect(b.attempts).toBe(5000);
  });

  it('counts attempts and reset() returns to the initial delay', () => {
    const b = new Backoff({ initialMs: 200, jitter: 0 });
    expect(b.attempts).toBe(0);
    b.next();
    b.next();
    expect(b.next()).toBe(800);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(200);
    expect(b.next()).toBe(400);
  });

  it('rejects nonsensical options', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 1000, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
    expect(() => new Backoff({ jitter: 1.5 })).toThrow(RangeError);
    expect(() => new Backoff({ jitter: -0.1 })).toThrow(RangeError);
  });

  it('property: every delay lies within [base*(1-jitter), base] and never exceeds maxMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (initialMs, extra, factor, jitter, randoms) => {
          const maxMs = initialMs + extra;
          let i = 0;
          const b = new Backoff({ initialMs, maxMs, factor, jitter }, () => randoms[i++ % randoms.length]!);
          for (let n = 0; n < randoms.length; n++) {
            const base = Math.min(maxMs, initialMs * factor ** n);
            const d = b.next();
            expect(d).toBeLessThanOrEqual(base);
            expect(d).toBeLessThanOrEqual(maxMs);
            expect(d).toBeGreaterThanOrEqual(base * (1 - jitter) - 1e-9);
            expect(d).toBeGreaterThan(0 - 1e-9);
          }
        },
      ),
    );
  });

  it('property: a misbehaving random source cannot push the delay out of bounds', () => {
    fc.assert(
      fc.property(fc.double(), (r) => {
        const b = new Backoff({ initialMs: 1000, jitter: 0.5 }, () => r);
        const d = b.next();
        expect(d).toBeGreaterThanOrEqual(500);
        expect(d).toBeLessThanOrEqual(1000);
      }),
    );
  });

  it('property: without jitter, delays never decrease from one attempt to the next', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), (n) => {
        const b = new Backoff({ jitter: 0 });
        let prev = 0;
        for (let k = 0; k < n; k++) {
          const d = b.next();
          expect(d).toBeGreaterThanOrEqual(prev);
          prev = d;
        }
      }),
    );
  });
});
