import { describe, it, expect } from 'vitest';
import type { P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import { chooseStrategy, natKind } from './strategy.js';

const r = (mapping: P2pNatReport['mapping'], filtering: P2pNatReport['filtering']): P2pNatReport => ({ mapping, filtering, portAllocation: 'unknown' });
const full = r('endpoint-independent', 'endpoint-independent');
const restricted = r('endpoint-independent', 'address-dependent');
const portRestricted = r('endpoint-independent', 'address-and-port-dependent');
const symmetric = r('address-and-port-dependent', 'address-and-port-dependent');
const addressDependentMapping = r('address-dependent', 'address-and-port-dependent');
const unknown = r('unknown', 'unknown');

describe('chooseStrategy', () => {
  it('names the kind of each report', () => {
    expect([full, restricted, portRestricted, symmetric, addressDependentMapping, unknown].map(natKind)).toEqual([
      'full cone',
      'restricted cone',
      'port-restricted cone',
      'symmetric',
      'symmetric',
      'unknown',
    ]);
  });

  it('cone × cone: simultaneous probes', () => {
    for (const a of [full, restricted, portRestricted]) for (const b of [full, restricted, portRestricted]) expect(chooseStrategy(a, b)).toMatchObject({ path: 'direct', mode: 'simultaneous' });
  });

  it('symmetric × full or restricted cone: the cone side learns the port, from either side', () => {
    for (const cone of [full, restricted]) {
      expect(chooseStrategy(symmetric, cone)).toMatchObject({ path: 'direct', mode: 'symmetric-to-cone' });
      expect(chooseStrategy(cone, symmetric)).toMatchObject({ path: 'direct', mode: 'learn-peer-port' });
    }
  });

  it('symmetric × port-restricted and symmetric × symmetric: relay at once, saying why', () => {
    for (const [a, b] of [[symmetric, portRestricted], [portRestricted, symmetric], [symmetric, symmetric], [addressDependentMapping, portRestricted]] as const) {
      const s = chooseStrategy(a, b);
      expect(s.path).toBe('relay');
      expect(s.reason).toContain('symmetric');
    }
  });

  it('an unclassified NAT: try simultaneous probes (the relay follows a failure)', () => {
    expect(chooseStrategy(unknown, symmetric)).toMatchObject({ path: 'direct', mode: 'simultaneous' });
    expect(chooseStrategy(unknown, symmetric).reason).toContain('could not be classified');
  });
});
