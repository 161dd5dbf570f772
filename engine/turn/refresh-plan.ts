/**
 * When a TURN client refreshes what it holds. Pure: time is an argument; the adapter arms one timer
 * for `nextAt()` and runs whatever `due(now)` returns.
 *
 * - The allocation lasts LIFETIME seconds (RFC 8656 §7: default 600); it is refreshed with Refresh.
 * - A permission lasts 300 s (RFC 8656 §9: "Permission Lifetime ... 300 seconds (= 5 minutes)") and is
 *   refreshed with CreatePermission. A ChannelBind installs one for the peer's IP too, which therefore
 *   also needs refreshing: the channel outlives it.
 * - A channel binding lasts 600 s (§12: "10 minutes") and is refreshed with the same ChannelBind.
 *
 * Each is refreshed a lead time before it expires: a minute, or half the lifetime when that is
 * shorter. A failed refresh is retried every `retryMs` until the item expires.
 */
import type { TransportAddress } from '../../shared/stun/message.js';

export const PERMISSION_LIFETIME_MS = 300_000;
export const CHANNEL_LIFETIME_MS = 600_000;
export const REFRESH_LEAD_MS = 60_000;
export const REFRESH_RETRY_MS = 5_000;

export type RefreshItem = { kind: 'allocation' } | { kind: 'permission'; ip: string } | { kind: 'channel'; channel: number; peer: TransportAddress };

interface Entry {
  item: RefreshItem;
  expiresAt: number;
  refreshAt: number;
  inFlight: boolean;
}

/** When to refresh something that lasts `lifetimeMs` from `now`. */
export function refreshTime(now: number, lifetimeMs: number): number {
  return now + lifetimeMs - Math.min(REFRESH_LEAD_MS, lifetimeMs / 2);
}

function keyOf(item: RefreshItem): string {
  switch (item.kind) {
    case 'allocation':
      return 'allocation';
    case 'permission':
      return `permission ${item.ip}`;
    case 'channel':
      return `channel ${item.channel}`;
  }
}

export class RefreshPlan {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly retryMs = REFRESH_RETRY_MS) {}

  private set(item: RefreshItem, now: number, lifetimeMs: number): void {
    this.entries.set(keyOf(item), { item, expiresAt: now + lifetimeMs, refreshAt: refreshTime(now, lifetimeMs), inFlight: false });
  }

  /** The allocation was created or refreshed with this lifetime (seconds); 0 forgets everything. */
  setAllocation(now: number, lifetimeSeconds: number): void {
    if (lifetimeSeconds <= 0) {
      this.entries.clear();
      return;
    }
    this.set({ kind: 'allocation' }, now, lifetimeSeconds * 1000);
  }

  /** A permission for `ip` was installed or refreshed at `now`. */
  setPermission(ip: string, now: number): void {
    this.set({ kind: 'permission', ip }, now, PERMISSION_LIFETIME_MS);
  }

  /** `channel` was bound (or re-bound) to `peer` at `now`; this also installed a permission. */
  setChannel(channel: number, peer: TransportAddress, now: number): void {
    this.set({ kind: 'channel', channel, peer }, now, CHANNEL_LIFETIME_MS);
    this.setPermission(peer.address, now);
  }

  /** Stop refreshing `item`. */
  forget(item: RefreshItem): void {
    this.entries.delete(keyOf(item));
  }

  clear(): void {
    this.entries.clear();
  }

  /** Items to refresh now; each is marked in flight until `succeeded` or `failed`. */
  due(now: number): RefreshItem[] {
    const out: RefreshItem[] = [];
    for (const e of this.entries.values()) {
      if (!e.inFlight && e.refreshAt <= now) {
        e.inFlight = true;
        out.push(e.item);
      }
    }
    return out;
  }

  /** The refresh of `item` worked. Allocations pass the granted lifetime (seconds). */
  succeeded(item: RefreshItem, now: number, lifetimeSeconds?: number): void {
    switch (item.kind) {
      case 'allocation':
        this.setAllocation(now, lifetimeSeconds ?? 0);
        return;
      case 'permission':
        this.setPermission(item.ip, now);
        return;
      case 'channel':
        this.setChannel(item.channel, item.peer, now);
        return;
    }
  }

  /**
   * The refresh of `item` failed: retry later, or give up once it has expired. Returns true if
   * the item is now gone.
   */
  failed(item: RefreshItem, now: number): boolean {
    const key = keyOf(item);
    const e = this.entries.get(key);
    if (!e) return true;
    if (now + this.retryMs >= e.expiresAt) {
      this.entries.delete(key);
      return true;
    }
    e.inFlight = false;
    e.refreshAt = now + this.retryMs;
    return false;
  }

  /** When `due` will next return something (Infinity when nothing is held). */
  nextAt(): number {
    let next = Infinity;
    for (const e of this.entries.values()) if (!e.inFlight && e.refreshAt < next) next = e.refreshAt;
    return next;
  }

  /** When `item` expires, if it is held. */
  expiresAt(item: RefreshItem): number | undefined {
    return this.entries.get(keyOf(item))?.expiresAt;
  }

  has(item: RefreshItem): boolean {
    return this.entries.has(keyOf(item));
  }
}
