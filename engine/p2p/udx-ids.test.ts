import { describe, expect, it } from 'vitest';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { noiseSeeds } from './noise-keys.js';
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

  it('data ids are random below 2^31 (a stranger cannot guess the next one), skipping ids in use', () => {
    const draws = [7, 7, 9];
    const ids = new UdxIdAllocator((min, max) => {
      expect([min, max]).toEqual([1, 2 ** 31]);
      return draws.shift()!;
    });
    expect(ids.take()).toBe(7);
    expect(ids.take()).toBe(9);
    const real = new UdxIdAllocator();
    const got = Array.from({ length: 64 }, () => real.take());
    expect(new Set(got).size).toBe(64);
    for (const id of got) expect(id >= 1 && id < 2 ** 31).toBe(true);
    // not 1, 2, 3, ...: the first 64 ids of a sequential allocator would all be below 65
    expect(got.filter((id) => id <= 64).length).toBeLessThan(4);
  });

  it('control ids come from the secret and the session, not from the session id alone', () => {
    const session = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    const mine = controlIds(noiseSeeds(nodeStunCrypto.hmacSha256, 'tunnel secret', session).controlIds);
    expect(controlIds(noiseSeeds(nodeStunCrypto.hmacSha256, 'tunnel secret', session).controlIds)).toEqual(mine);
    expect(controlIds(noiseSeeds(nodeStunCrypto.hmacSha256, 'another secret', session).controlIds)).not.toEqual(mine);
    expect(controlIds(session)).not.toEqual(mine);
  });
});
