/** A tunnel as the client engine tracks it: its config, its state on the server, its traffic. */
import type { Clock } from '../shared/clock.js';
import type { TunnelConfig } from '../shared/config/client-config.js';
import { formatHostPort } from '../shared/net/address.js';
import { TokenBucket } from '../shared/token-bucket.js';
import { TrafficStats } from '../shared/traffic-stats.js';
import type { ConnectionState, TunnelStatus } from '../shared/types/status.js';

/** Burst allowance of a bandwidth-limited tunnel: a quarter second of traffic, at least 16 KiB. */
function burstFor(rate: number): number {
  return Math.max(16 * 1024, Math.floor(rate / 4));
}

export class ClientTunnel {
  state: ConnectionState = 'connecting';
  error: string | undefined;
  remotePort: number | undefined;
  readonly stats = new TrafficStats();
  /** Shared by all of the tunnel's connections: the limit is per tunnel, per direction. */
  readonly inbound: TokenBucket | undefined;
  readonly outbound: TokenBucket | undefined;

  /** `clock`: the monotonic clock its bandwidth limits and udp sessions run on. */
  constructor(
    readonly config: TunnelConfig,
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
      ...(this.remotePort !== undefined && this.config.type !== 'secret'
        ? { remoteAddress: formatHostPort(serverHost, this.remotePort) }
        : {}),
      ...this.stats.snapshot(),
    };
  }
}
