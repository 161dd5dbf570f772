import { describe, expect, it } from 'vitest';
import { ConfiguredRelayAddresses } from './relay-addresses.js';

const local4 = { family: 'IPv4' as const, address: '0.0.0.0', port: 3478 };

describe('ConfiguredRelayAddresses', () => {
  it('binds one relay IP per family and names the ignored second one', () => {
    const ignored: string[] = [];
    const a = new ConfiguredRelayAddresses({ relayIps: ['192.0.2.1', '192.0.2.2', '2001:db8::1'], interfaces: () => [], onIgnored: (ip) => ignored.push(ip) });
    expect(a.bindIp('IPv4')).toBe('192.0.2.1');
    expect(a.bindIp('IPv6')).toBe('2001:db8::1');
    expect(ignored).toEqual(['192.0.2.2']);
    expect(() => new ConfiguredRelayAddresses({ relayIps: ['relay.example'], interfaces: () => [] })).toThrow(/not an IP address/);
  });

  it('advertises externalIp, else the relay IP, else (wildcard) the address reached, else an interface address', () => {
    const interfaces = [
      { address: '127.0.0.1', internal: true },
      { address: 'fe80::1', internal: false },
      { address: '2001:db8::7', internal: false },
      { address: '198.51.100.9', internal: false },
    ];
    expect(new ConfiguredRelayAddresses({ relayIps: ['192.0.2.1'], externalIp: '203.0.113.1', interfaces: () => interfaces }).advertisedIp('IPv4', local4)).toBe('203.0.113.1');
    expect(new ConfiguredRelayAddresses({ relayIps: ['192.0.2.1'], interfaces: () => interfaces }).advertisedIp('IPv4', local4)).toBe('192.0.2.1');
    const wildcard = new ConfiguredRelayAddresses({ relayIps: ['0.0.0.0', '::'], interfaces: () => interfaces });
    expect(wildcard.advertisedIp('IPv4', { ...local4, address: '192.0.2.50' })).toBe('192.0.2.50');
    expect(wildcard.advertisedIp('IPv4', local4)).toBe('198.51.100.9');
    expect(wildcard.advertisedIp('IPv6', local4)).toBe('2001:db8::7');
    expect(new ConfiguredRelayAddresses({ relayIps: ['0.0.0.0'], interfaces: () => [] }).advertisedIp('IPv4', local4)).toBe('127.0.0.1');
  });
});
