/**
 * One hole-punching attempt between two peers (issue 9), as a sans-I/O state machine: it owns no
 * socket and no timer. Every call takes `now` (ms, monotonic); handleDatagram/handleExpiry return
 * the datagrams to send; nextDeadline() says when handleExpiry must run next; takeEvents() hands
 * out what happened (connected / failed / lost). The adapter feeds it only datagrams that
 * looksLikeProbe() (shared/p2p/probe.ts) accepts, from the socket that will carry the traffic.
 *
 * Checks (after ICE, RFC 8445, much simplified): a check is a probe request to one remote address,
 * with a fresh sequence number; it succeeds when a valid response with that sequence number comes
 * back from the address the request went to (a replayed response from anywhere else does not
 * count). Every valid request is answered, to its source. A valid request from an address that is
 * not a known candidate adds that address (peer-reflexive: how a cone side learns the port a
 * symmetric NAT chose) and triggers a check to it at once.
 *
 * Nomination: the offerer (controlling) picks the pair of its first successful check and sends
 * nominating requests on it; it is connected when one is answered. The answerer is connected on a
 * pair when it both received a valid nominating request from that address and has a successful
 * check of its own to it, so both sides end up on the same pair and both have measured its RTT.
 *
 * Schedule (PunchSchedule, defaults): rounds at start + 0, 20, 40, … 200 ms (every 20 ms for the
 * first 200 ms), then the interval doubles: + 240, 320, 480, 800 ms; each round sends one check to
 * every remote address (one nominating request once the offerer has picked a pair). No success by
 * start + 1000 ms (the budget): failed. A valid request from the peer before the start time means
 * the peer's clock ran ahead: the rounds start at once. Connected: a keep-alive request on the pair
 * every 15 s (below the NAT mapping lifetime); no valid probe from the peer for 45 s: lost.
 */
import {
  encodeProbe,
  looksLikeProbe,
  openProbe,
  ProbeError,
  type Probe,
  type ProbeContext,
  type ProbeDirection,
  type ProbeRejectReason,
} from '../../shared/p2p/probe.js';
import type { P2pCandidate } from '../../shared/protocol/p2p-messages.js';
import type { PunchStrategy } from './strategy.js';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

export type CandidateType = P2pCandidate['type'] | 'prflx';

export interface RemoteCandidate extends Endpoint {
  readonly type: CandidateType;
}

export interface Datagram {
  readonly to: Endpoint;
  readonly data: Uint8Array;
}

export interface PunchSchedule {
  /** Interval between rounds during the fast phase (ms). */
  readonly fastIntervalMs: number;
  /** Length of the fast phase from the start time (ms). */
  readonly fastPhaseMs: number;
  /** The interval is multiplied by this after each round past the fast phase. */
  readonly backoffFactor: number;
  /** No connection this long after the start time: failed (ms). */
  readonly budgetMs: number;
  /** Keep-alive interval once connected (ms); below the NAT's mapping lifetime. */
  readonly keepAliveMs: number;
  /** Connected, but no valid probe from the peer for this long: lost (ms). */
  readonly pathTimeoutMs: number;
}

export const DEFAULT_PUNCH_SCHEDULE: PunchSchedule = {
  fastIntervalMs: 20,
  fastPhaseMs: 200,
  backoffFactor: 2,
  budgetMs: 1000,
  keepAliveMs: 15_000,
  pathTimeoutMs: 45_000,
};

/** The round offsets from the start time (ms): the explicit retransmission schedule. */
export function roundOffsets(s: PunchSchedule = DEFAULT_PUNCH_SCHEDULE): number[] {
  if (!(s.fastIntervalMs > 0) || !(s.backoffFactor >= 1) || !(s.budgetMs > 0)) throw new RangeError('bad punch schedule');
  const out: number[] = [];
  let interval = s.fastIntervalMs;
  for (let t = 0; t < s.budgetMs; t += interval) {
    out.push(t);
    if (t >= s.fastPhaseMs) interval *= s.backoffFactor;
  }
  return out;
}

export type FailReason =
  | 'relay-strategy' // the strategy says the NAT pair cannot punch: nothing was sent
  | 'no-probe-received' // nothing valid from the peer within the budget
  | 'no-answer' // the peer's probes arrived, ours were never answered
  | 'not-nominated'; // answerer: checks succeeded but the offerer nominated none of them in time

export type PunchEvent =
  | { readonly type: 'connected'; readonly pair: { readonly remote: RemoteCandidate }; readonly rttMs: number; readonly durationMs: number }
  | { readonly type: 'failed'; readonly reason: FailReason; readonly durationMs: number }
  | { readonly type: 'lost'; readonly reason: 'path-timeout'; readonly idleMs: number };

export type PunchState = 'waiting' | 'checking' | 'connected' | 'failed' | 'lost';

/** Why datagrams were dropped: the probe codec's reasons, plus responses to no check of ours. */
export type DropReason = ProbeRejectReason | 'unexpected-response';

export interface PunchSessionOptions {
  readonly role: 'offerer' | 'answerer';
  readonly probe: ProbeContext;
  readonly strategy: PunchStrategy;
  /** Our own candidates: a remote candidate equal to one of them is skipped (no probes to ourselves). */
  readonly localCandidates: readonly Endpoint[];
  readonly remoteCandidates: readonly RemoteCandidate[];
  /** The common start time, already converted to our clock (ms). */
  readonly startAt: number;
  readonly schedule?: Partial<PunchSchedule>;
}

interface Check {
  readonly to: string;
  readonly sentAt: number;
  readonly nominate: boolean;
}

/** Remote addresses kept at most (candidates plus peer-reflexive ones). */
const MAX_TARGETS = 64;

const key = (e: Endpoint): string => `${e.ip.toLowerCase()}|${e.port}`;

export class PunchSession {
  readonly schedule: PunchSchedule;
  private readonly offsets: number[];
  private readonly own: ProbeDirection;
  private readonly peer: ProbeDirection;
  private readonly scheduledStart: number;
  private startAt: number;
  private stateValue: PunchState = 'waiting';
  private round = 0;
  private seq = 0;
  private readonly targets = new Map<string, RemoteCandidate>();
  private readonly checks = new Map<number, Check>();
  /** First RTT of a successful check, per remote address. */
  private readonly succeeded = new Map<string, number>();
  /** Answerer: addresses the offerer sent a valid nominating request from. */
  private readonly nominatedBy = new Set<string>();
  /** Offerer: the pair being nominated. */
  private selected: string | undefined;
  private pair: string | undefined;
  private heardAny = false;
  private lastHeard = 0;
  private nextKeepAlive = 0;
  private readonly events: PunchEvent[] = [];
  private readonly dropCounts = new Map<DropReason, number>();

  constructor(private readonly options: PunchSessionOptions) {
    this.schedule = { ...DEFAULT_PUNCH_SCHEDULE, ...options.schedule };
    this.offsets = roundOffsets(this.schedule);
    this.own = options.role === 'offerer' ? 'offerer-to-answerer' : 'answerer-to-offerer';
    this.peer = options.role === 'offerer' ? 'answerer-to-offerer' : 'offerer-to-answerer';
    this.scheduledStart = this.startAt = options.startAt;
    const mine = new Set(options.localCandidates.map(key));
    for (const c of options.remoteCandidates) if (!mine.has(key(c)) && !this.targets.has(key(c))) this.targets.set(key(c), c);
    if (options.strategy.path === 'relay') this.fail('relay-strategy', options.startAt);
  }

  get state(): PunchState {
    return this.stateValue;
  }

  /** Dropped datagrams per reason (for `burrow status`). */
  get drops(): ReadonlyMap<DropReason, number> {
    return this.dropCounts;
  }

  /** The remote addresses probed so far, peer-reflexive ones included. */
  get remoteCandidates(): RemoteCandidate[] {
    return [...this.targets.values()];
  }

  takeEvents(): PunchEvent[] {
    return this.events.splice(0);
  }

  /** When handleExpiry must next run; undefined once there is nothing left to do. */
  nextDeadline(): number | undefined {
    switch (this.stateValue) {
      case 'waiting':
        return this.startAt;
      case 'checking': {
        const end = this.scheduledStart + this.schedule.budgetMs;
        const next = this.round < this.offsets.length ? this.startAt + this.offsets[this.round]! : end;
        return Math.min(next, end);
      }
      case 'connected':
        return Math.min(this.nextKeepAlive, this.lastHeard + this.schedule.pathTimeoutMs);
      default:
        return undefined;
    }
  }

  handleExpiry(now: number): Datagram[] {
    const out: Datagram[] = [];
    if (this.stateValue === 'waiting' && now >= this.startAt) this.stateValue = 'checking';
    if (this.stateValue === 'checking') {
      if (now >= this.scheduledStart + this.schedule.budgetMs) {
        this.fail(this.failReason(), now);
        return out;
      }
      // overdue rounds collapse into one: no burst after a late wake-up
      let due = false;
      while (this.round < this.offsets.length && this.startAt + this.offsets[this.round]! <= now) {
        this.round++;
        due = true;
      }
      if (due) this.sendRound(now, out);
    } else if (this.stateValue === 'connected') {
      if (now >= this.lastHeard + this.schedule.pathTimeoutMs) {
        this.stateValue = 'lost';
        this.events.push({ type: 'lost', reason: 'path-timeout', idleMs: now - this.lastHeard });
        return out;
      }
      if (now >= this.nextKeepAlive) {
        out.push(this.request(this.pair!, false, now));
        this.nextKeepAlive = now + this.schedule.keepAliveMs;
      }
    }
    return out;
  }

  handleDatagram(from: Endpoint, data: Uint8Array, now: number): Datagram[] {
    const out: Datagram[] = [];
    if (this.stateValue === 'failed' || this.stateValue === 'lost') return out;
    let probe: Probe;
    try {
      if (!looksLikeProbe(data)) throw new ProbeError('not-a-probe', 'no probe magic');
      probe = openProbe(this.options.probe, data, this.peer);
    } catch (err) {
      if (!(err instanceof ProbeError)) throw err;
      this.drop(err.reason);
      return out;
    }
    const source = key(from);
    if (probe.kind === 'request') {
      // Every valid request is answered, to its source, even before our start.
      out.push({ to: from, data: encodeProbe(this.options.probe, { kind: 'response', direction: this.own, nominate: false, seq: probe.seq }) });
      this.heard(source, now);
      const learned = !this.targets.has(source) && this.targets.size < MAX_TARGETS;
      if (learned) this.targets.set(source, { ip: from.ip, port: from.port, type: 'prflx' });
      if (this.stateValue === 'waiting') {
        this.startAt = now; // the peer has started: so do we (the first round includes the new address)
        this.handleExpiry(now).forEach((d) => out.push(d));
      } else if (learned && this.stateValue === 'checking' && this.selected === undefined) {
        out.push(this.request(source, false, now)); // triggered check
      }
      if (probe.nominate && this.options.role === 'answerer' && this.targets.has(source)) {
        this.nominatedBy.add(source);
        this.tryAnswererConnect(now);
      }
      return out;
    }
    const check = this.checks.get(probe.seq);
    if (!check || check.to !== source) {
      this.drop('unexpected-response');
      return out;
    }
    this.checks.delete(probe.seq);
    this.heard(source, now);
    if (this.stateValue !== 'checking') return out; // a keep-alive answered
    const rtt = now - check.sentAt;
    if (!this.succeeded.has(source)) this.succeeded.set(source, rtt);
    if (this.options.role === 'offerer') {
      if (check.nominate) this.connect(source, rtt, now);
      else if (this.selected === undefined) {
        this.selected = source;
        out.push(this.request(source, true, now));
      }
    } else {
      this.tryAnswererConnect(now);
    }
    return out;
  }

  private sendRound(now: number, out: Datagram[]): void {
    if (this.selected !== undefined) {
      out.push(this.request(this.selected, true, now));
      return;
    }
    for (const k of this.targets.keys()) out.push(this.request(k, false, now));
  }

  private request(to: string, nominate: boolean, now: number): Datagram {
    const target = this.targets.get(to)!;
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    this.checks.set(seq, { to, sentAt: now, nominate });
    // bound the table: checks that were never answered in the budget are worthless afterwards
    if (this.checks.size > 4096) this.checks.delete(this.checks.keys().next().value!);
    return { to: { ip: target.ip, port: target.port }, data: encodeProbe(this.options.probe, { kind: 'request', direction: this.own, nominate, seq }) };
  }

  private heard(source: string, now: number): void {
    this.heardAny = true;
    if (this.pair === undefined || this.pair === source) this.lastHeard = now;
  }

  private tryAnswererConnect(now: number): void {
    if (this.stateValue !== 'checking') return;
    for (const k of this.nominatedBy) {
      const rtt = this.succeeded.get(k);
      if (rtt !== undefined) return this.connect(k, rtt, now);
    }
  }

  private connect(pair: string, rttMs: number, now: number): void {
    this.stateValue = 'connected';
    this.pair = pair;
    this.lastHeard = now;
    this.nextKeepAlive = now + this.schedule.keepAliveMs;
    this.checks.clear();
    this.events.push({ type: 'connected', pair: { remote: this.targets.get(pair)! }, rttMs, durationMs: Math.max(0, now - this.scheduledStart) });
  }

  private failReason(): FailReason {
    if (!this.heardAny) return 'no-probe-received';
    if (this.succeeded.size === 0) return 'no-answer';
    return this.options.role === 'answerer' ? 'not-nominated' : 'no-answer';
  }

  private fail(reason: FailReason, now: number): void {
    this.stateValue = 'failed';
    this.checks.clear();
    this.events.push({ type: 'failed', reason, durationMs: Math.max(0, now - this.scheduledStart) });
  }

  private drop(reason: DropReason): void {
    this.dropCounts.set(reason, (this.dropCounts.get(reason) ?? 0) + 1);
  }
}
