/** What `burrow status --json` prints and what the desktop app will show (public interface). */
import type { TunnelType } from '../config/client-config.js';

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

export interface TunnelStatus extends TrafficCounters {
  name: string;
  type: TunnelType;
  local: string;
  state: ConnectionState;
  /** Why the tunnel is in the error state, e.g. "port 6000 is already in use". */
  error?: string;
  /** "host:port" people connect to (tcp/udp); absent for secret tunnels. */
  remoteAddress?: string;
}

export interface VisitorStatus extends TrafficCounters {
  name: string;
  tunnel: string;
  bind: string;
  state: ConnectionState;
  error?: string;
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
