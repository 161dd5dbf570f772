import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes.js';

describe('concatBytes', () => {
  it('joins the parts in order into a new array, empty parts included', () => {
    const a = Uint8Array.of(1, 2);
    const out = concatBytes(a, new Uint8Array(0), Uint8Array.of(3), new Uint8Array([4, 5]).subarray(1));
    expect([...out]).toEqual([1, 2, 3, 5]);
    out[0] = 9;
    expect(a[0]).toBe(1);
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });
});
