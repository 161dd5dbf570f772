/**
 * A tunnel as the client engine tracks it: its config, its state on the server, its traffic; and
 * what one tunnel type registers in the engine (engine/tunnels/registry.ts).
 */
import type { Logger } from 'pino';
import type { FramedConnection } from '../io/framed-connection.js';
import type { Clock } from '../shared/clock.js';
import type { TunnelConfig } from '../shared/config/client-config.js';
import type { MessageOf } from '../shared/protocol/messages.js';
import { TokenBucket } from '../shared/token-bucket.js';
import { TrafficStats } from '../shared/traffic-stats.js';
import type { ConnectionState, TunnelStatus } from '../shared/types/status.js';

/** What serving one work connection may use besides the connection and its tunnel. */
export interface WorkConnServeDeps {
  readonly logger: Logger;
  /** False once the server is known dead: asked before a FIN from a raw work connection is passed on (io/peer-alive.ts). */
  readonly peerAlive?: () => Promise<boolean>;
}

/** What the client asks the server for (NewTunnel without its `type`). */
export type TunnelRequest = Omit<MessageOf<'NewTunnel'>, 'type'>;

/**
 * One tunnel type in the engine (one module in engine/tunnels/): what it asks the server for, what
 * a work connection (or mux stream) carries after StartWorkConn and how it is served, and the
 * type's own status fields.
 */
export interface EngineTunnelType<C extends TunnelConfig = TunnelConfig> {
  /**
   * After StartWorkConn: `bytes`, the connection becomes a raw byte pipe (framing stops right
   * after the message); `datagrams`, it stays framed and carries UdpDatagram frames.
   */
  readonly carries: 'bytes' | 'datagrams';
  /** The NewTunnel request for this config (never a secret itself, only what derives from it). */
  request(config: C): TunnelRequest;
  /** Serves one work connection whose StartWorkConn named this tunnel; resolves when it is done. */
  serve(conn: FramedConnection, start: MessageOf<'StartWorkConn'>, tunnel: ClientTunnel<C>, deps: WorkConnServeDeps): Promise<void>;
  /** Status fields of this type, e.g. the public address people connect to. */
  statusFields(tunnel: ClientTunnel<C>, serverHost: string): Partial<Pick<TunnelStatus, 'remoteAddress'>>;
}

/** Burst allowance of a bandwidth-limited tunnel: a quarter second of traffic, at least 16 KiB. */
function burstFor(rate: number): number {
  return Math.max(16 * 1024, Math.floor(rate / 4));
}

export class ClientTunnel<C extends TunnelConfig = TunnelConfig> {
  state: ConnectionState = 'connecting';
  error: string | undefined;
  remotePort: number | undefined;
  readonly stats = new TrafficStats();
  /** Shared by all of the tunnel's connections: the limit is per tunnel, per direction. */
  readonly inbound: TokenBucket | undefined;
  readonly outbound: TokenBucket | undefined;

  /** `clock`: the monotonic clock its bandwidth limits and udp sessions run on. */
  constructor(
    readonly config: C,
    /** This tunnel's type: how it registers, serves and reports. */
    readonly tunnelType: EngineTunnelType<C>,
    readonly clock: Clock,
  ) {
    if (config.bandwidth !== undefined) {
      this.inbound = new TokenBucket(config.bandwidth, burstFor(config.bandwidth), clock.now());
      this.outbound = new TokenBucket(config.bandwidth, burstFor(config.bandwidth), clock.now());
    }
  }

  get name(): string {
    return this.config.name;
  }

  status(serverHost: string): TunnelStatus {
    return {
      name: this.config.name,
      type: this.config.type,
      local: this.config.local,
      state: this.state,
      ...(this.error !== undefined ? { error: this.error } : {}),
      ...this.tunnelType.statusFields(this, serverHost),
      ...this.stats.snapshot(),
    };
  }
}
