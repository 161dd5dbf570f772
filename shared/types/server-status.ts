/** What the server's admin API returns (public interface: see README "Admin API"). */
import type { TunnelType } from '../config/client-config.js';
import type { TrafficCounters } from './status.js';

export interface ServerTunnelInfo extends TrafficCounters {
  name: string;
  type: TunnelType;
  clientId: string;
  /** Public port (tcp/udp). */
  remotePort?: number;
  createdAt: string;
}

export interface ServerClientInfo extends TrafficCounters {
  clientId: string;
  sessionId: string;
  /** Source address of the control connection. */
  address: string;
  version: string;
  connectedAt: string;
  idleWorkConnections: number;
  /** Streams open on the client's multiplexed connection; absent when it has none (work connections only). */
  muxStreams?: number;
  tunnels: ServerTunnelInfo[];
}

export interface ServerCounters {
  loginsSucceeded: number;
  loginsFailed: number;
  loginsRateLimited: number;
  protocolErrors: number;
  refusedByAccessList: number;
  workConnTimeouts: number;
  visitorsRefused: number;
}

export interface ServerSnapshot {
  version: string;
  startedAt: string;
  listen: string;
  tls: boolean;
  fingerprint?: string;
  clients: ServerClientInfo[];
  counters: ServerCounters;
  /** Present when the config has a `stun` section. */
  stun?: {
    addresses: { udp: TransportAddressInfo[]; tcp: TransportAddressInfo[]; tls?: TransportAddressInfo };
    stats: object;
  };
  /** Present when the config has a `turn` section. */
  turn?: { stats: TurnStats; allocations: TurnAllocationInfo[] };
}

/** TURN relay counters: what is live now, and what was relayed and refused since start. */
export interface TurnStats {
  allocations: number;
  permissions: number;
  channels: number;
  bytesRelayed: { toPeers: number; fromPeers: number };
  packetsRelayed: { toPeers: number; fromPeers: number };
  authFailures: number;
}

export interface TurnAllocationInfo {
  username: string;
  /** "udp://203.0.113.5:4000" (the client's transport and server-reflexive address). */
  client: string;
  /** Relayed transport addresses, "198.51.100.1:50000". */
  relayed: string[];
  /** 'udp' or 'tcp' (RFC 6062) relaying. */
  transport: 'udp' | 'tcp';
  expiresInSeconds: number;
  permissions: number;
  channels: number;
  bytesToPeers: number;
  bytesFromPeers: number;
}

export interface TransportAddressInfo {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}
