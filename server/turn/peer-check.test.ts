import { describe, expect, it } from 'vitest';
import { Allocation } from './allocation.js';
import { checkPeer } from './peer-check.js';
import { PeerPolicy } from './peer-policy.js';

const alloc = new Allocation(
  {
    id: 1,
    clientKey: 'k',
    protocol: 'udp',
    clientAddress: '192.0.2.1:4000',
    username: 'alice',
    quotaKey: 'alice',
    transport: 'udp',
    relayed: [{ family: 'IPv4', address: '198.51.100.1', port: 50000 }],
    lifetimeMs: 600_000,
  },
  0,
);
const policy = new PeerPolicy({ denyPeers: ['203.0.113.66'] });

describe('checkPeer', () => {
  it('accepts an allowed peer and gives its canonical address', () => {
    expect(checkPeer({ family: 'IPv4', address: '203.0.113.5', port: 80 }, alloc, policy, { port: true })).toEqual({ kind: 'ok', peer: { family: 'IPv4', address: '203.0.113.5', port: 80 } });
  });

  it('400 for a missing address, a family that does not match the address, or port 0 where the port matters', () => {
    expect(checkPeer(undefined, alloc, policy, { port: true })).toEqual({ kind: 'bad' });
    expect(checkPeer({ family: 'IPv6', address: '203.0.113.5', port: 80 }, alloc, policy, { port: true })).toEqual({ kind: 'bad' });
    expect(checkPeer({ family: 'IPv4', address: '203.0.113.5', port: 0 }, alloc, policy, { port: true })).toEqual({ kind: 'bad' });
    // CreatePermission ignores the port (RFC 8656 §9.2).
    expect(checkPeer({ family: 'IPv4', address: '203.0.113.5', port: 0 }, alloc, policy, { port: false }).kind).toBe('ok');
  });

  it('443 for a family the allocation does not relay, 403 for a refused peer', () => {
    expect(checkPeer({ family: 'IPv6', address: '2001:db8::5', port: 80 }, alloc, policy, { port: true })).toEqual({ kind: 'family-mismatch' });
    expect(checkPeer({ family: 'IPv4', address: '203.0.113.66', port: 80 }, alloc, policy, { port: true })).toMatchObject({ kind: 'forbidden', ip: '203.0.113.66' });
    expect(checkPeer({ family: 'IPv4', address: '10.0.0.1', port: 80 }, alloc, policy, { port: false })).toMatchObject({ kind: 'forbidden' });
  });
});
