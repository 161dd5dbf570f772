import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, parseIp } from './address.js';
import { CidrSet } from './cidr-set.js';

const setOf = (entries: string[], ipv4Mapped?: 'as-ipv4' | 'as-ipv6'): CidrSet => {
  const set = new CidrSet(ipv4Mapped ? { ipv4Mapped } : {});
  for (const e of entries) set.add(e);
  return set;
};

describe('CidrSet', () => {
  it('an empty set holds nothing', () => {
    const set = new CidrSet();
    expect(set.size).toBe(0);
    expect(set.has('0.0.0.0')).toBe(false);
    expect(set.has('::')).toBe(false);
  });

  it('/0 holds its whole family and only it', () => {
    const v4 = setOf(['0.0.0.0/0']);
    expect(v4.has('0.0.0.0')).toBe(true);
    expect(v4.has('255.255.255.255')).toBe(true);
    expect(v4.has('::')).toBe(false);
    expect(v4.has('2001:db8::1')).toBe(false);
    const v6 = setOf(['::/0']);
    expect(v6.has('::')).toBe(true);
    expect(v6.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(v6.has('192.0.2.1')).toBe(false);
  });

  it('/32 and /128 hold exactly one address', () => {
    const set = setOf(['192.0.2.1/32', '2001:db8::1/128', '198.51.100.7', '2001:db8::7']);
    expect(set.has('192.0.2.1')).toBe(true);
    expect(set.has('192.0.2.0')).toBe(false);
    expect(set.has('192.0.2.2')).toBe(false);
    expect(set.has('2001:db8::1')).toBe(true);
    expect(set.has('2001:db8::')).toBe(false);
    expect(set.has('2001:db8::2')).toBe(false);
    expect(set.has('198.51.100.7')).toBe(true);
    expect(set.has('2001:DB8:0::7')).toBe(true);
    expect(set.size).toBe(4);
  });

  it('matches prefixes that do not fall on a byte boundary, at both edges', () => {
    const set = setOf(['100.64.0.0/10', 'fe80::/10', '198.18.0.0/15']);
    expect(set.has('100.64.0.0')).toBe(true);
    expect(set.has('100.127.255.255')).toBe(true);
    expect(set.has('100.128.0.0')).toBe(false);
    expect(set.has('100.63.255.255')).toBe(false);
    expect(set.has('fe80::')).toBe(true);
    expect(set.has('febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(set.has('fec0::')).toBe(false);
    expect(set.has('fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(false);
    expect(set.has('198.19.255.255')).toBe(true);
    expect(set.has('198.20.0.0')).toBe(false);
  });

  it('ignores host bits in an entry', () => {
    const set = setOf(['10.1.2.3/8']);
    expect(set.has('10.200.0.1')).toBe(true);
    expect(set.has('11.0.0.0')).toBe(false);
  });

  it('holds an address iff its first `prefix` bits equal the network (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), fc.nat(128), (net, addr, v4, p) => {
        const len = v4 ? 4 : 16;
        const prefix = p % (len * 8 + 1);
        const n = net.slice(0, len);
        const a = addr.slice(0, len);
        const fmt = v4 ? formatIPv4 : formatIPv6;
        const set = setOf([`${fmt(n)}/${prefix}`]);
        let same = true;
        for (let bit = 0; bit < prefix; bit++) if (((n[bit >> 3]! >> (7 - (bit & 7))) & 1) !== ((a[bit >> 3]! >> (7 - (bit & 7))) & 1)) same = false;
        expect(set.has(fmt(a))).toBe(same);
        expect(set.has(fmt(n))).toBe(true);
      }),
    );
  });

  it("ipv4Mapped 'as-ipv4': mapped addresses match IPv4 rules, mapped entries are IPv4 entries", () => {
    const set = setOf(['10.0.0.0/8', '::ffff:192.0.2.1', '::ffff:198.51.100.0/120'], 'as-ipv4');
    expect(set.has('::ffff:10.1.2.3')).toBe(true);
    expect(set.has('::ffff:a01:203')).toBe(true);
    expect(set.has('::ffff:11.0.0.1')).toBe(false);
    expect(set.has('192.0.2.1')).toBe(true);
    expect(set.has('198.51.100.200')).toBe(true);
    expect(set.has('198.51.101.1')).toBe(false);
    expect(set.has('::10.1.2.3')).toBe(false); // IPv4-compatible, not mapped
    const noV6 = setOf(['::/0'], 'as-ipv4');
    expect(noV6.has('::ffff:10.0.0.1')).toBe(false);
    expect(noV6.has('2001:db8::1')).toBe(true);
    expect(() => setOf(['::ffff:10.0.0.0/95'], 'as-ipv4')).toThrow(new Error('bad address or CIDR "::ffff:10.0.0.0/95"'));
    expect(setOf(['::ffff:0.0.0.0/96'], 'as-ipv4').has('203.0.113.1')).toBe(true);
  });

  it("ipv4Mapped 'as-ipv6' (default): mapped addresses are IPv6 and only IPv6 rules match them", () => {
    const set = setOf(['10.0.0.0/8', '::ffff:0:0/96']);
    expect(set.has('10.1.2.3')).toBe(true);
    expect(set.has('::ffff:8.8.8.8')).toBe(true); // by the ::ffff:0:0/96 rule
    expect(setOf(['10.0.0.0/8']).has('::ffff:10.1.2.3')).toBe(false);
    expect(set.has('8.8.8.8')).toBe(false);
  });

  it('takes parsed addresses too, and never holds text that is not an address', () => {
    const set = new CidrSet();
    set.addNetwork(parseIp('203.0.113.0')!, 24);
    set.addNetwork(parseIp('2001:db8::10')!);
    expect(set.has(parseIp('203.0.113.99')!)).toBe(true);
    expect(set.has('2001:db8::10')).toBe(true);
    expect(set.has('2001:db8::11')).toBe(false);
    expect(set.has('example.com')).toBe(false);
    expect(set.has('')).toBe(false);
    expect(() => set.addNetwork(parseIp('10.0.0.0')!, 33)).toThrow('bad prefix /33 for IPv4');
  });

  it('refuses malformed entries with a clear error naming the entry', () => {
    for (const entry of ['example.com', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/x', '256.1.1.1', '', '2001:db8:::1']) {
      expect(() => new CidrSet().add(entry), entry).toThrow(new Error(`bad address or CIDR "${entry}"`));
    }
  });
});
