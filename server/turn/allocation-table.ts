/**
 * All allocations, indexed by 5-tuple, with the quota counts (RFC 8656 §7.2: 486 Allocation Quota
 * Reached per user, 508 Insufficient Capacity in total). Pure, with ngtcp2's get_expiry /
 * handle_expiry contract: `nextExpiry()` says when something (an allocation, a permission, a
 * channel binding) next expires, and `handleExpiry(now)` removes what has expired by `now` and
 * returns the allocations that went, so the I/O layer can close their sockets. Nothing polls.
 */
import { canonicalIp } from '../../shared/net/address.js';
import type { Allocation, RelayTransport } from './allocation.js';

export interface QuotaLimits {
  userQuota: number;
  totalQuota: number;
}

export type QuotaCheck = 'ok' | 'user-quota' | 'total-quota';

export interface ExpiryReport {
  /** Allocations whose lifetime ended (already removed from the table). */
  allocations: Allocation[];
  permissions: number;
  channels: number;
}

export class AllocationTable {
  private readonly byClient = new Map<string, Allocation>();
  private readonly byId = new Map<number, Allocation>();
  private readonly perUser = new Map<string, number>();
  /**
   * Live allocations by relayed transport address (as advertised): transport -> port -> IP. Looked
   * up for every datagram a client sends to a peer, so no key string is built.
   */
  private readonly byRelayed = new Map<RelayTransport, Map<number, Map<string, Allocation>>>();
  /** How many live relayed addresses use each IP (as advertised). */
  private readonly relayIps = new Map<string, number>();
  /** Allocations being set up (relay sockets being bound): they count against quotas too. */
  private readonly reserved = new Map<string, number>();
  private reservedTotal = 0;

  constructor(private readonly limits: QuotaLimits) {}

  get size(): number {
    return this.byClient.size;
  }

  get(clientKey: string): Allocation | undefined {
    return this.byClient.get(clientKey);
  }

  getById(id: number): Allocation | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Allocation> {
    return this.byClient.values();
  }

  /** Allocations `quotaKey` holds (including ones being set up). */
  userCount(quotaKey: string): number {
    return (this.perUser.get(quotaKey) ?? 0) + (this.reserved.get(quotaKey) ?? 0);
  }

  /** Whether one more allocation for `quotaKey` fits. */
  check(quotaKey: string): QuotaCheck {
    if (this.userCount(quotaKey) >= this.limits.userQuota) return 'user-quota';
    if (this.byClient.size + this.reservedTotal >= this.limits.totalQuota) return 'total-quota';
    return 'ok';
  }

  /** Holds a quota slot while the relay sockets are bound (asynchronous); release with `unreserve`. */
  reserve(quotaKey: string): void {
    this.reserved.set(quotaKey, (this.reserved.get(quotaKey) ?? 0) + 1);
    this.reservedTotal++;
  }

  unreserve(quotaKey: string): void {
    const n = (this.reserved.get(quotaKey) ?? 0) - 1;
    if (n > 0) this.reserved.set(quotaKey, n);
    else this.reserved.delete(quotaKey);
    this.reservedTotal = Math.max(0, this.reservedTotal - 1);
  }

  /** Adds an allocation; throws if its 5-tuple already has one (callers check first: 437). */
  add(allocation: Allocation): void {
    if (this.byClient.has(allocation.clientKey)) throw new Error(`5-tuple ${allocation.clientKey} already has an allocation`);
    this.byClient.set(allocation.clientKey, allocation);
    this.byId.set(allocation.id, allocation);
    this.perUser.set(allocation.quotaKey, (this.perUser.get(allocation.quotaKey) ?? 0) + 1);
    for (const r of allocation.relayed) {
      const ip = canonicalIp(r.address) ?? r.address;
      this.setRelayed(allocation.transport, ip, r.port, allocation);
      this.relayIps.set(ip, (this.relayIps.get(ip) ?? 0) + 1);
    }
  }

  /** Removes an allocation; false if it was not in the table. */
  remove(allocation: Allocation): boolean {
    if (this.byClient.get(allocation.clientKey) !== allocation) return false;
    this.byClient.delete(allocation.clientKey);
    this.byId.delete(allocation.id);
    const n = (this.perUser.get(allocation.quotaKey) ?? 1) - 1;
    if (n > 0) this.perUser.set(allocation.quotaKey, n);
    else this.perUser.delete(allocation.quotaKey);
    for (const r of allocation.relayed) {
      const ip = canonicalIp(r.address) ?? r.address;
      this.deleteRelayed(allocation.transport, ip, r.port, allocation);
      const left = (this.relayIps.get(ip) ?? 1) - 1;
      if (left > 0) this.relayIps.set(ip, left);
      else this.relayIps.delete(ip);
    }
    return true;
  }

  private setRelayed(transport: RelayTransport, ip: string, port: number, allocation: Allocation): void {
    let byPort = this.byRelayed.get(transport);
    if (!byPort) this.byRelayed.set(transport, (byPort = new Map()));
    let byIp = byPort.get(port);
    if (!byIp) byPort.set(port, (byIp = new Map()));
    byIp.set(ip, allocation);
  }

  private deleteRelayed(transport: RelayTransport, ip: string, port: number, allocation: Allocation): void {
    const byPort = this.byRelayed.get(transport);
    const byIp = byPort?.get(port);
    if (!byPort || !byIp || byIp.get(ip) !== allocation) return;
    byIp.delete(ip);
    if (byIp.size === 0) byPort.delete(port);
  }

  /** The live allocation whose relayed address (as advertised) is `ip`:`port`, if any. `ip` canonical. */
  relayedAt(transport: RelayTransport, ip: string, port: number): Allocation | undefined {
    return this.byRelayed.get(transport)?.get(port)?.get(ip);
  }

  /**
   * The address source the peer policy asks (RelayedAddressLookup): with a port, whether a live
   * allocation relays on exactly `ip`:`port` (UDP or TCP); without one, whether any relays on `ip`.
   */
  isRelayed(ip: string, port?: number): boolean {
    if (port === undefined) return this.relayIps.has(ip);
    return this.relayedAt('udp', ip, port) !== undefined || this.relayedAt('tcp', ip, port) !== undefined;
  }

  /** The earliest expiry (ms) of any allocation, permission or channel binding; undefined when empty. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const allocation of this.byClient.values()) {
      const at = allocation.nextExpiry();
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /**
   * Removes allocations that expired by `now` (RFC 8656 §7: "When the time-to-expiry reaches 0,
   * the allocation is deleted") and sweeps expired permissions (§9) and channel bindings (§12) of
   * the others.
   */
  handleExpiry(now: number): ExpiryReport {
    const report: ExpiryReport = { allocations: [], permissions: 0, channels: 0 };
    for (const allocation of [...this.byClient.values()]) {
      if (allocation.isExpired(now)) {
        this.remove(allocation);
        report.allocations.push(allocation);
        continue;
      }
      const swept = allocation.expire(now);
      report.permissions += swept.permissions;
      report.channels += swept.channels;
    }
    return report;
  }
}

