/**
 * RFC 6062 peer data connections of TCP allocations, as pure state (time comes in as `now`; the
 * sockets live in turn-server.ts). Each connection has a CONNECTION-ID that "MUST uniquely
 * identify the peer data connection" (RFC 6062 §5.2, §6.2.1) and goes
 *
 *   connecting (Connect sent to the peer) → pending (waiting for ConnectionBind) → bound (spliced)
 *
 * An incoming peer connection (ConnectionAttempt, §5.3) starts at pending. "If no ConnectionBind
 * request associated with this peer data connection is received after 30 seconds, the peer data
 * connection MUST be closed" (§5.2, §5.3): `nextExpiry()` says when the next one's 30 s run out
 * and `handleExpiry(now)` removes and returns those.
 */
import { randomInt } from 'node:crypto';
import type { PeerAddress } from './allocation.js';
import { peerKey } from './allocation.js';

/** RFC 6062 §5.2/§5.3: 30 s for the ConnectionBind. */
export const CONNECTION_BIND_TIMEOUT_MS = 30_000;

export type TcpConnectionState = 'connecting' | 'pending' | 'bound';

export interface TcpConnection {
  readonly id: number;
  readonly allocationId: number;
  readonly peer: PeerAddress;
  readonly peerKey: string;
  readonly outgoing: boolean;
  state: TcpConnectionState;
  /** When it became pending (ms). */
  pendingSince: number;
}

export interface TcpConnectionTableOptions {
  /** Most connections (any state) per allocation. Default 128. */
  maxPerAllocation?: number;
  bindTimeoutMs?: number;
  /** Random 32-bit ids (tests may inject). */
  randomId?: () => number;
}

export type CreateResult = TcpConnection | 'exists' | 'capacity';

export class TcpConnectionTable {
  private readonly byId = new Map<number, TcpConnection>();
  private readonly byAllocation = new Map<number, Set<TcpConnection>>();
  private readonly maxPerAllocation: number;
  private readonly bindTimeoutMs: number;
  private readonly randomId: () => number;

  constructor(options: TcpConnectionTableOptions = {}) {
    this.maxPerAllocation = options.maxPerAllocation ?? 128;
    this.bindTimeoutMs = options.bindTimeoutMs ?? CONNECTION_BIND_TIMEOUT_MS;
    this.randomId = options.randomId ?? (() => randomInt(1, 0xffffffff));
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: number): TcpConnection | undefined {
    return this.byId.get(id);
  }

  forAllocation(allocationId: number): TcpConnection[] {
    return [...(this.byAllocation.get(allocationId) ?? [])];
  }

  /**
   * A new connection. 'exists' when the allocation already has one to this peer transport address
   * in any state — for Connect that is RFC 6062 §5.2's 446 (Connection Already Exists).
   */
  create(allocationId: number, peer: PeerAddress, outgoing: boolean, now: number): CreateResult {
    const set = this.byAllocation.get(allocationId) ?? new Set<TcpConnection>();
    const key = peerKey(peer);
    for (const c of set) if (c.peerKey === key) return 'exists';
    if (set.size >= this.maxPerAllocation) return 'capacity';
    let id = this.randomId() >>> 0;
    for (let tries = 0; id === 0 || this.byId.has(id); tries++) {
      if (tries > 100) return 'capacity';
      id = this.randomId() >>> 0;
    }
    const connection: TcpConnection = {
      id,
      allocationId,
      peer,
      peerKey: key,
      outgoing,
      state: outgoing ? 'connecting' : 'pending',
      pendingSince: now,
    };
    this.byId.set(id, connection);
    set.add(connection);
    this.byAllocation.set(allocationId, set);
    return connection;
  }

  /** connecting → pending (the peer accepted): the 30 s for ConnectionBind start now. */
  markPending(id: number, now: number): void {
    const c = this.byId.get(id);
    if (c && c.state === 'connecting') {
      c.state = 'pending';
      c.pendingSince = now;
    }
  }

  /** pending → bound. False unless it was pending. */
  markBound(id: number): boolean {
    const c = this.byId.get(id);
    if (!c || c.state !== 'pending') return false;
    c.state = 'bound';
    return true;
  }

  remove(id: number): TcpConnection | undefined {
    const c = this.byId.get(id);
    if (!c) return undefined;
    this.byId.delete(id);
    const set = this.byAllocation.get(c.allocationId);
    set?.delete(c);
    if (set && set.size === 0) this.byAllocation.delete(c.allocationId);
    return c;
  }

  /** When the earliest pending connection's 30 s run out (ms); undefined when none is pending. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const c of this.byId.values()) {
      if (c.state !== 'pending') continue;
      const at = c.pendingSince + this.bindTimeoutMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** Removes and returns pending connections whose 30 s ran out by `now`. */
  handleExpiry(now: number): TcpConnection[] {
    const out: TcpConnection[] = [];
    for (const c of [...this.byId.values()]) {
      if (c.state === 'pending' && now - c.pendingSince >= this.bindTimeoutMs) {
        this.remove(c.id);
        out.push(c);
      }
    }
    return out;
  }
}
