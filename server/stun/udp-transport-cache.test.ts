import { describe, expect, it } from 'vitest';
import type { DatagramSocket } from '../../io/datagram-socket.js';
import type { UdpRole } from './udp-transport.js';
import { UdpTransportCache } from './udp-transport-cache.js';

/** A role whose socket records what is sent (nothing is bound). */
function role(port: number, sent: Array<{ port: number; address: string }> = []): UdpRole {
  const socket: DatagramSocket = {
    address: '127.0.0.1',
    port,
    send: (_bytes, toPort, address) => {
      sent.push({ port: toPort, address });
    },
    onMessage: () => {},
    close: () => {},
  };
  return { socket, ip: 0, port: 0, local: { family: 'IPv4', address: '127.0.0.1', port }, ctx: { software: 't', canChange: { ip: false, port: false } } };
}

describe('UdpTransportCache', () => {
  it('hands out one transport per 5-tuple: the same object for the same socket, address and port', () => {
    const cache = new UdpTransportCache();
    const r = role(3478);
    const a = cache.get(r, '203.0.113.5', 4000);
    expect(cache.get(r, '203.0.113.5', 4000)).toBe(a);
    expect(a.key).toBe('udp|203.0.113.5|4000|127.0.0.1|3478');
    expect(a.remote).toEqual({ family: 'IPv4', address: '203.0.113.5', port: 4000 });
    const others = [cache.get(r, '203.0.113.5', 4001), cache.get(r, '203.0.113.6', 4000), cache.get(role(3479), '203.0.113.5', 4000)];
    for (const o of others) expect(o).not.toBe(a);
    expect(new Set([a, ...others].map((t) => t.key)).size).toBe(4);
    expect(cache.size).toBe(4);
  });

  it('answers go back to where the datagram came from, out of its socket', () => {
    const sent: Array<{ port: number; address: string }> = [];
    const cache = new UdpTransportCache();
    const r = role(3478, sent);
    cache.get(r, '203.0.113.5', 4000).send(new Uint8Array(1));
    cache.get(r, '203.0.113.5', 4000).send(new Uint8Array(1));
    cache.get(r, '::ffff:203.0.113.7', 5000).send(new Uint8Array(1));
    expect(sent).toEqual([
      { port: 4000, address: '203.0.113.5' },
      { port: 4000, address: '203.0.113.5' },
      { port: 5000, address: '::ffff:203.0.113.7' },
    ]);
    // IPv4-mapped sources are still named as IPv4, IPv6 ones canonically.
    expect(cache.get(r, '::ffff:203.0.113.7', 5000).remote).toEqual({ family: 'IPv4', address: '203.0.113.7', port: 5000 });
    expect(cache.get(r, '2001:DB8:0:0::1', 5000).remote.address).toBe('2001:db8::1');
  });

  it('never holds more than maxEntries transports, however many sources send', () => {
    const cache = new UdpTransportCache(100);
    const r = role(3478);
    for (let i = 0; i < 10_000; i++) {
      cache.get(r, `198.51.100.${i % 250}`, 1024 + i);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    // After emptying itself it still answers correctly.
    const t = cache.get(r, '203.0.113.5', 4000);
    expect(t.remote).toEqual({ family: 'IPv4', address: '203.0.113.5', port: 4000 });
    expect(cache.get(r, '203.0.113.5', 4000)).toBe(t);
  });

  it('clear drops every transport', () => {
    const cache = new UdpTransportCache();
    const r = role(3478);
    const a = cache.get(r, '203.0.113.5', 4000);
    cache.get(role(3479), '203.0.113.5', 4000);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get(r, '203.0.113.5', 4000)).not.toBe(a);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new UdpTransportCache(0)).toThrow(RangeError);
    expect(() => new UdpTransportCache(1.5)).toThrow(RangeError);
  });
});
