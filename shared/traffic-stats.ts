/** Mutable traffic counters kept per tunnel, session and visitor. */
import type { TrafficCounters } from './types/status.js';

export class TrafficStats implements TrafficCounters {
  bytesIn = 0;
  bytesOut = 0;
  activeConnections = 0;
  totalConnections = 0;

  opened(): void {
    this.activeConnections++;
    this.totalConnections++;
  }

  closed(): void {
    this.activeConnections--;
  }

  snapshot(): TrafficCounters {
    const { bytesIn, bytesOut, activeConnections, totalConnections } = this;
    return { bytesIn, bytesOut, activeConnections, totalConnections };
  }
}
