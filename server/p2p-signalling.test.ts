import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { p2pOfferProof, secretTunnelKey } from '../io/auth-proof.js';
import type { Message, MessageOf } from '../shared/protocol/messages.js';
import { P2pSignalling, type SignalPeer, type SignalTarget } from './p2p-signalling.js';

const KEY = secretTunnelKey('correct horse battery', 'nas');
const NAT = { mapping: 'endpoint-independent', filtering: 'endpoint-independent', portAllocation: 'preserved' } as const;

class Peer implements SignalPeer {
  readonly got: Message[] = [];
  constructor(
    readonly clientId: string,
    readonly sessionId: string,
  ) {}
  send(m: Message): boolean {
    this.got.push(m);
    return true;
  }
}

function setup(targets: Record<string, SignalTarget> = { nas: { type: 'p2p', clientId: 'owner', secretKey: KEY } }) {
  let now = 1_700_000_000_000;
  const owner = new Peer('owner', 'aa'.repeat(16));
  const visitor = new Peer('laptop', 'bb'.repeat(16));
  const stranger = new Peer('stranger', 'cc'.repeat(16));
  const peers = new Map([owner, visitor, stranger].map((p) => [p.clientId, p]));
  const signalling = new P2pSignalling({
    target: (n) => targets[n],
    sessionOf: (id) => peers.get(id),
    now: () => now,
    logger: pino({ level: 'silent' }),
    maxPendingPerSession: 2,
  });
  const offer = (from: Peer, overrides: Partial<MessageOf<'P2pOffer'>> = {}, key = KEY): MessageOf<'P2pOffer'> => {
    const sessionId = overrides.sessionId ?? '11'.repeat(16);
    const nonce = '22'.repeat(16);
    return { type: 'P2pOffer', tunnel: 'nas', sessionId, nonce, secretProof: p2pOfferProof(key, from.sessionId, sessionId, nonce), candidates: [{ type: 'host', ip: '10.0.0.2', port: 4000 }], nat: NAT, ...overrides };
  };
  const answer = (sessionId = '11'.repeat(16)): MessageOf<'P2pAnswer'> => ({ type: 'P2pAnswer', sessionId, nonce: '33'.repeat(16), candidates: [], nat: NAT });
  return { signalling, owner, visitor, stranger, offer, answer, advance: (ms: number) => (now += ms), now: () => now };
}

describe('P2P signalling on the server', () => {
  it('forwards an offer with a valid proof to the owner without the proof, the answer back, and one start time to both', () => {
    const { signalling, owner, visitor, offer, answer, now } = setup();
    signalling.offer(visitor, offer(visitor));
    expect(owner.got).toHaveLength(1);
    const forwarded = owner.got[0] as MessageOf<'P2pOffer'>;
    expect(forwarded.type).toBe('P2pOffer');
    expect(forwarded.secretProof).toBeUndefined();
    expect(forwarded.candidates).toEqual([{ type: 'host', ip: '10.0.0.2', port: 4000 }]);
    signalling.answer(owner, answer());
    expect(visitor.got.map((m) => m.type)).toEqual(['P2pAnswer', 'P2pStart']);
    const starts = [visitor.got[1], owner.got[1]] as MessageOf<'P2pStart'>[];
    expect(starts[0]).toEqual(starts[1]);
    expect(starts[0]!.serverTime).toBe(now());
    expect(starts[0]!.startAt).toBe(now() + 100);
  });

  it('refuses a wrong secret, an unknown tunnel and a secret (not p2p) tunnel, and forwards none of them', () => {
    const { signalling, owner, visitor, offer } = setup({
      nas: { type: 'p2p', clientId: 'owner', secretKey: KEY },
      db: { type: 'secret', clientId: 'owner', secretKey: KEY },
    });
    signalling.offer(visitor, offer(visitor, {}, secretTunnelKey('wrong secret!', 'nas')));
    signalling.offer(visitor, offer(visitor, { tunnel: 'nope', sessionId: '44'.repeat(16) }));
    signalling.offer(visitor, offer(visitor, { tunnel: 'db', sessionId: '55'.repeat(16) }));
    const noProof = offer(visitor, { sessionId: '66'.repeat(16) });
    delete noProof.secretProof;
    signalling.offer(visitor, noProof);
    expect(owner.got).toEqual([]);
    expect(visitor.got.map((m) => (m as MessageOf<'P2pRefused'>).reason)).toEqual([
      'wrong secret for p2p tunnel "nas"',
      'no p2p tunnel named "nope" on this server',
      'no p2p tunnel named "db" on this server',
      'wrong secret for p2p tunnel "nas"',
    ]);
  });

  it('a proof made for another control session is refused (no replay from another client)', () => {
    const { signalling, owner, visitor, stranger, offer } = setup();
    const replay = offer(visitor); // proof bound to the visitor's session
    signalling.offer(stranger, replay);
    expect(owner.got).toEqual([]);
    expect(stranger.got[0]?.type).toBe('P2pRefused');
  });

  it('ignores an answer from anyone but the owner the offer went to', () => {
    const { signalling, owner, visitor, stranger, offer, answer } = setup();
    signalling.offer(visitor, offer(visitor));
    signalling.answer(stranger, answer());
    expect(visitor.got).toEqual([]);
    signalling.answer(owner, answer());
    expect(visitor.got.map((m) => m.type)).toEqual(['P2pAnswer', 'P2pStart']);
    signalling.answer(owner, answer()); // once only
    expect(visitor.got).toHaveLength(2);
  });

  it('limits unanswered attempts per session and forgets them after the time-to-live', () => {
    const { signalling, owner, visitor, offer, advance } = setup();
    for (const id of ['01', '02', '03']) signalling.offer(visitor, offer(visitor, { sessionId: id.repeat(16) }));
    expect(owner.got).toHaveLength(2);
    expect((visitor.got[0] as MessageOf<'P2pRefused'>).reason).toMatch(/too many punch attempts/);
    advance(10_001);
    signalling.offer(visitor, offer(visitor, { sessionId: '04'.repeat(16) }));
    expect(owner.got).toHaveLength(3);
  });

  it('records results of started attempts only, from their two parties', () => {
    const { signalling, owner, visitor, stranger, offer, answer } = setup();
    signalling.offer(visitor, offer(visitor));
    signalling.answer(owner, answer());
    const id = '11'.repeat(16);
    signalling.result(visitor, { type: 'P2pResult', sessionId: id, path: 'direct', rttMs: 2, durationMs: 40 });
    signalling.result(stranger, { type: 'P2pResult', sessionId: id, path: 'relay' });
    signalling.result(owner, { type: 'P2pResult', sessionId: '99'.repeat(16), path: 'relay' });
    expect(signalling.results()).toEqual([expect.objectContaining({ tunnel: 'nas', from: 'visitor', path: 'direct', rttMs: 2, durationMs: 40 })]);
  });
});
