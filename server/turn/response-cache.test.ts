import { describe, expect, it } from 'vitest';
import { ResponseCache } from './response-cache.js';

const tx = new Uint8Array(12).fill(1);
const req = new Uint8Array([1, 2, 3]);
const res = new Uint8Array([9]);

describe('ResponseCache', () => {
  it('replays only for the same 5-tuple, transaction and bytes, within the TTL', () => {
    const c = new ResponseCache({ ttlMs: 1000 });
    c.put('k', tx, req, res, 0);
    expect(c.get('k', tx, req, 999)).toBe(res);
    expect(c.get('other', tx, req, 0)).toBeUndefined();
    expect(c.get('k', new Uint8Array(12), req, 0)).toBeUndefined();
    expect(c.get('k', tx, new Uint8Array([1, 2, 4]), 0)).toBeUndefined();
    expect(c.get('k', tx, req, 1000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps at most maxEntries', () => {
    const c = new ResponseCache({ maxEntries: 2 });
    for (let i = 0; i < 5; i++) c.put(`k${i}`, tx, req, res, 0);
    expect(c.size).toBe(2);
    expect(c.get('k4', tx, req, 0)).toBe(res);
    expect(c.get('k0', tx, req, 0)).toBeUndefined();
  });
});
