import { describe, expect, it } from 'vitest';
import { effectiveKind, p2pPath, p2pVerdict, PEER_KINDS, type PeerKind } from './nat-verdict.js';

describe('p2pPath: the strategy table by NAT pair (issue 9)', () => {
  it('relay exactly for symmetric × port-restricted and symmetric × symmetric, direct for every other pair, either order', () => {
    const relay = new Set(['symmetric|symmetric', 'symmetric|port-restricted cone', 'port-restricted cone|symmetric']);
    for (const a of PEER_KINDS) for (const b of PEER_KINDS) expect(p2pPath(a, b), `${a} × ${b}`).toBe(relay.has(`${a}|${b}`) ? 'relay' : 'direct');
  });

  it('an unclassified side: unknown', () => {
    expect(p2pPath('unknown', 'full cone')).toBe('unknown');
    expect(p2pPath('symmetric', 'unknown')).toBe('unknown');
  });
});

describe('effectiveKind', () => {
  it('no NAT behind a filtering firewall punches like the cone with that filtering', () => {
    expect(effectiveKind({ classicName: 'open internet', filtering: 'endpoint-independent' })).toBe('open internet');
    expect(effectiveKind({ classicName: 'open internet', filtering: 'address-dependent' })).toBe('restricted cone');
    expect(effectiveKind({ classicName: 'open internet', filtering: 'address-and-port-dependent' })).toBe('port-restricted cone');
    expect(effectiveKind({ classicName: 'open internet', filtering: 'unknown' })).toBe('unknown');
    expect(effectiveKind({ classicName: 'symmetric', filtering: 'endpoint-independent' })).toBe('symmetric');
  });
});

describe('p2pVerdict', () => {
  const v = (classicName: PeerKind | 'unknown', more: Partial<Parameters<typeof p2pVerdict>[0]> = {}): string =>
    p2pVerdict({ classicName, filtering: 'endpoint-independent', portAllocation: 'preserved', portDelta: 0, ...more });

  it('names who gets direct paths and who needs the relay', () => {
    expect(v('full cone')).toBe('A full cone NAT: direct peer-to-peer paths work with every kind of peer.');
    expect(v('restricted cone')).toBe('A restricted cone NAT: direct peer-to-peer paths work with every kind of peer.');
    expect(v('port-restricted cone')).toMatch(
      /^A port-restricted cone NAT: direct peer-to-peer paths work with no-NAT, full cone, restricted cone and port-restricted cone peers; with symmetric peers traffic goes through the relay\. /,
    );
    expect(v('symmetric', { portAllocation: 'random', portDelta: 12345 })).toMatch(
      /^A symmetric NAT: direct peer-to-peer paths work with no-NAT, full cone and restricted cone peers; with port-restricted cone and symmetric peers traffic goes through the relay\. .*random here, so they cannot be predicted/,
    );
    expect(v('symmetric', { portAllocation: 'sequential', portDelta: 1 })).toMatch(/sequentially here, step 1, so they could be predicted/);
  });

  it('no NAT: every peer; with a firewall: like the cone it filters like', () => {
    expect(v('open internet')).toBe('No NAT: direct peer-to-peer paths work with every kind of peer.');
    expect(v('open internet', { filtering: 'address-and-port-dependent' })).toMatch(/^No NAT but a filtering firewall \(like a port-restricted cone\): .*symmetric peers traffic goes through the relay/);
  });

  it('unclassified: says so', () => {
    expect(v('unknown')).toMatch(/could not be classified/);
  });
});
