import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIp,
  formatHostPort,
  formatIPv4,
  formatIPv6,
  formatIp,
  ipFamily,
  ipOf,
  isWildcard,
  parseCidr,
  parseHostPort,
  parseIp,
  parseIpOrThrow,
  parseIPv4,
  parseIPv6,
  sameIp,
  unmapAddress,
  unmapIPv4,
} from './address.js';

/** fast-check: an IPv6 address as text in any legal spelling (case, leading zeros, "::" anywhere it fits, dotted tail). */
const ipv6Spelling = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), fc.boolean(), fc.nat(8), fc.nat(8), fc.boolean())
  .map(([b, upper, pad, s, l, dotted]) => {
    const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
    const tailV4 = dotted ? `${b[12]}.${b[13]}.${b[14]}.${b[15]}` : undefined;
    const groups = (tailV4 ? words.slice(0, 6) : words).map((w) => (pad ? w.toString(16).padStart(4, '0') : w.toString(16)));
    // Compress a run of zero groups starting at s, as long as it is at most l groups, when there is one.
    let text: string | undefined;
    const start = s % groups.length;
    let end = start;
    while (end < groups.length && Number.parseInt(groups[end]!, 16) === 0 && end - start < Math.max(1, l)) end++;
    if (end > start) text = `${groups.slice(0, start).join(':')}::${groups.slice(end).join(':')}`;
    text ??= groups.join(':');
    if (tailV4) text = text.endsWith('::') ? `${text}${tailV4}` : `${text}:${tailV4}`;
    return { bytes: b, text: upper ? text.toUpperCase() : text };
  });

describe('parsing IP text', () => {
  it('reads both families, drops a zone and surrounding whitespace, keeps mapped addresses IPv6', () => {
    expect(parseIp('192.0.2.1')).toEqual({ family: 'IPv4', bytes: Uint8Array.from([192, 0, 2, 1]) });
    expect(parseIp(' 2001:db8::1 ')?.family).toBe('IPv6');
    expect(parseIp('fe80::1%eth0')?.bytes).toEqual(parseIPv6('fe80::1'));
    expect(parseIp('::ffff:192.0.2.1')).toEqual({ family: 'IPv6', bytes: parseIPv6('::ffff:c000:201') });
    expect(parseIp('::')?.bytes).toEqual(new Uint8Array(16));
    expect(ipFamily('::1')).toBe('IPv6');
    expect(ipFamily('127.0.0.1')).toBe('IPv4');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'nope', 'example.com', '1.2.3', '01.2.3.4', '256.1.1.1', '1.2.3.4.5', '2001:db8:::1', '1::2::3', '12345::', 'fe80::1%', '[::1]', '::1:', '1.2.3.4:80']) {
      expect(parseIp(bad), bad).toBeUndefined();
      expect(canonicalIp(bad), bad).toBeUndefined();
      expect(ipFamily(bad), bad).toBeUndefined();
    }
    expect(parseIp(undefined as unknown as string)).toBeUndefined();
  });

  it('gives a clear error when asked to', () => {
    expect(() => parseIpOrThrow('10.0.0.256')).toThrow(new Error('not an IP address: "10.0.0.256"'));
    expect(parseIpOrThrow('10.0.0.255').bytes).toEqual(Uint8Array.from([10, 0, 0, 255]));
  });
});

describe('RFC 5952 canonical text', () => {
  it('§4.1: leading zeros suppressed ("0" stays one zero)', () => {
    expect(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:1234:5678:0011:2233:4455:0000')).toBe('2001:db8:1234:5678:11:2233:4455:0');
  });

  it('§4.2.1: "::" shortens as much as possible', () => {
    expect(canonicalIp('2001:db8:0:0:0:0:2:1')).toBe('2001:db8::2:1');
    expect(canonicalIp('2001:db8::0:1')).toBe('2001:db8::1');
    expect(canonicalIp('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('1:0:0:0:0:0:0:0')).toBe('1::');
  });

  it('§4.2.2: one 16-bit 0 field is not shortened to "::"', () => {
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIp('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0');
  });

  it('§4.2.3: the longest run is shortened, the first one when runs are equal', () => {
    expect(canonicalIp('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
  });

  it('§4.3: lower case', () => {
    expect(canonicalIp('2001:DB8:ABCD::EF')).toBe('2001:db8:abcd::ef');
  });

  it('§5: IPv4-mapped addresses with a dotted-quad tail, whatever the input spelling', () => {
    expect(canonicalIp('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
    expect(canonicalIp('::FFFF:C000:0201')).toBe('::ffff:192.0.2.1');
    expect(canonicalIp('0:0:0:0:0:ffff:c000:201')).toBe('::ffff:192.0.2.1');
    // Other embedded-IPv4 prefixes are plain hex (§5 recommends the mixed form for mapped only).
    expect(canonicalIp('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(canonicalIp('::192.0.2.1')).toBe('::c000:201');
  });

  it('IPv4 and zones: dotted quad as given, zone dropped', () => {
    expect(canonicalIp('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
  });

  it('format(parse(x)) is stable for any IPv6 spelling (property)', () => {
    fc.assert(
      fc.property(ipv6Spelling, ({ bytes, text }) => {
        const parsed = parseIPv6(text);
        expect(parsed, text).toEqual(bytes);
        const canonical = formatIPv6(parsed!);
        expect(canonicalIp(canonical)).toBe(canonical);
        expect(canonical).toBe(canonical.toLowerCase());
        expect(canonical).not.toMatch(/(^|:)0[0-9a-f]/); // §4.1
      }),
    );
  });

  it('parse(format(bytes)) gives the bytes back, IPv4 and IPv6 (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        expect(parseIPv4(formatIPv4(b))).toEqual(b);
        expect(parseIp(formatIp({ family: 'IPv4', bytes: b }))).toEqual({ family: 'IPv4', bytes: b });
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(parseIPv6(formatIPv6(b))).toEqual(b);
        expect(parseIp(formatIp({ family: 'IPv6', bytes: b }))).toEqual({ family: 'IPv6', bytes: b });
      }),
    );
  });

  it('formats at an offset (for decoding from a larger buffer)', () => {
    const buf = Uint8Array.from([9, 9, 192, 0, 2, 1]);
    expect(formatIPv4(buf, 2)).toBe('192.0.2.1');
  });
});

describe('IPv4-mapped IPv6', () => {
  it('unmaps to the IPv4 address in any spelling; other addresses unchanged', () => {
    expect(unmapIPv4(parseIp('::ffff:127.0.0.1')!)).toEqual(parseIp('127.0.0.1'));
    expect(unmapIPv4(parseIp('::ffff:7f00:1')!)).toEqual(parseIp('127.0.0.1'));
    expect(unmapIPv4(parseIp('::127.0.0.1')!)).toEqual(parseIp('::127.0.0.1')); // IPv4-compatible is not mapped
    expect(unmapIPv4(parseIp('2001:db8::1')!)).toEqual(parseIp('2001:db8::1'));
    expect(unmapAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(unmapAddress('::FFFF:7F00:1')).toBe('127.0.0.1');
    expect(unmapAddress('0:0:0:0:0:ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(unmapAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(unmapAddress('unknown')).toBe('unknown');
    expect(unmapAddress('')).toBe('');
  });

  it('sameIp: spelling and the mapped form do not matter', () => {
    expect(sameIp('::ffff:192.0.2.1', '192.0.2.1')).toBe(true);
    expect(sameIp('2001:DB8::1', '2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(sameIp('192.0.2.1', '192.0.2.2')).toBe(false);
    expect(sameIp('::c000:201', '192.0.2.1')).toBe(false);
    expect(sameIp('Example.com', 'example.COM')).toBe(true);
    expect(sameIp('example.com', '192.0.2.1')).toBe(false);
  });
});

describe('the wildcard address', () => {
  it('is 0.0.0.0 or :: in any spelling, and nothing else', () => {
    for (const w of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0', '0::', '::%eth0']) expect(isWildcard(w), w).toBe(true);
    for (const n of ['127.0.0.1', '::1', '::ffff:0.0.0.0', '0.0.0.1', '', 'any', '0']) expect(isWildcard(n), n).toBe(false);
    expect(isWildcard(parseIp('::')!)).toBe(true);
  });
});

describe('host:port', () => {
  it('formats IPv6 hosts in brackets', () => {
    expect(formatHostPort('2001:db8::1', 5)).toBe('[2001:db8::1]:5');
    expect(formatHostPort('192.0.2.1', 3478)).toBe('192.0.2.1:3478');
    expect(formatHostPort('example.com', 443)).toBe('example.com:443');
  });

  it('parses "host:port" and "[v6]:port", refuses the rest', () => {
    expect(parseHostPort('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(parseHostPort('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseHostPort('example.com:65535')).toEqual({ host: 'example.com', port: 65535 });
    for (const bad of ['::1:7000', 'example.com', 'example.com:65536', ':80', '[::1]', '[::1]:', 'a b:80', '[::1]:123456']) {
      expect(parseHostPort(bad), bad).toBeUndefined();
    }
  });

  it('round-trips hosts and ports (property)', () => {
    const host = fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b)),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b)),
      fc.domain(),
    );
    fc.assert(
      fc.property(host, fc.integer({ min: 0, max: 65535 }), (h, port) => {
        expect(parseHostPort(formatHostPort(h, port))).toEqual({ host: h, port });
      }),
    );
  });

  it('finds the IP in "ip", "[v6]", "ip:port" and "[v6]:port"', () => {
    expect(ipOf('192.0.2.1:3478')).toBe('192.0.2.1');
    expect(ipOf('[2001:db8::1]:3478')).toBe('2001:db8::1');
    expect(ipOf('[2001:db8::1]')).toBe('2001:db8::1');
    expect(ipOf('2001:db8::1')).toBe('2001:db8::1');
    expect(ipOf('[fe80::1%eth0]:3478')).toBe('fe80::1%eth0');
    expect(ipOf('example.com:3478')).toBeUndefined();
    expect(ipOf('[example.com]:3478')).toBeUndefined();
    expect(ipOf('[2001:db8::1]:x')).toBeUndefined();
  });
});

describe('CIDR text', () => {
  it('reads single addresses and blocks, with the prefix range of the family', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ ip: parseIp('10.0.0.0'), prefix: 8 });
    expect(parseCidr(' 2001:db8::/32 ')).toEqual({ ip: parseIp('2001:db8::'), prefix: 32 });
    expect(parseCidr('192.0.2.1')?.prefix).toBe(32);
    expect(parseCidr('::1')?.prefix).toBe(128);
    expect(parseCidr('0.0.0.0/0')?.prefix).toBe(0);
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/x', '/8', 'example.com/8', '10.0.0.0/0008']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
});
