import { describe, it, expect } from 'vitest';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { decodeProbe, encodeProbe, looksLikeProbe, probeKey, type ProbeContext } from '../../shared/p2p/probe.js';
import type { P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import { p2pPath } from '../stun/nat-verdict.js';
import { PunchSession, roundOffsets, DEFAULT_PUNCH_SCHEDULE, type Endpoint, type PunchEvent, type PunchSchedule, type RemoteCandidate } from './punch-session.js';
import { SimInternet, SimNat, SIM_NAT_KINDS, type SimHost, type SimNatKind } from './sim-nat.js';
import { chooseStrategy, natKind, type PunchStrategy } from './strategy.js';

const hmac = nodeStunCrypto.hmacSha256;
const SECRET = 'tunnel secret';
const STUN: Endpoint = { ip: '203.0.113.1', port: 3478 };
const START = 1000;

const REPORTS: Record<SimNatKind, P2pNatReport> = {
  none: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', portAllocation: 'preserved' },
  full: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', portAllocation: 'preserved' },
  restricted: { mapping: 'endpoint-independent', filtering: 'address-dependent', portAllocation: 'preserved' },
  'port-restricted': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', portAllocation: 'preserved' },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', portAllocation: 'random' },
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 53 + seed) & 0xff);

function probeContext(secret: string, sessionId = bytes(16, 1), offerNonce = bytes(16, 2), answerNonce = bytes(16, 3)): ProbeContext {
  return { hmac, key: probeKey(hmac, secret, sessionId), sessionId, offerNonce, answerNonce };
}

interface Peer {
  readonly kind: SimNatKind;
  readonly host: SimHost;
  readonly candidates: RemoteCandidate[];
  readonly nat: SimNat;
  session?: PunchSession;
  readonly events: { at: number; event: PunchEvent }[];
}

/** A host of this kind, numbered `n` (WAN 203.0.113.<10n>, LAN 10.0.<n>.2), with its candidates gathered. */
function makePeer(net: SimInternet, kind: SimNatKind, n: number, seed: number): Peer {
  const wan = `203.0.113.${10 * n}`;
  const local: Endpoint = kind === 'none' ? { ip: wan, port: 40000 + n } : { ip: `10.0.${n}.2`, port: 40000 + n };
  const nat = new SimNat(kind, wan, rng(seed), 30_000);
  const peer: Peer = {
    kind,
    nat,
    candidates: [],
    events: [],
    host: {
      name: `peer${n}`,
      local,
      nat,
      receive: (from, data, now) => {
        for (const d of peer.session?.handleDatagram(from, data, now) ?? []) net.sendFromHost(peer.host, d.to, d.data);
        collect(peer, now);
      },
    },
  };
  net.addHost(peer.host);
  // host candidate, and the server-reflexive one a STUN binding to the server would see
  peer.candidates.push({ type: 'host', ...local });
  const mapped = nat.outbound(local, STUN, 0);
  if (mapped.ip !== local.ip || mapped.port !== local.port) peer.candidates.push({ type: 'srflx', ...mapped });
  return peer;
}

function collect(peer: Peer, now: number): void {
  for (const event of peer.session?.takeEvents() ?? []) peer.events.push({ at: now, event });
}

function startSession(
  peer: Peer,
  other: Peer,
  role: 'offerer' | 'answerer',
  opts: { ctx?: ProbeContext; strategy?: PunchStrategy; startAt?: number; schedule?: Partial<PunchSchedule> } = {},
): PunchSession {
  peer.session = new PunchSession({
    role,
    probe: opts.ctx ?? probeContext(SECRET),
    strategy: opts.strategy ?? chooseStrategy(REPORTS[peer.kind], REPORTS[other.kind]),
    localCandidates: peer.candidates,
    remoteCandidates: other.candidates,
    startAt: opts.startAt ?? START,
    schedule: opts.schedule,
  });
  collect(peer, 0);
  return peer.session;
}

/** Runs the network and the sessions on the fake clock until `until`. */
function run(net: SimInternet, peers: Peer[], until: number): void {
  for (;;) {
    const deadlines = peers.map((p) => p.session?.nextDeadline()).filter((d): d is number => d !== undefined);
    const delivery = net.nextDelivery();
    const next = Math.min(...deadlines, delivery ?? Infinity);
    if (!Number.isFinite(next) || next > until) break;
    net.now = Math.max(net.now, next);
    net.deliverDue();
    for (const p of peers) {
      const d = p.session?.nextDeadline();
      if (d !== undefined && d <= net.now) for (const out of p.session!.handleExpiry(net.now)) net.sendFromHost(p.host, out.to, out.data);
      collect(p, net.now);
    }
  }
  net.now = until;
}

function only(peer: Peer, type: PunchEvent['type']): PunchEvent | undefined {
  return peer.events.find((e) => e.event.type === type)?.event;
}

function probesOnWire(net: SimInternet): number {
  return net.wire.filter((p) => looksLikeProbe(p.data)).length;
}

describe('roundOffsets: the retransmission schedule', () => {
  it('is every 20 ms for the first 200 ms, then doubling, within a 1 s budget', () => {
    expect(roundOffsets()).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 240, 320, 480, 800]);
    expect(DEFAULT_PUNCH_SCHEDULE.keepAliveMs).toBe(15_000);
  });
  it('follows a configured budget', () => {
    expect(roundOffsets({ ...DEFAULT_PUNCH_SCHEDULE, budgetMs: 100 })).toEqual([0, 20, 40, 60, 80]);
    expect(() => roundOffsets({ ...DEFAULT_PUNCH_SCHEDULE, fastIntervalMs: 0 })).toThrow(RangeError);
  });
});

describe('PunchSession through simulated NATs: every ordered pair of the five kinds', () => {
  for (const a of SIM_NAT_KINDS) {
    for (const b of SIM_NAT_KINDS) {
      const expected = p2pPath(natKind(REPORTS[a]), natKind(REPORTS[b]));
      it(`${a} (offerer) × ${b} (answerer): ${expected}`, () => {
        const net = new SimInternet(5);
        const pa = makePeer(net, a, 1, 11);
        const pb = makePeer(net, b, 2, 22);
        startSession(pa, pb, 'offerer');
        startSession(pb, pa, 'answerer');
        run(net, [pa, pb], START + 2000);
        if (expected === 'direct') {
          const ea = only(pa, 'connected');
          const eb = only(pb, 'connected');
          expect(ea, JSON.stringify(pa.events)).toBeDefined();
          expect(eb, JSON.stringify(pb.events)).toBeDefined();
          if (ea?.type !== 'connected' || eb?.type !== 'connected') return;
          // both on the same path: each names the public endpoint the other's packets come from
          expect(ea.pair.remote).toMatchObject(pb.nat.outbound(pb.host.local, pa.nat.outbound(pa.host.local, STUN, net.now), net.now));
          expect(eb.pair.remote).toMatchObject(pa.nat.outbound(pa.host.local, pb.nat.outbound(pb.host.local, STUN, net.now), net.now));
          if (a === 'symmetric' || b === 'symmetric') expect([ea.pair.remote.type, eb.pair.remote.type]).toContain('prflx');
          // punch time under 200 ms with no loss (one-way latency 5 ms)
          expect(ea.durationMs).toBeLessThan(200);
          expect(eb.durationMs).toBeLessThan(200);
          expect(ea.rttMs).toBe(10);
          expect(eb.rttMs).toBe(10);
          expect(only(pa, 'failed')).toBeUndefined();
        } else {
          // relay at once: failed at the start with the strategy's reason, no probe sent
          for (const p of [pa, pb]) expect(p.events).toEqual([{ at: 0, event: { type: 'failed', reason: 'relay-strategy', durationMs: 0 } }]);
          expect(probesOnWire(net)).toBe(0);
        }
      });
    }
  }

  it('the relay pairs really cannot punch: forced simultaneous probes fail within the budget', () => {
    for (const [a, b] of [
      ['symmetric', 'symmetric'],
      ['symmetric', 'port-restricted'],
      ['port-restricted', 'symmetric'],
    ] as const) {
      const net = new SimInternet(5);
      const pa = makePeer(net, a, 1, 11);
      const pb = makePeer(net, b, 2, 22);
      const forced: PunchStrategy = { path: 'direct', mode: 'simultaneous', reason: 'test' };
      startSession(pa, pb, 'offerer', { strategy: forced });
      startSession(pb, pa, 'answerer', { strategy: forced });
      run(net, [pa, pb], START + 2000);
      for (const p of [pa, pb]) {
        expect(only(p, 'connected'), `${a} × ${b}`).toBeUndefined();
        expect(p.events.map((e) => [e.at, e.event.type])).toEqual([[START + 1000, 'failed']]);
      }
    }
  });
});

describe('PunchSession timing and failures', () => {
  it('retransmits through a path that drops everything for the first 150 ms, then connects', () => {
    const net = new SimInternet(5, () => net.now < START + 150);
    const pa = makePeer(net, 'port-restricted', 1, 11);
    const pb = makePeer(net, 'restricted', 2, 22);
    startSession(pa, pb, 'offerer');
    startSession(pb, pa, 'answerer');
    run(net, [pa, pb], START + 2000);
    const e = only(pa, 'connected');
    expect(e?.type).toBe('connected');
    if (e?.type === 'connected') {
      expect(e.durationMs).toBeGreaterThanOrEqual(150);
      expect(e.durationMs).toBeLessThan(200);
    }
    expect(only(pb, 'connected')).toBeDefined();
  });

  it('with all UDP dropped, both fail at start + budget saying no probe arrived, after one probe per candidate per round', () => {
    const net = new SimInternet(5, () => true);
    const pa = makePeer(net, 'full', 1, 11);
    const pb = makePeer(net, 'full', 2, 22);
    startSession(pa, pb, 'offerer');
    startSession(pb, pa, 'answerer');
    run(net, [pa, pb], START + 5000);
    for (const p of [pa, pb]) expect(p.events).toEqual([{ at: START + 1000, event: { type: 'failed', reason: 'no-probe-received', durationMs: 1000 } }]);
    // two candidates each (host + srflx), 15 rounds, two sides
    expect(probesOnWire(net)).toBe(2 * 15 * 2);
    expect(pa.session!.nextDeadline()).toBeUndefined();
  });

  it('a configured budget is honoured', () => {
    const net = new SimInternet(5, () => true);
    const pa = makePeer(net, 'full', 1, 11);
    const pb = makePeer(net, 'full', 2, 22);
    startSession(pa, pb, 'offerer', { schedule: { budgetMs: 300 } });
    run(net, [pa], START + 5000);
    expect(pa.events.map((e) => e.at)).toEqual([START + 300]);
  });

  it('when the peer starts 300 ms late, a cone side that hears it first starts at once', () => {
    const net = new SimInternet(5);
    const pa = makePeer(net, 'full', 1, 11);
    const pb = makePeer(net, 'full', 2, 22);
    startSession(pa, pb, 'offerer', { startAt: START });
    startSession(pb, pa, 'answerer', { startAt: START + 300 });
    run(net, [pa, pb], START + 2000);
    const eb = only(pb, 'connected');
    expect(eb?.type).toBe('connected');
    expect(pb.events[0]!.at).toBeLessThan(START + 50);
    expect(only(pa, 'connected')).toBeDefined();
  });

  it('keep-alives every 15 s hold a 30 s NAT mapping for two minutes; when the peer vanishes the path is lost after 45 s', () => {
    const gone = { b: Infinity };
    const net = new SimInternet(5, () => net.now >= gone.b);
    const pa = makePeer(net, 'port-restricted', 1, 11);
    const pb = makePeer(net, 'port-restricted', 2, 22);
    startSession(pa, pb, 'offerer');
    startSession(pb, pa, 'answerer');
    run(net, [pa, pb], START + 120_000);
    expect(pa.events.map((e) => e.event.type)).toEqual(['connected']);
    expect(pb.events.map((e) => e.event.type)).toEqual(['connected']);
    const connectedAt = pa.events[0]!.at;
    const keepAlives = net.wire.filter((p) => p.from.ip === '203.0.113.10' && decodeProbe(p.data).kind === 'request' && (p as { at?: number }).at! > connectedAt);
    expect(keepAlives.length).toBeGreaterThanOrEqual(7);

    // keep-alives slower than the 30 s mapping lifetime: the symmetric NAT's mapping expires, its
    // next packet leaves from a new port, and the cone side loses the path it had
    const quiet = new SimInternet(5);
    const qa = makePeer(quiet, 'symmetric', 1, 11);
    const qb = makePeer(quiet, 'full', 2, 22);
    const schedule = { keepAliveMs: 40_000, pathTimeoutMs: 60_000 };
    startSession(qa, qb, 'offerer', { schedule });
    startSession(qb, qa, 'answerer', { schedule });
    run(quiet, [qa, qb], START + 120_000);
    expect(qb.events.map((e) => e.event.type)).toEqual(['connected', 'lost']);
    expect(qb.session!.remoteCandidates.filter((c) => c.type === 'prflx')).toHaveLength(2);

    // the peer vanishes (its network goes down): lost 45 s after the last probe heard
    gone.b = net.now;
    run(net, [pa, pb], net.now + 60_000);
    const lost = pa.events.find((e) => e.event.type === 'lost');
    expect(lost?.event).toMatchObject({ type: 'lost', reason: 'path-timeout' });
    expect(lost!.at - gone.b).toBeLessThanOrEqual(45_000);
    expect(lost!.at - gone.b).toBeGreaterThan(30_000);
  });
});

describe('PunchSession against a third party that knows the session id but not the secret', () => {
  const attacker: Endpoint = { ip: '203.0.113.66', port: 6666 };

  it('forged probes, guessed responses and replays of an earlier attempt never connect a session to it', () => {
    // an earlier attempt with the same session id, recorded by the attacker
    const earlier = new SimInternet(5);
    const ea = makePeer(earlier, 'full', 1, 11);
    const eb = makePeer(earlier, 'full', 2, 22);
    startSession(ea, eb, 'offerer');
    startSession(eb, ea, 'answerer');
    run(earlier, [ea, eb], START + 2000);
    expect(only(ea, 'connected')).toBeDefined();

    // now: the same session id, fresh nonces; the attacker's address was slipped into the candidates
    const net = new SimInternet(5);
    const pa = makePeer(net, 'full', 1, 11);
    const fresh = probeContext(SECRET, bytes(16, 1), bytes(16, 4), bytes(16, 5));
    const forged = probeContext('not the secret', bytes(16, 1), bytes(16, 4), bytes(16, 5));
    const fake: Peer = { kind: 'none', host: pa.host, nat: pa.nat, events: [], candidates: [{ type: 'srflx', ...attacker }] };
    const session = startSession(pa, fake, 'offerer', { ctx: fresh });
    const target: Endpoint = { ip: '203.0.113.10', port: pa.host.local.port };
    let sentSeqs = 0;
    net.addPublic(attacker, (_from, data) => {
      // answer every request with responses it can only forge
      const p = decodeProbe(data);
      net.sendFromPublic(attacker, target, encodeProbe(forged, { kind: 'response', direction: 'answerer-to-offerer', nominate: false, seq: p.seq }));
      sentSeqs++;
    });
    for (let t = 0; t < 1000; t += 10) {
      for (const p of earlier.wire) if (p.to.ip === '203.0.113.10' || p.from.ip === '203.0.113.20') net.sendFromPublic(attacker, target, p.data);
      net.sendFromPublic(attacker, target, encodeProbe(forged, { kind: 'request', direction: 'answerer-to-offerer', nominate: true, seq: t }));
      net.sendFromPublic(attacker, target, encodeProbe(forged, { kind: 'response', direction: 'answerer-to-offerer', nominate: false, seq: t / 10 }));
      run(net, [pa], START + t);
    }
    run(net, [pa], START + 3000);
    expect(sentSeqs).toBeGreaterThan(0);
    expect(pa.events.map((e) => e.event)).toEqual([{ type: 'failed', reason: 'no-probe-received', durationMs: 1000 }]);
    expect(session.drops.get('bad-mac')).toBeGreaterThan(100);
    expect(session.remoteCandidates.map((c) => c.type)).toEqual(['srflx']);
  });

  it('during a real attempt, forged probes and our own probes reflected back are dropped and the pair is the peer', () => {
    const net = new SimInternet(5);
    const pa = makePeer(net, 'full', 1, 11);
    const pb = makePeer(net, 'full', 2, 22);
    const forged = probeContext('not the secret');
    const sa = startSession(pa, pb, 'offerer');
    const sb = startSession(pb, pa, 'answerer');
    const seen = net.wire;
    for (let t = 0; t <= 400; t += 5) {
      for (const p of seen.splice(0)) if (p.from.ip !== attacker.ip) net.sendFromPublic(attacker, p.from, p.data); // reflect
      for (const to of [{ ip: '203.0.113.10', port: 40001 }, { ip: '203.0.113.20', port: 40002 }]) {
        for (const direction of ['offerer-to-answerer', 'answerer-to-offerer'] as const) {
          net.sendFromPublic(attacker, to, encodeProbe(forged, { kind: 'request', direction, nominate: true, seq: t }));
        }
      }
      run(net, [pa, pb], START + t);
    }
    for (const [p, other] of [[pa, pb], [pb, pa]] as const) {
      const e = only(p, 'connected');
      expect(e?.type === 'connected' && e.pair.remote).toMatchObject({ ip: other.nat.publicIp, port: other.host.local.port });
    }
    expect(sa.drops.get('wrong-direction')).toBeGreaterThan(0);
    expect(sa.drops.get('bad-mac')).toBeGreaterThan(0);
    expect(sb.drops.get('bad-mac')).toBeGreaterThan(0);
  });
});

describe('PunchSession checks and nomination (one session, datagrams by hand)', () => {
  const ctx = probeContext(SECRET);
  const X: Endpoint = { ip: '198.51.100.7', port: 5000 };
  const Y: Endpoint = { ip: '198.51.100.8', port: 5000 };
  const direct: PunchStrategy = { path: 'direct', mode: 'simultaneous', reason: 'test' };
  const make = (role: 'offerer' | 'answerer') =>
    new PunchSession({ role, probe: ctx, strategy: direct, localCandidates: [], remoteCandidates: [{ type: 'srflx', ...X }], startAt: START });
  const peerDir = (role: 'offerer' | 'answerer') => (role === 'offerer' ? 'answerer-to-offerer' : 'offerer-to-answerer');

  it('waits for the start time, then probes every candidate', () => {
    const s = make('offerer');
    expect(s.nextDeadline()).toBe(START);
    expect(s.handleExpiry(START - 1)).toEqual([]);
    const out = s.handleExpiry(START);
    expect(out.map((d) => d.to)).toEqual([X]);
    expect(decodeProbe(out[0]!.data)).toMatchObject({ kind: 'request', nominate: false, direction: 'offerer-to-answerer' });
    expect(s.nextDeadline()).toBe(START + 20);
  });

  it('a valid response from another address than the check went to is dropped; from the right one it starts nomination', () => {
    const s = make('offerer');
    const seq = decodeProbe(s.handleExpiry(START)[0]!.data).seq;
    const response = encodeProbe(ctx, { kind: 'response', direction: 'answerer-to-offerer', nominate: false, seq });
    expect(s.handleDatagram(Y, response, START + 5)).toEqual([]);
    expect(s.drops.get('unexpected-response')).toBe(1);
    const nominate = s.handleDatagram(X, response, START + 6);
    expect(nominate.map((d) => [d.to, decodeProbe(d.data).nominate])).toEqual([[X, true]]);
    expect(s.state).toBe('checking');
    const nseq = decodeProbe(nominate[0]!.data).seq;
    s.handleDatagram(X, encodeProbe(ctx, { kind: 'response', direction: 'answerer-to-offerer', nominate: false, seq: nseq }), START + 16);
    expect(s.takeEvents()).toEqual([{ type: 'connected', pair: { remote: { type: 'srflx', ...X } }, rttMs: 10, durationMs: 16 }]);
    expect(s.nextDeadline()).toBe(START + 16 + 15_000);
  });

  it('the answerer connects only on a nominated address it has a successful check to', () => {
    const s = make('answerer');
    const seq = decodeProbe(s.handleExpiry(START)[0]!.data).seq;
    // nominated from Y (valid, learned as peer-reflexive) but no check to Y succeeded: not connected
    const fromY = s.handleDatagram(Y, encodeProbe(ctx, { kind: 'request', direction: peerDir('answerer'), nominate: true, seq: 900 }), START + 3);
    expect(fromY.map((d) => [d.to, decodeProbe(d.data).kind])).toEqual([[Y, 'response'], [Y, 'request']]);
    s.handleDatagram(X, encodeProbe(ctx, { kind: 'response', direction: peerDir('answerer'), nominate: false, seq }), START + 8);
    expect(s.takeEvents()).toEqual([]);
    // nominated from X, where our check succeeded: connected
    s.handleDatagram(X, encodeProbe(ctx, { kind: 'request', direction: peerDir('answerer'), nominate: true, seq: 901 }), START + 9);
    expect(s.takeEvents()).toEqual([{ type: 'connected', pair: { remote: { type: 'srflx', ...X } }, rttMs: 8, durationMs: 9 }]);
  });

  it('without nomination the answerer fails saying so', () => {
    const s = make('answerer');
    const seq = decodeProbe(s.handleExpiry(START)[0]!.data).seq;
    s.handleDatagram(X, encodeProbe(ctx, { kind: 'response', direction: peerDir('answerer'), nominate: false, seq }), START + 8);
    s.handleExpiry(START + 1000);
    expect(s.takeEvents()).toEqual([{ type: 'failed', reason: 'not-nominated', durationMs: 1000 }]);
    expect(s.handleDatagram(X, encodeProbe(ctx, { kind: 'request', direction: peerDir('answerer'), nominate: true, seq: 1 }), START + 1001)).toEqual([]);
  });

  it('counts what it drops: not a probe, forged, reflected', () => {
    const s = make('offerer');
    s.handleDatagram(X, Uint8Array.from([0xff, 1, 1, 0]), START);
    s.handleDatagram(X, encodeProbe(probeContext('wrong'), { kind: 'request', direction: 'answerer-to-offerer', nominate: false, seq: 1 }), START);
    s.handleDatagram(X, encodeProbe(ctx, { kind: 'request', direction: 'offerer-to-answerer', nominate: false, seq: 1 }), START);
    expect(Object.fromEntries(s.drops)).toEqual({ 'not-a-probe': 1, 'bad-mac': 1, 'wrong-direction': 1 });
    expect(s.state).toBe('waiting');
  });
});
