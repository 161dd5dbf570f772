/**
 * Peer-to-peer signalling on the server (issue 9): a visitor's P2pOffer for a p2p tunnel goes to
 * the client that owns the tunnel, its P2pAnswer back to the visitor, then both get the same
 * P2pStart. The server checks the visitor's proof of the tunnel secret before anything is
 * forwarded, drops the proof, and never forwards to or from anyone but the two parties of an
 * attempt. It owns no socket and no timer: calls take the time (`now()` is the server's wall
 * clock, ms since the epoch, because P2pStart carries it) and stale attempts are swept on each call.
 */
import type { Logger } from 'pino';
import { p2pOfferProof, proofsEqual } from '../io/auth-proof.js';
import type { Message, MessageOf } from '../shared/protocol/messages.js';

/** A logged-in client as signalling sees it. */
export interface SignalPeer {
  readonly sessionId: string;
  readonly clientId: string;
  send(message: Message): boolean;
}

/** A tunnel visitors reach by name (server/visitor-targets.ts). */
export interface SignalTarget {
  readonly type: string;
  readonly clientId: string;
  readonly secretKey: string;
}

export interface P2pSignallingDeps {
  readonly target: (tunnel: string) => SignalTarget | undefined;
  /** The live session of a client id, if it is connected. */
  readonly sessionOf: (clientId: string) => SignalPeer | undefined;
  readonly now: () => number;
  readonly logger: Logger;
  /**
   * startAt = now + this (ms): both P2pStarts leave at once, so the margin only has to cover the
   * slower of the two one-way delays; a side whose Start arrives late starts at once on the
   * peer's first probe (engine/p2p/punch-session.ts). Default 100 ms.
   */
  readonly startMarginMs?: number;
  /** Attempts one visitor session may have unanswered at once. Default 8. */
  readonly maxPendingPerSession?: number;
  /** An unanswered attempt is forgotten after this long (ms). Default 10 s. */
  readonly pendingTtlMs?: number;
}

interface Pending {
  readonly visitor: SignalPeer;
  readonly ownerClientId: string;
  readonly tunnel: string;
  readonly createdAt: number;
}

/** How an attempt ended, as either side reported it (for the admin API). */
export interface P2pResultRecord {
  readonly tunnel: string;
  readonly from: 'visitor' | 'owner';
  readonly clientId: string;
  readonly path: 'direct' | 'relay';
  readonly reason?: string;
  readonly rttMs?: number;
  readonly durationMs?: number;
  readonly at: number;
}

const MAX_RESULTS = 64;

export class P2pSignalling {
  private readonly pending = new Map<string, Pending>();
  /** Attempts that got their Start, for matching results to a tunnel: session id -> pending. */
  private readonly started = new Map<string, Pending>();
  private readonly recent: P2pResultRecord[] = [];
  readonly counters = { offers: 0, refused: 0, started: 0 };

  constructor(private readonly deps: P2pSignallingDeps) {}

  offer(from: SignalPeer, m: MessageOf<'P2pOffer'>): void {
    const now = this.deps.now();
    this.sweep(now);
    this.counters.offers++;
    const refuse = (reason: string) => {
      this.counters.refused++;
      this.deps.logger.info({ tunnel: m.tunnel, clientId: from.clientId, reason }, 'p2p offer refused');
      from.send({ type: 'P2pRefused', sessionId: m.sessionId, reason });
    };
    const target = this.deps.target(m.tunnel);
    if (!target || target.type !== 'p2p') return refuse(`no p2p tunnel named "${m.tunnel}" on this server`);
    // Same answer for a missing and a wrong proof, and compared in constant time.
    if (!m.secretProof || !proofsEqual(p2pOfferProof(target.secretKey, from.sessionId, m.sessionId, m.nonce), m.secretProof)) {
      return refuse(`wrong secret for p2p tunnel "${m.tunnel}"`);
    }
    if (target.clientId === from.clientId) return refuse('a client cannot punch to its own tunnel');
    if (this.pending.has(m.sessionId) || this.started.has(m.sessionId)) return refuse('session id already in use');
    let mine = 0;
    for (const p of this.pending.values()) if (p.visitor.sessionId === from.sessionId) mine++;
    if (mine >= (this.deps.maxPendingPerSession ?? 8)) return refuse('too many punch attempts at once; try again shortly');
    const owner = this.deps.sessionOf(target.clientId);
    if (!owner) return refuse(`the client serving "${m.tunnel}" is not connected`);
    this.pending.set(m.sessionId, { visitor: from, ownerClientId: target.clientId, tunnel: m.tunnel, createdAt: now });
    const forwarded: MessageOf<'P2pOffer'> = { ...m };
    delete forwarded.secretProof;
    owner.send(forwarded);
  }

  answer(from: SignalPeer, m: MessageOf<'P2pAnswer'>): void {
    const now = this.deps.now();
    this.sweep(now);
    const p = this.pending.get(m.sessionId);
    // Only the owner the offer went to may answer it; anything else is ignored (and counted).
    if (!p || p.ownerClientId !== from.clientId) {
      this.deps.logger.debug({ clientId: from.clientId }, 'p2p answer for no attempt of this client ignored');
      return;
    }
    this.pending.delete(m.sessionId);
    const visitor = this.deps.sessionOf(p.visitor.clientId);
    if (!visitor || visitor.sessionId !== p.visitor.sessionId) return;
    visitor.send(m);
    const start: MessageOf<'P2pStart'> = { type: 'P2pStart', sessionId: m.sessionId, startAt: now + (this.deps.startMarginMs ?? 100), serverTime: now };
    visitor.send(start);
    from.send(start);
    this.counters.started++;
    this.started.set(m.sessionId, { ...p, createdAt: now });
  }

  result(from: SignalPeer, m: MessageOf<'P2pResult'>): void {
    const now = this.deps.now();
    this.sweep(now);
    const p = this.started.get(m.sessionId);
    if (!p) return;
    const side = from.sessionId === p.visitor.sessionId ? 'visitor' : from.clientId === p.ownerClientId ? 'owner' : undefined;
    if (!side) return;
    this.recent.push({
      tunnel: p.tunnel,
      from: side,
      clientId: from.clientId,
      path: m.path,
      at: now,
      ...(m.reason !== undefined ? { reason: m.reason } : {}),
      ...(m.rttMs !== undefined ? { rttMs: m.rttMs } : {}),
      ...(m.durationMs !== undefined ? { durationMs: m.durationMs } : {}),
    });
    if (this.recent.length > MAX_RESULTS) this.recent.shift();
  }

  /** The latest results, oldest first. */
  results(): readonly P2pResultRecord[] {
    return this.recent;
  }

  private sweep(now: number): void {
    const ttl = this.deps.pendingTtlMs ?? 10_000;
    for (const [id, p] of this.pending) if (now - p.createdAt > ttl) this.pending.delete(id);
    // results come within seconds of the start; keep the id a minute to match them
    for (const [id, p] of this.started) if (now - p.createdAt > 60_000) this.started.delete(id);
  }
}
