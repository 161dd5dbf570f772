import { describe, expect, it } from 'vitest';
import { controlIds, UdxIdAllocator } from './udx-ids.js';

describe('udx stream ids', () => {
  it('hands out each data id once until it is released, and control ids never meet data ids', () => {
    const ids = new UdxIdAllocator();
    const a = ids.take();
    const b = ids.take();
    expect(a).not.toBe(b);
    expect(ids.claim(a)).toBe(false);
    ids.release(a);
    expect(ids.claim(a)).toBe(true);
    const c = controlIds(Uint8Array.of(0xff, 0xff, 0xff, 0xff, ...new Array(12).fill(0)));
    expect(c.offerer).toBeGreaterThanOrEqual(2 ** 31);
    expect(c.answerer).toBe(c.offerer + 1);
    expect(c.answerer).toBeLessThan(2 ** 32);
    expect(controlIds(new Uint8Array(16)).offerer).toBe(2 ** 31);
  });
});
