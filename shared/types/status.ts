/** What `burrow status --json` prints and what the desktop app will show (public interface). */

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
  type: 'tcp' | 'udp' | 'secret';
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
  tunnels: TunnelStatus[];
  visitors: VisitorStatus[];
}
