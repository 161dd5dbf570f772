import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { UdpSessionTable } from './udp-session-table.js';

interface Sess {
  id: string;
}
const s = (id: string): Sess => ({ id });

describe('UdpSessionTable', () => {
  it('stores and finds sessions by key', () => {
    const t = new UdpSessionTable<Sess>(30_000);
    const a = s('a');
    expect(t.get('1.2.3.4|5000', 0)).toBeUndefined();
    expect(t.set('1.2.3.4|5000', a, 0)).toBeUndefined();
    expect(t.get('1.2.3.4|5000', 1)).toBe(a);
    expect(t.get('1.2.3.4|5001', 1)).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('expires sessions idle for >= idleMs and returns them', () => {
    const t = new UdpSessionTable<Sess>(1000);
    const a = s('a');
    const b = s('b');
    t.set('a', a, 0);
    t.set('b', b, 500);
    expect(t.handleExpiry(999)).toEqual([]);
    expect(t.handleExpiry(1000)).toEqual([['a', a]]);
    expect(t.size).toBe(1);
    expect(t.get('a', 1000)).toBeUndefined();
    expect(t.handleExpiry(1499)).toEqual([]);
    expect(t.handleExpiry(1500)).toEqual([['b', b]]);
    expect(t.size).toBe(0);
  });

  it('get() touches lastSeen, keeping an active session alive', () => {
    const t = new UdpSessionTable<Sess>(1000);
    t.set('a', s('a'), 0);
    t.set('b', s('b'), 0);
    t.get('a', 900);
    expect(t.lastSeen('a')).toBe(900);
    expect(t.handleExpiry(1000).map(([k]) => k)).toEqual(['b']);
    expect(t.handleExpiry(1899)).toEqual([]);
    expect(t.handleExpiry(1900).map(([k]) => k)).toEqual(['a']);
  });

  it('peek() finds a session without counting as use', () => {
    const t = new UdpSessionTable<Sess>(1000);
    const a = s('a');
    t.set('a', a, 0);
    expect(t.peek('a')).toBe(a);
    expect(t.peek('b')).toBeUndefined();
    expect(t.lastSeen('a')).toBe(0);
    expect(t.handleExpiry(1000)).toEqual([['a', a]]);
  });

  it('when full, set() evicts the least recently used session and returns it', () => {
    const t = new UdpSessionTable<Sess>(60_000, 3);
    const [a, b, c, d] = [s('a'), s('b'), s('c'), s('d')];
    t.set('a', a, 1);
    t.set('b', b, 2);
    t.set('c', c, 3);
    t.get('a', 4); // a is now the most recently used; b the least
    expect(t.set('d', d, 5)).toBe(b);
    expect(t.size).toBe(3);
    expect(t.get('b', 6)).toBeUndefined();
    expect([...t.values()].map((x) => x.id).sort()).toEqual(['a', 'c', 'd']);
  });

  it('defaults to 4096 sessions', () => {
    const t = new UdpSessionTable<number>(60_000);
    for (let i = 0; i < 4096; i++) expect(t.set(`k${i}`, i, i)).toBeUndefined();
    expect(t.set('one-more', -1, 5000)).toBe(0);
    expect(t.size).toBe(4096);
  });

  it('replacing a key returns the previous session; re-setting the same one only touches it', () => {
    const t = new UdpSessionTable<Sess>(1000, 2);
    const a1 = s('a1');
    const a2 = s('a2');
    t.set('a', a1, 0);
    t.set('b', s('b'), 0);
    expect(t.set('a', a1, 10)).toBeUndefined();
    expect(t.lastSeen('a')).toBe(10);
    expect(t.set('a', a2, 20)).toBe(a1);
    expect(t.get('a', 20)).toBe(a2);
    expect(t.size).toBe(2); // no eviction for an existing key
  });

  it('works with a value type shared by all keys (e.g. UdpSessionTable<true>)', () => {
    const t = new UdpSessionTable<true>(1000);
    expect(t.set('x', true, 0)).toBeUndefined();
    expect(t.set('x', true, 1)).toBeUndefined();
    expect(t.get('x', 2)).toBe(true);
  });

  it('delete() removes and returns the session', () => {
    const t = new UdpSessionTable<Sess>(1000);
    const a = s('a');
    t.set('a', a, 0);
    expect(t.delete('a')).toBe(a);
    expect(t.delete('a')).toBeUndefined();
    expect(t.size).toBe(0);
    expect(t.handleExpiry(10_000)).toEqual([]);
  });

  it('values() may be iterated while sessions are deleted', () => {
    const t = new UdpSessionTable<Sess>(1000);
    for (const id of ['a', 'b', 'c', 'd']) t.set(id, s(id), 0);
    const closed: string[] = [];
    for (const v of t.values()) {
      closed.push(v.id);
      t.delete(v.id);
    }
    expect(closed).toEqual(['a', 'b', 'c', 'd']);
    expect(t.size).toBe(0);
  });

  it('rejects bad parameters', () => {
    expect(() => new UdpSessionTable(0)).toThrow(RangeError);
    expect(() => new UdpSessionTable(1000, 0)).toThrow(RangeError);
    expect(() => new UdpSessionTable(1000, 1.5)).toThrow(RangeError);
  });

  it('property: behaves like a naive LRU-with-expiry model', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 700 }),
            op: fc.constantFrom('get', 'set', 'delete', 'expire'),
            key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
          }),
          { maxLength: 200 },
        ),
        (max, idleMs, ops) => {
          const t = new UdpSessionTable<number>(idleMs, max);
          // Model: array in LRU order of [key, value, lastSeen].
          let model: Array<[string, number, number]> = [];
          let now = 0;
          let counter = 0;
          for (const { dt, op, key } of ops) {
            now += dt;
            const i = model.findIndex(([k]) => k === key);
            if (op === 'get') {
              const got = t.get(key, now);
              if (i < 0) expect(got).toBeUndefined();
              else {
                const [entry] = model.splice(i, 1);
                expect(got).toBe(entry![1]);
                model.push([key, entry![1], now]);
              }
            } else if (op === 'set') {
              const value = counter++;
              const evicted = t.set(key, value, now);
              if (i >= 0) {
                const [entry] = model.splice(i, 1);
                expect(evicted).toBe(entry![1]);
              } else if (model.length >= max) {
                expect(evicted).toBe(model.shift()![1]);
              } else expect(evicted).toBeUndefined();
              model.push([key, value, now]);
            } else if (op === 'delete') {
              const removed = t.delete(key);
              expect(removed).toBe(i < 0 ? undefined : model.splice(i, 1)[0]![1]);
            } else {
              const expired = t.handleExpiry(now);
              const expected = model.filter(([, , seen]) => now - seen >= idleMs).map(([k, v]) => [k, v]);
              model = model.filter(([, , seen]) => now - seen < idleMs);
              expect(expired).toEqual(expected);
            }
            expect(t.size).toBe(model.length);
            expect(t.size).toBeLessThanOrEqual(max);
            expect([...t.values()]).toEqual(model.map(([, v]) => v));
          }
        },
      ),
    );
  });
});

describe('UdpSessionTable expiry contract', () => {
  it('nextExpiry is when the least recently used session goes idle; use moves it later', () => {
    const t = new UdpSessionTable<Sess>(1000);
    expect(t.nextExpiry()).toBeUndefined();
    t.set('a', s('a'), 0);
    t.set('b', s('b'), 400);
    expect(t.nextExpiry()).toBe(1000);
    t.get('a', 700);
    expect(t.nextExpiry()).toBe(1400);
    expect(t.handleExpiry(1399)).toEqual([]);
    expect(t.handleExpiry(1400).map(([k]) => k)).toEqual(['b']);
    expect(t.nextExpiry()).toBe(1700);
    t.delete('a');
    expect(t.nextExpiry()).toBeUndefined();
  });
});
