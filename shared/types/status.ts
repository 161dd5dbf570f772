/** What `burrow status --json` prints and what the desktop app will show (public interface). */
import type { TunnelType } from '../config/client-config.js';
import type { P2pNatReport } from '../protocol/p2p-messages.js';

export type ConnectionState = 'connecting' | 'online' | 'error' | 'stopped';

export interface TrafficCounters {
  /** Bytes from remote users towards the local service. */
  bytesIn: number;
  /** Bytes from the local service back to remote users. */
  bytesOut: number;
  /** Connections (tcp/secret) or sender sessions (udp) open now. */
  activeConnections: number;
  /** Connections or sessions since the tunnel came up. */
  totalConnections: number;
}

/** One punch attempt (newest last; a few are kept). */
export interface PunchAttemptStatus {
  sessionId: string;
  /** Wall-clock start, ms since the epoch. */
  startedAt: number;
  outcome: 'connecting' | 'direct' | 'relay' | 'failed' | 'lost';
  /** Why, in words: the NAT pair and strategy, and how a punch failed or a path was lost. */
  reason?: string;
  durationMs?: number;
  rttMs?: number;
}

export interface PathCounters {
  bytesIn: number;
  bytesOut: number;
  /** Connections carried on this path so far. */
  connections: number;
}

/** Which strategy worked for one address pair: our public IP and the peer's, as the NATs showed the server. */
export interface P2pPairRecord {
  local: string;
  remote: string;
  /** The latest attempt's strategy: `simultaneous`, `learn-peer-port`, `symmetric-to-cone` or `relay`. */
  strategy: string;
  /** Attempts with this pair that ended direct, whose punch failed, or that the strategy sent to the relay. */
  direct: number;
  failed: number;
  relay: number;
  lastOutcome: 'direct' | 'failed' | 'relay';
  /** Wall clock, ms since the epoch. */
  lastAt: number;
  /** The fastest punch that worked (ms). */
  bestPunchMs?: number;
}

/** Peer-to-peer state of a p2p visitor or tunnel (issue 9). */
export interface P2pStatus {
  /** direct: a punched path is up and new connections take it; relay: none is; connecting: the first attempt runs. */
  path: 'direct' | 'relay' | 'connecting';
  /** The candidate pair in use ("ip:port"), while direct. */
  pair?: { local: string; remote: string };
  /** Round-trip time measured by the punch probes (ms), while direct. */
  rttMs?: number;
  /** Both sides' NAT reports from the latest attempt that got that far. */
  nat?: { local: P2pNatReport; remote: P2pNatReport };
  attempts: PunchAttemptStatus[];
  /** Per address pair, most recent first: which strategy was tried and how its attempts ended. */
  strategies?: P2pPairRecord[];
  /**
   * Datagrams that looked like punch probes but were not valid ones of this tunnel's sessions (wrong
   * session, wrong MAC, malformed: someone without the secret), dropped, summed over attempts and
   * live paths. Duplicate answers from the peer (good MAC) are not counted.
   */
  rejectedProbes: number;
  direct: PathCounters;
  relay: PathCounters;
  /**
   * protocol udp only: user datagrams not delivered on purpose (UDP semantics, never queued): larger
   * than the direct path carries (1400 bytes), no path at all (fallback none), or too many waiting.
   */
  datagramsDropped?: number;
}

export interface TunnelStatus extends TrafficCounters {
  name: string;
  type: TunnelType;
  local: string;
  state: ConnectionState;
  /** Why the tunnel is in the error state, e.g. "port 6000 is already in use". */
  error?: string;
  /** "host:port" people connect to (tcp/udp); absent for secret tunnels. */
  remoteAddress?: string;
  /** p2p tunnels only. */
  p2p?: P2pStatus;
}

export interface VisitorStatus extends TrafficCounters {
  name: string;
  tunnel: string;
  bind: string;
  /** "secret" (relay only) or "p2p" (direct when it can, relay otherwise). */
  type: 'secret' | 'p2p';
  state: ConnectionState;
  error?: string;
  /** p2p visitors only. */
  p2p?: P2pStatus;
}

/** Why a control session ended. */
export interface DisconnectInfo {
  /** e.g. "no heartbeat reply for 30 s", "server closed the session: replaced by a new login of the same client", "connection closed by peer". */
  reason: string;
  /** When it ended (ISO 8601, UTC). */
  at: string;
}

export interface ClientStatus {
  server: string;
  clientId: string;
  state: ConnectionState;
  error?: string;
  /** SHA-256 fingerprint of the server certificate in use (TLS only). */
  serverFingerprint?: string;
  /** Milliseconds since the control connection came up. */
  uptimeMs?: number;
  reconnects: number;
  /** The last time a logged-in session to the server ended, and why (absent until one has). */
  lastDisconnect?: DisconnectInfo;
  tunnels: TunnelStatus[];
  visitors: VisitorStatus[];
}
