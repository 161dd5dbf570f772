import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encodeFrame, ProtocolError } from './frame.js';
import { decodeMessage, encodeMessage, MessageDecoder, MessageType, type Message } from './messages.js';
import { p2pArbitraries, p2pExamples, type P2pMessageName } from './p2p-messages.fixtures.js';

// The round-trip, chunking, random-byte and mutation properties run over these messages in
// messages.test.ts with every other type; here: what is particular to P2P signalling.

const utf8 = new TextEncoder();
const frame = (type: P2pMessageName, body: unknown) => ({ type: MessageType[type], payload: utf8.encode(JSON.stringify(body)) });

function badField(type: P2pMessageName, body: unknown): string {
  try {
    decodeMessage(frame(type, body));
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('bad-payload');
    return (err as ProtocolError).message;
  }
  throw new Error(`${type} ${JSON.stringify(body)} was accepted`);
}

describe('P2P signalling messages', () => {
  it('every example round-trips through the frame decoder', () => {
    for (const list of Object.values(p2pExamples)) {
      for (const m of list as Message[]) expect(new MessageDecoder().push(encodeMessage(m))).toEqual([m]);
    }
  });

  it('arbitrary valid P2P messages round-trip', () => {
    const arb = fc.oneof(...(Object.values(p2pArbitraries) as fc.Arbitrary<Message>[]));
    fc.assert(
      fc.property(arb, (m) => {
        const bytes = encodeMessage(m);
        expect(decodeMessage({ type: bytes[1]!, payload: bytes.subarray(6) })).toEqual(m);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses candidates that are not an IP address and port, naming the field', () => {
    const offer = { ...p2pExamples.P2pOffer[0]! } as Record<string, unknown>;
    delete offer.type;
    const withCandidate = (c: unknown) => ({ ...offer, candidates: [c] });
    for (const [c, field] of [
      [{ type: 'host', ip: 'nas.local', port: 1 }, 'candidates.0.ip'],
      [{ type: 'host', ip: '10.0.0.1:22', port: 1 }, 'candidates.0.ip'],
      [{ type: 'host', ip: '10.0.0.1', port: 0 }, 'candidates.0.port'],
      [{ type: 'host', ip: '10.0.0.1', port: 65536 }, 'candidates.0.port'],
      [{ type: 'relay', ip: '10.0.0.1', port: 1 }, 'candidates.0.type'],
      [{ ip: '10.0.0.1', port: 1 }, 'candidates.0.type'],
    ] as const) {
      const message = badField('P2pOffer', withCandidate(c));
      expect(message).toContain('P2pOffer');
      expect(message).toContain(field);
    }
    const tooMany = Array.from({ length: 17 }, (_, i) => ({ type: 'host', ip: `10.0.0.${i + 1}`, port: 1 }));
    expect(badField('P2pOffer', { ...offer, candidates: tooMany })).toContain('candidates');
  });

  it('refuses a NAT report, nonce, session id, time or path out of its range', () => {
    const answer = { ...p2pExamples.P2pAnswer[0]!, type: undefined };
    expect(badField('P2pAnswer', { ...answer, nat: { ...answer.nat, mapping: 'symmetric' } })).toContain('nat.mapping');
    expect(badField('P2pAnswer', { ...answer, nat: { mapping: 'unknown', filtering: 'unknown' } })).toContain('nat.portAllocation');
    expect(badField('P2pAnswer', { ...answer, nonce: 'abc' })).toContain('nonce');
    expect(badField('P2pStart', { sessionId: answer.sessionId.toUpperCase(), startAt: 1, serverTime: 1 })).toContain('sessionId');
    expect(badField('P2pStart', { sessionId: answer.sessionId, startAt: -1, serverTime: 1 })).toContain('startAt');
    expect(badField('P2pStart', { sessionId: answer.sessionId, startAt: 1 })).toContain('serverTime');
    expect(badField('P2pResult', { sessionId: answer.sessionId, path: 'turn' })).toContain('path');
    expect(badField('P2pResult', { sessionId: answer.sessionId, path: 'direct', rttMs: 1.5 })).toContain('rttMs');
  });

  it('have their own frame types after the relay protocol', () => {
    expect([MessageType.P2pOffer, MessageType.P2pAnswer, MessageType.P2pStart, MessageType.P2pResult, MessageType.P2pRefused]).toEqual([17, 18, 19, 20, 21]);
    const bytes = encodeMessage(p2pExamples.P2pStart[0]!);
    expect(bytes[1]).toBe(19);
    expect(encodeFrame(19, bytes.subarray(6))).toEqual(bytes);
  });
});
