import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressToBytes, canonicalAddress, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './address.js';
import { StunError } from './errors.js';

describe('IPv4 text', () => {
  it('parses strict dotted quads', () => {
    expect(parseIPv4('192.0.2.1')).toEqual(Uint8Array.from([192, 0, 2, 1]));
    expect(parseIPv4('0.0.0.0')).toEqual(new Uint8Array(4));
    expect(parseIPv4('255.255.255.255')).toEqual(new Uint8Array(4).fill(255));
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '1..2.3']) {
      expect(parseIPv4(bad), bad).toBeUndefined();
    }
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        expect(parseIPv4(formatIPv4(b))).toEqual(b);
      }),
    );
  });
});

describe('IPv6 text (RFC 5952 canonical form)', () => {
  const canon = (s: string): string | undefined => {
    const b = parseIPv6(s);
    return b && formatIPv6(b);
  };

  it('formats canonically', () => {
    expect(canon('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canon('2001:DB8::1')).toBe('2001:db8::1');
    expect(canon('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(canon('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // a single 0 is not compressed
    expect(canon('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // the longest run
    expect(canon('2001:db8:1234:5678:0011:2233:4455:6677')).toBe('2001:db8:1234:5678:11:2233:4455:6677');
    expect(canon('::')).toBe('::');
    expect(canon('::1')).toBe('::1');
    expect(canon('1::')).toBe('1::');
    expect(canon('1:0:0:0:0:0:0:0')).toBe('1::');
    expect(canon('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canon('fe80::1%eth0')).toBe('fe80::1');
    expect(canon('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
    expect(canon('::FFFF:C000:0201')).toBe('::ffff:192.0.2.1');
    expect(canon('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(canon('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0');
  });

  it('rejects invalid text', () => {
    for (const bad of [
      '',
      ':',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7::8',
      '12345::',
      'g::',
      '::1.2.3',
      '::1.2.3.4:5',
      '1:2:3:4:5:6:7:1.2.3.4',
      '[::1]',
      '::1%',
      ' ::1',
    ]) {
      expect(parseIPv6(bad), bad).toBeUndefined();
    }
  });

  it('round-trips and agrees with the WHATWG URL serializer (property)', () => {
    const words = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(words, (w) => {
        const b = new Uint8Array(16);
        w.forEach((x, i) => {
          b[i * 2] = x >> 8;
          b[i * 2 + 1] = x & 0xff;
        });
        const text = formatIPv6(b);
        expect(parseIPv6(text)).toEqual(b);
        expect(formatIPv6(parseIPv6(text)!)).toBe(text);
        const mapped = w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff;
        if (!mapped) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('addressToBytes / canonicalAddress', () => {
  it('checks the family', () => {
    expect(addressToBytes('IPv4', '10.1.2.3')).toEqual(Uint8Array.from([10, 1, 2, 3]));
    expect(canonicalAddress('IPv6', '2001:DB8:0::0:1')).toBe('2001:db8::1');
    expect(() => addressToBytes('IPv4', '::1')).toThrow(StunError);
    expect(() => addressToBytes('IPv6', '10.1.2.3')).toThrow(StunError);
  });
});
