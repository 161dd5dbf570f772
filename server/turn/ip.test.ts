import { describe, expect, it } from 'vitest';
import { canonicalIp, formatTransportAddress, hostOf, isWildcard, parseIp } from './ip.js';

describe('ip helpers', () => {
  it('spells addresses canonically (RFC 5952)', () => {
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('::ffff:192.0.2.1')).toBe('::ffff:c000:201');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalIp('nope')).toBeUndefined();
    expect(parseIp('::')?.bytes).toEqual(new Uint8Array(16));
  });

  it('finds wildcards and hosts', () => {
    expect(isWildcard('0.0.0.0')).toBe(true);
    expect(isWildcard('::')).toBe(true);
    expect(isWildcard('127.0.0.1')).toBe(false);
    expect(hostOf('192.0.2.1:3478')).toBe('192.0.2.1');
    expect(hostOf('[2001:db8::1]:3478')).toBe('2001:db8::1');
    expect(hostOf('2001:db8::1')).toBe('2001:db8::1');
    expect(hostOf('example.com:3478')).toBeUndefined();
    expect(formatTransportAddress('2001:db8::1', 5)).toBe('[2001:db8::1]:5');
  });
});
