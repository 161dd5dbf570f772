/**
 * Test data for the P2P control messages (p2p-messages.ts): one realistic example per type and a
 * fast-check arbitrary per type, used by messages.test.ts (so that the round-trip, chunking and
 * mutation properties cover them like every other message) and by p2p-messages.test.ts.
 */
import fc from 'fast-check';
import type { MessageOf } from './messages.js';

export type P2pMessageName = 'P2pOffer' | 'P2pAnswer' | 'P2pStart' | 'P2pRefused' | 'P2pResult';

const HEX16 = '0123456789abcdef0123456789abcdef';
const HEX16B = 'fedcba9876543210fedcba9876543210';
const HEX32 = 'a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3';

export const p2pExamples: { [K in P2pMessageName]: MessageOf<K>[] } = {
  P2pOffer: [
    {
      type: 'P2pOffer',
      tunnel: 'nas-ssh',
      sessionId: HEX16,
      nonce: HEX16B,
      secretProof: HEX32,
      candidates: [
        { type: 'host', ip: '192.168.1.20', port: 41000 },
        { type: 'host', ip: 'fe80::1c2b:3ff:fe4d:5e6f', port: 41000 },
        { type: 'srflx', ip: '203.0.113.10', port: 41000 },
      ],
      nat: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', portAllocation: 'preserved' },
    },
    // as forwarded by the server: no proof; a side that found no candidates
    {
      type: 'P2pOffer',
      tunnel: 'nas-ssh',
      sessionId: HEX16,
      nonce: HEX16B,
      candidates: [],
      nat: { mapping: 'unknown', filtering: 'unknown', portAllocation: 'unknown' },
    },
  ],
  P2pAnswer: [
    {
      type: 'P2pAnswer',
      sessionId: HEX16,
      nonce: HEX16,
      candidates: [
        { type: 'host', ip: '10.0.2.2', port: 50000 },
        { type: 'srflx', ip: '203.0.113.20', port: 18508 },
      ],
      nat: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', portAllocation: 'random' },
    },
  ],
  P2pStart: [{ type: 'P2pStart', sessionId: HEX16, startAt: 1_718_000_000_350, serverTime: 1_718_000_000_000 }],
  P2pRefused: [{ type: 'P2pRefused', sessionId: HEX16, reason: 'wrong secret for p2p tunnel "nas-ssh"' }],
  P2pResult: [
    { type: 'P2pResult', sessionId: HEX16, path: 'direct', rttMs: 3, durationMs: 41 },
    { type: 'P2pResult', sessionId: HEX16, path: 'relay', reason: 'symmetric NAT facing a port-restricted cone: relay at once' },
  ],
};

const hexArb = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));
const behaviourArb = fc.constantFrom('endpoint-independent' as const, 'address-dependent' as const, 'address-and-port-dependent' as const, 'unknown' as const);
const natArb = fc.record({
  mapping: behaviourArb,
  filtering: behaviourArb,
  portAllocation: fc.constantFrom('preserved' as const, 'sequential' as const, 'random' as const, 'unknown' as const),
});
const candidateArb = fc.record({
  type: fc.constantFrom('host' as const, 'srflx' as const),
  ip: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.integer({ min: 1, max: 65535 }),
});
const candidatesArb = fc.array(candidateArb, { maxLength: 16 });
const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const nameArb = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 64 });

export const p2pArbitraries: { [K in P2pMessageName]: fc.Arbitrary<MessageOf<K>> } = {
  P2pOffer: fc.record(
    {
      type: fc.constant('P2pOffer' as const),
      tunnel: nameArb,
      sessionId: hexArb(16),
      nonce: hexArb(16),
      secretProof: hexArb(32),
      candidates: candidatesArb,
      nat: natArb,
    },
    { requiredKeys: ['type', 'tunnel', 'sessionId', 'nonce', 'candidates', 'nat'] },
  ),
  P2pAnswer: fc.record({ type: fc.constant('P2pAnswer' as const), sessionId: hexArb(16), nonce: hexArb(16), candidates: candidatesArb, nat: natArb }),
  P2pStart: fc.record({ type: fc.constant('P2pStart' as const), sessionId: hexArb(16), startAt: fc.maxSafeNat(), serverTime: fc.maxSafeNat() }),
  P2pRefused: fc.record({ type: fc.constant('P2pRefused' as const), sessionId: hexArb(16), reason: fc.string({ maxLength: 256 }) }),
  P2pResult: fc.record(
    {
      type: fc.constant('P2pResult' as const),
      sessionId: hexArb(16),
      path: fc.constantFrom('direct' as const, 'relay' as const),
      reason: fc.string({ maxLength: 256 }),
      rttMs: fc.maxSafeNat(),
      durationMs: fc.maxSafeNat(),
    },
    { requiredKeys: ['type', 'sessionId', 'path'] },
  ),
};
