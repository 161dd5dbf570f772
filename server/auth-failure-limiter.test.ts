import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { AuthFailureLimiter } from './auth-failure-limiter.js';

const A = '203.0.113.7';
const B = '198.51.100.9';

describe('AuthFailureLimiter', () => {
  it('blocks after N failures within the window, not before', () => {
    const l = new AuthFailureLimiter({ failures: 3, windowMs: 60_000 });
    l.recordFailure(A, 1_000);
    l.recordFailure(A, 2_000);
    expect(l.isBlocked(A, 2_000)).toBe(false);
    expect(l.retryAfterSeconds(A, 2_000)).toBe(0);
    l.recordFailure(A, 3_000);
    expect(l.isBlocked(A, 3_000)).toBe(true);
  });

  it('does not affect other sources', () => {
    const l = new AuthFailureLimiter({ failures: 2, windowMs: 60_000 });
    l.recordFailure(A, 0);
    l.recordFailure(A, 0);
    l.recordFailure(B, 0);
    expect(l.isBlocked(A, 1)).toBe(true);
    expect(l.isBlocked(B, 1)).toBe(false);
    expect(l.isBlocked('192.0.2.1', 1)).toBe(false);
    expect(l.retryAfterSeconds('192.0.2.1', 1)).toBe(0);
  });

  it('unblocks when the oldest counted failure slides out of the window', () => {
    const l = new AuthFailureLimiter({ failures: 3, windowMs: 10_000 });
    l.recordFailure(A, 0);
    l.recordFailure(A, 4_000);
    l.recordFailure(A, 8_000);
    expect(l.isBlocked(A, 9_999)).toBe(true);
    expect(l.retryAfterSeconds(A, 8_000)).toBe(2);
    expect(l.retryAfterSeconds(A, 9_999)).toBe(1);
    // Failure at 0 leaves the window at 10 000: only 2 remain.
    expect(l.isBlocked(A, 10_000)).toBe(false);
    expect(l.retryAfterSeconds(A, 10_000)).toBe(0);
    // One more failure re-blocks (4 000, 8 000, 11 000 are within the window) — it is a sliding window.
    l.recordFailure(A, 11_000);
    expect(l.isBlocked(A, 11_000)).toBe(true);
    expect(l.retryAfterSeconds(A, 11_000)).toBe(3); // until 14 000
    expect(l.isBlocked(A, 14_000)).toBe(false);
  });

  it('failures spread wider than the window never block', () => {
    const l = new AuthFailureLimiter({ failures: 3, windowMs: 1_000 });
    for (let t = 0; t < 100_000; t += 600) {
      l.recordFailure(A, t);
      expect(l.isBlocked(A, t)).toBe(false);
    }
  });

  it('retryAfterSeconds rounds up and is > 0 exactly while blocked', () => {
    const l = new AuthFailureLimiter({ failures: 1, windowMs: 90_000 });
    l.recordFailure(A, 0);
    expect(l.retryAfterSeconds(A, 0)).toBe(90);
    expect(l.retryAfterSeconds(A, 1)).toBe(90);
    expect(l.retryAfterSeconds(A, 89_001)).toBe(1);
    expect(l.retryAfterSeconds(A, 90_000)).toBe(0);
  });

  it('a successful login clears the failures', () => {
    const l = new AuthFailureLimiter({ failures: 2, windowMs: 60_000 });
    l.recordFailure(A, 0);
    l.recordFailure(A, 1);
    expect(l.isBlocked(A, 2)).toBe(true);
    l.recordSuccess(A);
    expect(l.isBlocked(A, 2)).toBe(false);
    expect(l.trackedSources).toBe(0);
    l.recordFailure(A, 3);
    expect(l.isBlocked(A, 3)).toBe(false); // counting starts over
  });

  it('keeps memory bounded when 50,000 distinct sources fail', () => {
    const l = new AuthFailureLimiter({ failures: 5, windowMs: 3_600_000 });
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      l.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1_000 + i);
      peak = Math.max(peak, l.trackedSources);
    }
    expect(peak).toBe(10_000);
    expect(l.trackedSources).toBe(10_000);
    // The oldest were evicted, the newest are still tracked.
    const last = 49_999;
    const lastSource = `10.${(last >> 16) & 255}.${(last >> 8) & 255}.${last & 255}`;
    for (let k = 0; k < 4; k++) l.recordFailure(lastSource, 60_000);
    expect(l.isBlocked(lastSource, 60_000)).toBe(true);
  });

  it('honours a custom maxTracked and evicts the source whose last failure is oldest', () => {
    const l = new AuthFailureLimiter({ failures: 2, windowMs: 60_000, maxTracked: 2 });
    l.recordFailure(A, 0);
    l.recordFailure(B, 1);
    l.recordFailure(A, 2); // A is now the most recent; B the oldest
    l.recordFailure('192.0.2.1', 3);
    expect(l.trackedSources).toBe(2);
    expect(l.isBlocked(A, 4)).toBe(true); // A kept both failures
    l.recordFailure(B, 5);
    expect(l.isBlocked(B, 5)).toBe(false); // B's first failure was evicted
  });

  it('forgets sources whose failures all left the window', () => {
    const l = new AuthFailureLimiter({ failures: 3, windowMs: 1_000 });
    for (let i = 0; i < 100; i++) l.recordFailure(`s${i}`, i);
    expect(l.trackedSources).toBe(100);
    l.recordFailure('late', 5_000);
    expect(l.trackedSources).toBe(1);
  });

  it('rejects bad options', () => {
    expect(() => new AuthFailureLimiter({ failures: 0, windowMs: 1 })).toThrow(RangeError);
    expect(() => new AuthFailureLimiter({ failures: 1, windowMs: 0 })).toThrow(RangeError);
    expect(() => new AuthFailureLimiter({ failures: 1, windowMs: 1, maxTracked: 0 })).toThrow(RangeError);
  });

  it('property: matches a naive sliding-window model', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 2_000 }),
            src: fc.constantFrom('a', 'b', 'c'),
            op: fc.constantFrom('fail', 'fail', 'fail', 'ok', 'check'),
          }),
          { maxLength: 150 },
        ),
        (failures, windowMs, ops) => {
          const l = new AuthFailureLimiter({ failures, windowMs });
          const model = new Map<string, number[]>();
          let now = 0;
          for (const { dt, src, op } of ops) {
            now += dt;
            if (op === 'fail') {
              l.recordFailure(src, now);
              model.set(src, [...(model.get(src) ?? []), now]);
            } else if (op === 'ok') {
              l.recordSuccess(src);
              model.delete(src);
            }
            for (const s of ['a', 'b', 'c']) {
              const recent = (model.get(s) ?? []).filter((t) => now - t < windowMs);
              const blocked = recent.length >= failures;
              expect(l.isBlocked(s, now)).toBe(blocked);
              const until = blocked ? recent[recent.length - failures]! + windowMs : now;
              expect(l.retryAfterSeconds(s, now)).toBe(Math.ceil((until - now) / 1000));
            }
          }
        },
      ),
    );
  });

  it('with a global budget, failures spread over many sources block everyone until they leave the window', () => {
    const l = new AuthFailureLimiter({ failures: 5, windowMs: 10_000, globalFailures: 4 });
    for (let i = 0; i < 3; i++) l.recordFailure(`192.0.2.${i}`, 1_000 * i);
    expect(l.isBlocked('198.51.100.1', 3_000)).toBe(false);
    l.recordFailure('192.0.2.3', 3_000);
    // Four failures from four sources, each under its own limit: the global budget is spent.
    expect(l.isBlocked('198.51.100.1', 3_000)).toBe(true);
    expect(l.isBlocked('192.0.2.0', 3_000)).toBe(true);
    expect(l.retryAfterSeconds('198.51.100.1', 3_000)).toBe(7); // the failure at 0 leaves at 10 000
    expect(l.isBlocked('198.51.100.1', 10_000)).toBe(false);
  });

  it('without a global budget, failures of many sources block none of them', () => {
    const l = new AuthFailureLimiter({ failures: 2, windowMs: 10_000 });
    for (let i = 0; i < 1000; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`, i);
    expect(l.isBlocked('10.0.0.1', 1000)).toBe(false);
    expect(l.isBlocked('198.51.100.1', 1000)).toBe(false);
  });

  it('refuses a non-positive global budget', () => {
    expect(() => new AuthFailureLimiter({ failures: 1, windowMs: 1, globalFailures: 0 })).toThrow(RangeError);
  });
});

describe('AuthFailureLimiter retry hint on a fractional monotonic clock', () => {
  it('says the window in whole seconds, not one more from float rounding', () => {
    const limiter = new AuthFailureLimiter({ failures: 1, windowMs: 30_000 });
    // performance.now()-like times where (t + 30000) - t > 30000 in binary floating point.
    const times = [507036.0926994355, 56057.48806211186, 252970.02165216042, 241595.63641069081];
    for (const t of times) expect(t + 30_000 - t).toBeGreaterThan(30_000);
    for (const t of times) {
      limiter.recordFailure(`203.0.113.${times.indexOf(t) + 1}`, t);
      expect(limiter.retryAfterSeconds(`203.0.113.${times.indexOf(t) + 1}`, t)).toBe(30);
    }
  });
});
