import { describe, expect, it } from 'vitest';
import { PeerPolicy } from './peer-policy.js';

describe('PeerPolicy', () => {
  const policy = new PeerPolicy({ ownAddresses: ['203.0.113.10', '198.51.100.1:3478', '[2001:db8::10]:3478'] });

  it('allows public unicast peers', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '203.0.113.11', '2001:4860:4860::8888', '64:ff9b::808:808']) expect(policy.allows(ip, 3478), ip).toBe(true);
  });

  it('refuses loopback, unspecified, private, CGNAT, link-local, multicast, reserved, ULA and mapped addresses', () => {
    const refused = [
      '127.0.0.1', '127.255.0.9', '0.0.0.0', '0.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1',
      '100.64.0.1', '100.127.255.254', '169.254.169.254', '224.0.0.1', '239.255.255.250', '255.255.255.255', '240.0.0.1',
      '192.0.0.170', '198.18.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', 'fec0::1', '::ffff:8.8.8.8',
      '::ffff:127.0.0.1', '::127.0.0.1', '100::1', '64:ff9b:1::1',
    ];
    for (const ip of refused) expect(policy.allows(ip, 1), ip).toBe(false);
  });

  it("refuses the server's own addresses and embedded refused IPv4 (NAT64, 6to4)", () => {
    expect(policy.refusal('203.0.113.10')).toBe("the server's own address");
    expect(policy.allows('198.51.100.1')).toBe(false);
    expect(policy.allows('2001:db8::10')).toBe(false);
    expect(policy.allows('64:ff9b::7f00:1')).toBe(false); // NAT64 of 127.0.0.1
    expect(policy.allows('64:ff9b::a00:1')).toBe(false); // NAT64 of 10.0.0.1
    expect(policy.allows('2002:c0a8:101::1')).toBe(false); // 6to4 of 192.168.1.1
    expect(policy.allows('2002:808:808::1')).toBe(true);
  });

  it('refuses port 0 and non-addresses', () => {
    expect(policy.allows('8.8.8.8', 0)).toBe(false);
    expect(policy.allows('8.8.8.8', 70000)).toBe(false);
    expect(policy.allows('example.com')).toBe(false);
  });

  it('allowPeers lifts the defaults, denyPeers wins over everything', () => {
    const p = new PeerPolicy({ allowPeers: ['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8'], denyPeers: ['10.1.2.0/24', '8.8.8.8'] });
    expect(p.allows('127.0.0.1')).toBe(true);
    expect(p.allows('10.1.3.4')).toBe(true);
    expect(p.allows('10.2.0.1')).toBe(false);
    expect(p.allows('10.1.2.3')).toBe(false);
    expect(p.allows('fd00::1')).toBe(true);
    expect(p.allows('8.8.8.8')).toBe(false);
    expect(p.allows('8.8.4.4')).toBe(true);
  });

  it("refuses the interface addresses it is given as the server's own, even where allowPeers would not", () => {
    const p = new PeerPolicy({ interfaceAddresses: ['198.51.100.7', '2001:db8::7'] });
    expect(p.refusal('198.51.100.7', 9000)).toBe("the server's own address");
    expect(p.refusal('2001:db8::7')).toBe("the server's own address");
    expect(p.allows('198.51.100.8', 9000)).toBe(true);
    expect(new PeerPolicy().allows('127.0.0.1')).toBe(false);
  });

  it('lets through the live relayed addresses it is told of (exact port for data, the IP for permissions); denyPeers still wins', () => {
    const live = new Set(['203.0.113.10|50000', '127.0.0.1|42001']);
    const relays = {
      isRelayed: (ip: string, port?: number) => (port === undefined ? [...live].some((k) => k.startsWith(`${ip}|`)) : live.has(`${ip}|${port}`)),
    };
    const p = new PeerPolicy({ ownAddresses: ['203.0.113.10', '203.0.113.10:3478'], relays });
    // Another allocation's relayed address: a valid peer, even on the server's own IP or loopback.
    expect(p.refusal('203.0.113.10', 50000)).toBeUndefined();
    expect(p.refusal('127.0.0.1', 42001)).toBeUndefined();
    // CreatePermission (no port): the relay IP may be named.
    expect(p.refusal('203.0.113.10')).toBeUndefined();
    // The server's other ports on that IP (control, admin, STUN) and other loopback ports stay refused.
    expect(p.refusal('203.0.113.10', 3478)).toBe("the server's own address");
    expect(p.refusal('203.0.113.10', 50001)).toBe("the server's own address");
    expect(p.refusal('127.0.0.1', 22)).toBe('loopback');
    expect(p.refusal('10.0.0.1')).toBe('private (RFC 1918)');
    live.clear();
    expect(p.refusal('203.0.113.10', 50000)).toBe("the server's own address");
    const denied = new PeerPolicy({ denyPeers: ['127.0.0.0/8'], relays: { isRelayed: () => true } });
    expect(denied.refusal('127.0.0.1', 42001)).toBe('denied by denyPeers');
  });

  it('throws on malformed entries', () => {
    expect(() => new PeerPolicy({ allowPeers: ['10.0.0.0/33'] })).toThrow(/bad address/);
    expect(() => new PeerPolicy({ denyPeers: ['nope'] })).toThrow(/bad address/);
  });
});
