/**
 * The engine's puncher (issue 9): both halves of an attempt, over the control connection.
 *
 * Visitor side (dial, the offerer): a fresh UDX socket; its candidates (the local address towards
 * the server, and the server-reflexive one from a STUN Binding sent on that very socket to the
 * server's STUN port); the NAT report; P2pOffer with a proof of the secret; then the P2pAnswer and
 * P2pStart the server relays; the strategy from both NAT reports (strategy.ts); the PunchSession
 * driven over the socket (punch-driver.ts). Serving side (the answerer): the same for each
 * P2pOffer the server forwards for one of our p2p tunnels, handing each punched path to onPath().
 *
 * A failed or relay-strategy attempt resolves null with its reason in attempts(); nothing here
 * throws for a failed punch. Both sides report how it ended (P2pResult) to the server.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type UDX from 'udx-native';
import type { UdxSocket } from 'udx-native';
import { p2pOfferProof, secretTunnelKey } from '../../io/auth-proof.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import type { Clock } from '../../shared/clock.js';
import { probeKey, type ProbeContext } from '../../shared/p2p/probe.js';
import type { Message, MessageOf } from '../../shared/protocol/messages.js';
import type { P2pCandidate, P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import { localAddressToward, resolveHost } from '../stun/stun-client.js';
import type { DirectPathDialer, DirectPathListener, PunchAttempt, PunchedPath } from './direct-path.js';
import { PunchDriver } from './punch-driver.js';
import { PunchSession, type PunchSchedule } from './punch-session.js';
import { chooseStrategy, type PunchStrategy } from './strategy.js';
import { PairRecords, type PairRecord } from './pair-record.js';
import { udxStunBinding } from './udx-stun.js';

export const UNKNOWN_NAT: P2pNatReport = { mapping: 'unknown', filtering: 'unknown', portAllocation: 'unknown' };

export interface P2pManagerDeps {
  readonly udx: UDX;
  /** Sends on the control connection; false when there is none. */
  readonly send: (m: Message) => boolean;
  readonly controlSessionId: () => string | undefined;
  /** The host of the server we are logged in to (config `server`). */
  readonly serverHost: () => string;
  /** The server's STUN port from LoginResult, if it runs STUN. */
  readonly stunPort: () => number | undefined;
  /** The secret of our p2p tunnel of this name, if we serve one. */
  readonly tunnelSecret: (name: string) => string | undefined;
  /** This side's NAT report (cached by the caller; UNKNOWN_NAT when it cannot be had). */
  readonly natReport: () => Promise<P2pNatReport>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly schedule?: Partial<PunchSchedule>;
  /** How long the visitor waits for the server to relay the answer and start (ms). Default 5 s. */
  readonly signalTimeoutMs?: number;
}

interface OfferWait {
  answer?: MessageOf<'P2pAnswer'>;
  resolve: (r: { answer: MessageOf<'P2pAnswer'>; start: MessageOf<'P2pStart'> } | { refused: string }) => void;
}

interface AnswerWait {
  readonly tunnel: string;
  readonly secret: string;
  readonly offer: MessageOf<'P2pOffer'>;
  readonly nonce: string;
  readonly socket: UdxSocket;
  readonly candidates: P2pCandidate[];
  readonly nat: P2pNatReport;
  readonly timer: NodeJS.Timeout;
}

const MAX_ATTEMPTS_KEPT = 8;
const MAX_ANSWERING = 16;

export class P2pManager implements DirectPathDialer, DirectPathListener {
  private readonly offers = new Map<string, OfferWait>();
  private readonly answering = new Map<string, AnswerWait>();
  private readonly history = new Map<string, PunchAttempt[]>();
  private readonly pathListeners = new Map<string, Array<(p: PunchedPath) => void>>();
  private readonly natPairs = new Map<string, { local: P2pNatReport; remote: P2pNatReport }>();
  /** Per tunnel: which strategy worked for which address pair (pair-record.ts). */
  private readonly pairRecords = new Map<string, PairRecords>();
  /** Rejected probes per tunnel: of ended sessions, and the live sessions of punched paths (still counting). */
  private readonly rejectedDone = new Map<string, number>();
  private readonly liveSessions = new Map<string, Set<PunchSession>>();
  /** Datagrams dropped by punch sessions (not a valid probe of the session), summed over attempts. */
  readonly drops = new Map<string, number>();

  constructor(private readonly deps: P2pManagerDeps) {}

  /** Takes the P2P messages of the control connection; false for any other message. */
  handle(m: Message): boolean {
    switch (m.type) {
      case 'P2pOffer':
        void this.answer(m);
        return true;
      case 'P2pAnswer': {
        const w = this.offers.get(m.sessionId);
        if (w && !w.answer) w.answer = m;
        return true;
      }
      case 'P2pStart': {
        const w = this.offers.get(m.sessionId);
        if (w?.answer) w.resolve({ answer: w.answer, start: m });
        else this.startAnswering(m);
        return true;
      }
      case 'P2pRefused':
        this.offers.get(m.sessionId)?.resolve({ refused: m.reason });
        return true;
      default:
        return false;
    }
  }

  attempts(tunnel: string): readonly PunchAttempt[] {
    return this.history.get(tunnel) ?? [];
  }

  /** Per address pair, most recent first: the strategy tried and how its attempts ended. */
  strategies(tunnel: string): PairRecord[] {
    return this.pairRecords.get(tunnel)?.list() ?? [];
  }

  nat(tunnel: string): { local: P2pNatReport; remote: P2pNatReport } | undefined {
    return this.natPairs.get(tunnel);
  }

  rejectedProbes(tunnel: string): number {
    let n = this.rejectedDone.get(tunnel) ?? 0;
    for (const s of this.liveSessions.get(tunnel) ?? []) n += rejectedOf(s);
    return n;
  }

  /** Counts an ended session's rejected probes for its tunnel. */
  private track(tunnel: string, session: PunchSession): void {
    this.rejectedDone.set(tunnel, (this.rejectedDone.get(tunnel) ?? 0) + rejectedOf(session));
  }

  /** A connected session goes on counting while its path lives; the returned function ends that (idempotent). */
  private trackLive(tunnel: string, session: PunchSession): () => void {
    const live = this.liveSessions.get(tunnel) ?? new Set();
    this.liveSessions.set(tunnel, live);
    live.add(session);
    return () => {
      if (live.delete(session)) this.track(tunnel, session);
    };
  }

  onPath(tunnel: string, listener: (path: PunchedPath) => void): void {
    const list = this.pathListeners.get(tunnel) ?? [];
    list.push(listener);
    this.pathListeners.set(tunnel, list);
  }

  async dial(request: { readonly tunnel: string; readonly secret: string; readonly signal?: AbortSignal }): Promise<PunchedPath | null> {
    const { tunnel, secret } = request;
    const sessionIdBytes = randomBytes(16);
    const sessionId = sessionIdBytes.toString('hex');
    const record = this.record(tunnel, sessionId);
    const control = this.deps.controlSessionId();
    if (!control) return record.end('failed', 'not connected to the server'), null;
    const socket = this.deps.udx.createSocket();
    let keep = false;
    try {
      socket.bind(0, '0.0.0.0');
      const [candidates, nat] = await Promise.all([this.gather(socket), this.deps.natReport()]);
      const nonce = randomBytes(16).toString('hex');
      const reply = await this.exchange(sessionId, {
        type: 'P2pOffer',
        tunnel,
        sessionId,
        nonce,
        secretProof: p2pOfferProof(secretTunnelKey(secret, tunnel), control, sessionId, nonce),
        candidates,
        nat,
      });
      if ('refused' in reply) return record.end('failed', `the server refused: ${reply.refused}`), null;
      const { answer, start } = reply;
      this.natPairs.set(tunnel, { local: nat, remote: answer.nat });
      const strategy = chooseStrategy(nat, answer.nat);
      record.pair(publicIp(candidates), publicIp(answer.candidates), strategy);
      if (strategy.path === 'relay') {
        this.report(sessionId, 'relay', strategy.reason);
        return record.end('relay', strategy.reason), null;
      }
      const probe = this.probeContext(secret, sessionIdBytes, nonce, answer.nonce);
      const session = new PunchSession({
        role: 'offerer',
        probe,
        strategy,
        localCandidates: candidates,
        remoteCandidates: answer.candidates,
        startAt: this.deps.clock.now() + Math.max(0, start.startAt - start.serverTime),
        ...(this.deps.schedule ? { schedule: this.deps.schedule } : {}),
      });
      const driver = new PunchDriver(socket, session, this.deps.clock);
      const outcome = await driver.outcome;
      this.countDrops(session);
      if (outcome.type === 'failed') {
        this.track(tunnel, session);
        const reason = `${strategy.reason}; the punch failed: ${failWords(outcome.reason, session.schedule.budgetMs)}`;
        this.report(sessionId, 'relay', reason);
        return record.end('failed', reason, outcome.durationMs), null;
      }
      keep = true;
      this.report(sessionId, 'direct', strategy.reason, outcome.rttMs, outcome.durationMs);
      record.end('direct', strategy.reason, outcome.durationMs, outcome.rttMs);
      const path = this.pathOf('offerer', sessionIdBytes, socket, driver, candidates, outcome, strategy, nat, answer.nat, this.trackLive(tunnel, session));
      path.onLost((reason) => record.end('lost', reason));
      return path;
    } catch (err) {
      return record.end('failed', (err as Error).message), null;
    } finally {
      this.offers.delete(sessionId);
      if (!keep) await socket.close().catch(() => {});
    }
  }

  private exchange(sessionId: string, offer: MessageOf<'P2pOffer'>): Promise<{ answer: MessageOf<'P2pAnswer'>; start: MessageOf<'P2pStart'> } | { refused: string }> {
    const timeout = this.deps.signalTimeoutMs ?? 5_000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ refused: `no answer from the serving client within ${timeout / 1000} s` }), timeout);
      this.offers.set(sessionId, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
      if (!this.deps.send(offer)) {
        clearTimeout(timer);
        resolve({ refused: 'not connected to the server' });
      }
    });
  }

  /** Serving side: answer an offer the server forwarded for one of our p2p tunnels. */
  private async answer(offer: MessageOf<'P2pOffer'>): Promise<void> {
    const secret = this.deps.tunnelSecret(offer.tunnel);
    if (!secret || this.answering.has(offer.sessionId) || this.answering.size >= MAX_ANSWERING) return;
    const socket = this.deps.udx.createSocket();
    try {
      socket.bind(0, '0.0.0.0');
      const [candidates, nat] = await Promise.all([this.gather(socket), this.deps.natReport()]);
      const nonce = randomBytes(16).toString('hex');
      const timer = setTimeout(() => {
        // the server never sent the start: forget the attempt
        if (this.answering.delete(offer.sessionId)) void socket.close().catch(() => {});
      }, 10_000);
      this.answering.set(offer.sessionId, { tunnel: offer.tunnel, secret, offer, nonce, socket, candidates, nat, timer });
      this.deps.send({ type: 'P2pAnswer', sessionId: offer.sessionId, nonce, candidates, nat });
    } catch (err) {
      this.deps.logger.warn({ tunnel: offer.tunnel, err: (err as Error).message }, 'p2p answer failed');
      await socket.close().catch(() => {});
    }
  }

  private startAnswering(start: MessageOf<'P2pStart'>): void {
    const w = this.answering.get(start.sessionId);
    if (!w) return;
    this.answering.delete(start.sessionId);
    clearTimeout(w.timer);
    void this.punchAsAnswerer(w, start);
  }

  private async punchAsAnswerer(w: AnswerWait, start: MessageOf<'P2pStart'>): Promise<void> {
    const record = this.record(w.tunnel, w.offer.sessionId);
    const strategy = chooseStrategy(w.nat, w.offer.nat);
    this.natPairs.set(w.tunnel, { local: w.nat, remote: w.offer.nat });
    record.pair(publicIp(w.candidates), publicIp(w.offer.candidates), strategy);
    const sessionIdBytes = Buffer.from(w.offer.sessionId, 'hex');
    let keep = false;
    try {
      if (strategy.path === 'relay') {
        this.report(w.offer.sessionId, 'relay', strategy.reason);
        record.end('relay', strategy.reason);
        return;
      }
      const session = new PunchSession({
        role: 'answerer',
        probe: this.probeContext(w.secret, sessionIdBytes, w.offer.nonce, w.nonce),
        strategy,
        localCandidates: w.candidates,
        remoteCandidates: w.offer.candidates,
        startAt: this.deps.clock.now() + Math.max(0, start.startAt - start.serverTime),
        ...(this.deps.schedule ? { schedule: this.deps.schedule } : {}),
      });
      const driver = new PunchDriver(w.socket, session, this.deps.clock);
      const outcome = await driver.outcome;
      this.countDrops(session);
      if (outcome.type === 'failed') {
        this.track(w.tunnel, session);
        const reason = `${strategy.reason}; the punch failed: ${failWords(outcome.reason, session.schedule.budgetMs)}`;
        this.report(w.offer.sessionId, 'relay', reason);
        record.end('failed', reason, outcome.durationMs);
        return;
      }
      keep = true;
      this.report(w.offer.sessionId, 'direct', strategy.reason, outcome.rttMs, outcome.durationMs);
      record.end('direct', strategy.reason, outcome.durationMs, outcome.rttMs);
      const path = this.pathOf('answerer', sessionIdBytes, w.socket, driver, w.candidates, outcome, strategy, w.nat, w.offer.nat, this.trackLive(w.tunnel, session));
      path.onLost((reason) => record.end('lost', reason));
      for (const l of this.pathListeners.get(w.tunnel) ?? []) l(path);
    } finally {
      if (!keep) await w.socket.close().catch(() => {});
    }
  }

  private pathOf(
    role: 'offerer' | 'answerer',
    sessionId: Uint8Array,
    socket: UdxSocket,
    driver: PunchDriver,
    candidates: P2pCandidate[],
    outcome: Extract<Awaited<PunchDriver['outcome']>, { type: 'connected' }>,
    strategy: PunchedPath['strategy'],
    localNat: P2pNatReport,
    remoteNat: P2pNatReport,
    /** Called once when the path ends (lost or closed). */
    ended: () => void,
  ): PunchedPath {
    driver.onLost(ended);
    let closed: Promise<void> | undefined;
    const local = candidates[0] ?? { ip: '0.0.0.0', port: socket.address().port };
    return {
      sessionId,
      role,
      socket,
      local: { ip: local.ip, port: local.port },
      remote: { ip: outcome.pair.remote.ip, port: outcome.pair.remote.port },
      rttMs: outcome.rttMs,
      strategy,
      localNat,
      remoteNat,
      onLost: (l) => driver.onLost(l),
      close: () => {
        ended();
        driver.stop();
        closed ??= socket.close().catch(() => {});
        return closed;
      },
    };
  }

  /** Host candidate: the local address towards the server; srflx: what the server's STUN saw of this socket. */
  private async gather(socket: UdxSocket): Promise<P2pCandidate[]> {
    const port = socket.address().port;
    const serverIp = await resolveHost(this.deps.serverHost());
    const stunPort = this.deps.stunPort();
    const hostIp = await localAddressToward(serverIp, stunPort ?? 9).catch(() => undefined);
    const out: P2pCandidate[] = [];
    if (hostIp) out.push({ type: 'host', ip: hostIp, port });
    if (stunPort !== undefined) {
      const b = await udxStunBinding(socket, { host: serverIp, port: stunPort });
      if (b && !out.some((c) => c.ip === b.mapped.address && c.port === b.mapped.port)) out.push({ type: 'srflx', ip: b.mapped.address, port: b.mapped.port });
    }
    return out;
  }

  private probeContext(secret: string, sessionId: Uint8Array, offerNonce: string, answerNonce: string): ProbeContext {
    const hmac = nodeStunCrypto.hmacSha256;
    return { hmac, key: probeKey(hmac, secret, sessionId), sessionId, offerNonce: Buffer.from(offerNonce, 'hex'), answerNonce: Buffer.from(answerNonce, 'hex') };
  }

  private report(sessionId: string, path: 'direct' | 'relay', reason: string, rttMs?: number, durationMs?: number): void {
    this.deps.send({
      type: 'P2pResult',
      sessionId,
      path,
      reason: reason.slice(0, 256),
      ...(rttMs !== undefined ? { rttMs: Math.round(rttMs) } : {}),
      ...(durationMs !== undefined ? { durationMs: Math.round(durationMs) } : {}),
    });
  }

  private countDrops(session: PunchSession): void {
    for (const [reason, n] of session.drops) this.drops.set(reason, (this.drops.get(reason) ?? 0) + n);
  }

  private record(tunnel: string, sessionId: string) {
    const list = this.history.get(tunnel) ?? [];
    this.history.set(tunnel, list);
    const startedAt = Date.now();
    const t0 = this.deps.clock.now();
    let entry: PunchAttempt = { sessionId, startedAt, outcome: 'connecting' };
    list.push(entry);
    if (list.length > MAX_ATTEMPTS_KEPT) list.shift();
    let pair: { local: string; remote: string; strategy: string } | undefined;
    return {
      /** The address pair and strategy, once both sides' candidates and reports are known. */
      pair: (local: string | undefined, remote: string | undefined, strategy: PunchStrategy) => {
        if (local && remote) pair = { local, remote, strategy: strategy.path === 'relay' ? 'relay' : strategy.mode };
      },
      end: (outcome: PunchAttempt['outcome'], reason: string, durationMs?: number, rttMs?: number) => {
        // the first ending of an attempt with a known pair counts for it ('lost' later does not)
        if (pair && (outcome === 'direct' || outcome === 'failed' || outcome === 'relay')) {
          let records = this.pairRecords.get(tunnel);
          if (!records) this.pairRecords.set(tunnel, (records = new PairRecords()));
          records.record(pair.local, pair.remote, pair.strategy, outcome, Date.now(), outcome === 'direct' ? durationMs : undefined);
          pair = undefined;
        }
        const i = list.indexOf(entry);
        entry = {
          sessionId,
          startedAt,
          outcome,
          reason,
          durationMs: Math.round(durationMs ?? this.deps.clock.now() - t0),
          ...(rttMs !== undefined ? { rttMs: Math.round(rttMs) } : {}),
        };
        if (i >= 0) list[i] = entry;
        if (outcome !== 'direct') this.deps.logger.info({ tunnel, outcome, reason }, 'p2p attempt ended without a direct path');
        else this.deps.logger.info({ tunnel, rttMs, durationMs }, 'p2p direct path up');
      },
    };
  }
}

/** The public IP a side's candidates show: its server-reflexive one, else (no NAT, or no STUN answer) its host one. */
function publicIp(candidates: readonly P2pCandidate[]): string | undefined {
  return (candidates.find((c) => c.type === 'srflx') ?? candidates[0])?.ip;
}

function rejectedOf(session: PunchSession): number {
  let n = 0;
  // not 'unexpected-response': its MAC was good, so it came from the peer (a duplicate answer to a retransmitted request)
  for (const [reason, count] of session.drops) if (reason !== 'not-a-probe' && reason !== 'unexpected-response') n += count;
  return n;
}

function failWords(reason: string, budgetMs: number): string {
  switch (reason) {
    case 'no-probe-received':
      return `no probe from the peer arrived within ${budgetMs} ms (a NAT or firewall drops it)`;
    case 'no-answer':
      return `the peer's probes arrived but ours were never answered within ${budgetMs} ms`;
    case 'not-nominated':
      return `the visitor chose no path within ${budgetMs} ms`;
    default:
      return reason;
  }
}
