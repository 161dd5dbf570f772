import { describe, it, expect } from 'vitest';
import { AccessList } from './access-list.js';

describe('AccessList', () => {
  it('allows everyone when there are no lists (undefined or empty)', () => {
    for (const list of [new AccessList(), new AccessList([], []), new AccessList(undefined, [])]) {
      expect(list.allows('203.0.113.1')).toBe(true);
      expect(list.allows('2001:db8::1')).toBe(true);
      expect(list.allows('::ffff:10.0.0.1')).toBe(true);
    }
  });

  it('with an allow list, only listed sources get in', () => {
    const list = new AccessList(['192.0.2.7']);
    expect(list.allows('192.0.2.7')).toBe(true);
    expect(list.allows('192.0.2.8')).toBe(false);
    expect(list.allows('2001:db8::1')).toBe(false);
  });

  it('matches IPv4 CIDR blocks at their boundaries', () => {
    const list = new AccessList(['10.1.0.0/16', '192.168.1.128/25']);
    expect(list.allows('10.1.0.0')).toBe(true);
    expect(list.allows('10.1.255.255')).toBe(true);
    expect(list.allows('10.2.0.0')).toBe(false);
    expect(list.allows('10.0.255.255')).toBe(false);
    expect(list.allows('192.168.1.128')).toBe(true);
    expect(list.allows('192.168.1.255')).toBe(true);
    expect(list.allows('192.168.1.127')).toBe(false);
  });

  it('matches IPv6 CIDR blocks and single addresses in any spelling', () => {
    const list = new AccessList(['2001:db8:abcd::/48', '::1']);
    expect(list.allows('2001:db8:abcd:1::42')).toBe(true);
    expect(list.allows('2001:DB8:ABCD:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(list.allows('2001:db8:abce::1')).toBe(false);
    expect(list.allows('0:0:0:0:0:0:0:1')).toBe(true);
    expect(list.allows('::2')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 sources as their IPv4 address', () => {
    const list = new AccessList(['127.0.0.0/8'], ['127.0.0.99']);
    expect(list.allows('::ffff:127.0.0.1')).toBe(true);
    expect(list.allows('::FFFF:127.1.2.3')).toBe(true);
    expect(list.allows('::ffff:7f00:1')).toBe(true); // hex spelling of 127.0.0.1
    expect(list.allows('0:0:0:0:0:ffff:127.0.0.1')).toBe(true);
    expect(list.allows('::ffff:127.0.0.99')).toBe(false); // denied via the mapped form too
    expect(list.allows('::ffff:10.0.0.1')).toBe(false);
  });

  it('treats IPv4-mapped entries as IPv4 entries', () => {
    const list = new AccessList(['::ffff:192.0.2.1', '::ffff:10.0.0.0/104']);
    expect(list.allows('192.0.2.1')).toBe(true);
    expect(list.allows('10.200.0.1')).toBe(true); // /104 mapped = /8
    expect(list.allows('11.0.0.1')).toBe(false);
  });

  it('keeps families apart: "::/0" denies IPv6 peers only, "0.0.0.0/0" IPv4 peers only', () => {
    const noV6 = new AccessList(undefined, ['::/0']);
    expect(noV6.allows('2001:db8::1')).toBe(false);
    expect(noV6.allows('203.0.113.5')).toBe(true);
    expect(noV6.allows('::ffff:203.0.113.5')).toBe(true);
    const noV4 = new AccessList(undefined, ['0.0.0.0/0']);
    expect(noV4.allows('203.0.113.5')).toBe(false);
    expect(noV4.allows('::ffff:203.0.113.5')).toBe(false);
    expect(noV4.allows('2001:db8::1')).toBe(true);
  });

  it('deny beats allow', () => {
    const list = new AccessList(['10.0.0.0/8', '2001:db8::/32'], ['10.9.0.0/16', '10.1.2.3', '2001:db8:bad::/48']);
    expect(list.allows('10.1.2.4')).toBe(true);
    expect(list.allows('10.1.2.3')).toBe(false);
    expect(list.allows('10.9.8.7')).toBe(false);
    expect(list.allows('2001:db8:1::1')).toBe(true);
    expect(list.allows('2001:db8:bad::1')).toBe(false);
    const both = new AccessList(['192.0.2.1'], ['192.0.2.1']);
    expect(both.allows('192.0.2.1')).toBe(false);
  });

  it('a deny list alone leaves everyone else allowed', () => {
    const list = new AccessList(undefined, ['198.51.100.0/24']);
    expect(list.allows('198.51.100.77')).toBe(false);
    expect(list.allows('198.51.101.1')).toBe(true);
  });

  it('ignores IPv6 zone ids and surrounding whitespace', () => {
    const list = new AccessList([' fe80::/10 ']);
    expect(list.allows('fe80::1%eth0')).toBe(true);
    expect(list.allows('fe80::1')).toBe(true);
  });

  it('refuses sources that are not IP addresses', () => {
    const list = new AccessList();
    expect(list.allows('')).toBe(false);
    expect(list.allows('localhost')).toBe(false);
    expect(list.allows('1.2.3')).toBe(false);
  });

  it('throws a clear error for malformed entries', () => {
    const cases = [
      'example.com',
      '10.0.0.0/33',
      '2001:db8::/129',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0.0/-1',
      '10.0.0.0/x',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3',
      '',
      '::ffff:10.0.0.0/90',
      '2001:db8:::1',
    ];
    for (const entry of cases) {
      expect(() => new AccessList([entry]), entry).toThrow(new Error(`bad address or CIDR "${entry}"`));
      expect(() => new AccessList(undefined, [entry]), entry).toThrow(`bad address or CIDR "${entry}"`);
    }
    expect(() => new AccessList(['10.0.0.0/8', 'nope'])).toThrow('bad address or CIDR "nope"');
  });

  it('accepts the boundary prefixes /0 and /32, /128', () => {
    expect(new AccessList(['0.0.0.0/0']).allows('8.8.8.8')).toBe(true);
    const exact = new AccessList(['192.0.2.1/32', '2001:db8::1/128']);
    expect(exact.allows('192.0.2.1')).toBe(true);
    expect(exact.allows('192.0.2.2')).toBe(false);
    expect(exact.allows('2001:db8::1')).toBe(true);
    expect(exact.allows('2001:db8::2')).toBe(false);
  });
});
