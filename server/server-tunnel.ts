/** What a session needs from each of its tunnels, and what tunnels need from their session. */
import type { Logger } from 'pino';
import type { FramedConnection } from '../io/framed-connection.js';
import type { Clock } from '../shared/clock.js';
import type { TunnelKind } from '../shared/protocol/messages.js';
import type { TrafficStats } from '../shared/traffic-stats.js';
import type { ServerCounters } from '../shared/types/server-status.js';

export interface ServerTunnel {
  readonly name: string;
  readonly type: TunnelKind;
  readonly remotePort?: number;
  readonly stats: TrafficStats;
  readonly createdAt: Date;
  /** Stops accepting and closes the tunnel's live connections. */
  close(): Promise<void>;
}

export interface WorkConnSource {
  /** A ready work connection of this client, waiting up to timeoutMs for one. */
  takeWorkConn(timeoutMs: number): Promise<FramedConnection>;
  /** Give back a work connection that was taken but not used. */
  returnWorkConn(conn: FramedConnection): void;
}

export interface TunnelContext {
  readonly clientId: string;
  readonly logger: Logger;
  readonly workConns: WorkConnSource;
  readonly workConnTimeoutMs: () => number;
  readonly counters: ServerCounters;
  /** The monotonic clock for session expiry (udp senders). */
  readonly clock: Clock;
  /** Resolves false once the client is known dead: asked before a FIN from a raw work connection is passed on. */
  readonly peerAlive?: () => Promise<boolean>;
}

/** A tunnel request the server refuses, with a reason the client shows the user. */
export class TunnelError extends Error {
  override readonly name = 'TunnelError';
}
