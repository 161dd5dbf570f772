/**
 * The seam between the two halves of the engine's peer-to-peer code (issue 9):
 *
 * - establishing a path (signalling over the control connection, candidate gathering with STUN on
 *   the punching socket, the PunchSession driven over that socket, keep-alives, loss, re-punching)
 *   produces a PunchedPath: a UDX socket that reaches the peer at `remote`;
 * - carrying traffic (engine/p2p/direct-transport.ts: Noise-encrypted udx streams, one per user
 *   connection, and encrypted datagrams for UDP services; the p2p tunnel and visitor types; relay
 *   fallback) consumes PunchedPaths and never punches.
 *
 * Types only. Both halves are tested on their own: the transport over two UDX sockets on loopback
 * (a PunchedPath made by hand), the punching with a recording fake instead of the transport.
 */
import type { P2pPairRecord } from '../../shared/types/status.js';
import type { UdxSocket } from 'udx-native';
import type { P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import type { PunchAttemptStatus } from '../../shared/types/status.js';
import type { PunchStrategy } from './strategy.js';

export interface PathEndpoint {
  readonly ip: string;
  readonly port: number;
}

/** One punch attempt, as `burrow status --json` lists it (newest last, a few kept). */
export type PunchAttempt = PunchAttemptStatus;

/** A UDX socket through both NATs to the peer: what punching hands to the transport. */
export interface PunchedPath {
  readonly sessionId: Uint8Array;
  /** The offerer is the visitor side; the answerer is the side serving the tunnel. */
  readonly role: 'offerer' | 'answerer';
  /** The socket the probes went over; the transport's udx streams use it too. */
  readonly socket: UdxSocket;
  /** The candidate pair in use. */
  readonly local: PathEndpoint;
  readonly remote: PathEndpoint;
  /** Round-trip time measured by the probes (ms). */
  readonly rttMs: number;
  readonly strategy: PunchStrategy;
  readonly localNat: P2pNatReport;
  readonly remoteNat: P2pNatReport;
  /**
   * Called once when the path is known dead (keep-alives unanswered for the path timeout, or the
   * punching side closed it). The transport then resets its streams and new connections take the relay.
   */
  onLost(listener: (reason: string) => void): void;
  /** Stop keep-alives and close the socket (the transport calls it when it is done with the path). */
  close(): Promise<void>;
}

/**
 * The visitor side: asks for a direct path to `tunnel` (proving `secret`), or answers null when the
 * strategy says relay or the punch failed (the reason is in attempts()). Never throws for a failed punch.
 */
export interface DirectPathDialer {
  dial(request: { readonly tunnel: string; readonly secret: string; readonly signal?: AbortSignal }): Promise<PunchedPath | null>;
  /** The attempts so far for this tunnel, for status. */
  attempts(tunnel: string): readonly PunchAttempt[];
  /** Both sides' NAT reports from the latest attempt that got the peer's (also one that chose the relay). */
  nat(tunnel: string): { readonly local: P2pNatReport; readonly remote: P2pNatReport } | undefined;
  /** Datagrams that looked like probes but were not valid ones of this tunnel's sessions, so far. */
  rejectedProbes(tunnel: string): number;
  /** Per address pair: the strategy tried and how its attempts ended (pair-record.ts). */
  strategies?(tunnel: string): readonly P2pPairRecord[];
}

/** The serving side: every path a visitor punched to one of our p2p tunnels. */
export interface DirectPathListener {
  onPath(tunnel: string, listener: (path: PunchedPath) => void): void;
  attempts(tunnel: string): readonly PunchAttempt[];
  nat(tunnel: string): { readonly local: P2pNatReport; readonly remote: P2pNatReport } | undefined;
  rejectedProbes(tunnel: string): number;
}
