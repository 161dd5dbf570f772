import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';

describe('ManualClock', () => {
  it('starts where it is told and moves only when advanced', () => {
    const c = new ManualClock(1_000);
    expect(c.now()).toBe(1_000);
    expect(c.now()).toBe(1_000);
    c.advance(250.5);
    expect(c.now()).toBe(1_250.5);
    c.advance(0);
    expect(c.now()).toBe(1_250.5);
  });

  it('refuses to go backwards (a monotonic clock never does)', () => {
    const c = new ManualClock();
    expect(() => c.advance(-1)).toThrow(RangeError);
    expect(() => c.advance(Number.NaN)).toThrow(RangeError);
    expect(c.now()).toBe(0);
  });
});
