import { describe, expect, it } from 'vitest';
import { TcpConnectionTable, type TcpConnection } from './tcp-connections.js';

const peer = { family: 'IPv4' as const, address: '203.0.113.5', port: 80 };

describe('TcpConnectionTable (RFC 6062)', () => {
  it('refuses a second connection to the same peer of one allocation (446), not of another', () => {
    const t = new TcpConnectionTable();
    const c = t.create(1, peer, true, 0) as TcpConnection;
    expect(c.state).toBe('connecting');
    expect(t.create(1, peer, true, 0)).toBe('exists');
    expect(typeof t.create(2, peer, true, 0)).toBe('object');
    t.markPending(c.id, 10);
    expect(t.create(1, peer, true, 0)).toBe('exists');
    expect(t.markBound(c.id)).toBe(true);
    expect(t.create(1, peer, true, 0)).toBe('exists');
    t.remove(c.id);
    expect(typeof t.create(1, peer, true, 0)).toBe('object');
  });

  it('gives unique non-zero ids', () => {
    let n = 0;
    const ids = [0, 7, 7, 9];
    const t = new TcpConnectionTable({ randomId: () => ids[n++ % ids.length]! });
    const a = t.create(1, peer, false, 0) as TcpConnection;
    const b = t.create(1, { ...peer, port: 81 }, false, 0) as TcpConnection;
    expect(a.id).toBe(7);
    expect(b.id).toBe(9);
  });

  it('expires pending connections after 30 s, not bound or connecting ones', () => {
    const t = new TcpConnectionTable();
    const incoming = t.create(1, peer, false, 1000) as TcpConnection;
    const outgoing = t.create(1, { ...peer, port: 81 }, true, 1000) as TcpConnection;
    const bound = t.create(1, { ...peer, port: 82 }, false, 1000) as TcpConnection;
    t.markBound(bound.id);
    t.markPending(outgoing.id, 20_000);
    expect(t.handleExpiry(30_999)).toEqual([]);
    expect(t.handleExpiry(31_000)).toEqual([incoming]);
    expect(t.handleExpiry(50_000)).toEqual([outgoing]);
    expect(t.forAllocation(1)).toEqual([bound]);
    expect(t.markBound(incoming.id)).toBe(false);
  });

  it('limits connections per allocation', () => {
    const t = new TcpConnectionTable({ maxPerAllocation: 1 });
    t.create(1, peer, false, 0);
    expect(t.create(1, { ...peer, port: 81 }, false, 0)).toBe('capacity');
  });
});

describe('TcpConnectionTable expiry contract', () => {
  it('names the earliest pending connection’s 30 s deadline; connecting and bound ones have none', () => {
    const t = new TcpConnectionTable();
    expect(t.nextExpiry()).toBeUndefined();
    const outgoing = t.create(1, peer, true, 1000) as TcpConnection;
    expect(t.nextExpiry()).toBeUndefined();
    t.markPending(outgoing.id, 5000);
    expect(t.nextExpiry()).toBe(35_000);
    const incoming = t.create(1, { ...peer, port: 81 }, false, 2000) as TcpConnection;
    expect(t.nextExpiry()).toBe(32_000);
    t.markBound(incoming.id);
    expect(t.nextExpiry()).toBe(35_000);
    expect(t.handleExpiry(34_999)).toEqual([]);
    expect(t.handleExpiry(35_000)).toEqual([outgoing]);
    expect(t.nextExpiry()).toBeUndefined();
  });
});
