/**
 * One TURN allocation as a state machine (RFC 8656 §2.2, §5): its 5-tuple, owner, relayed
 * transport address(es), lifetime, permissions and channel bindings. Pure: time comes in as `now`
 * (ms); it owns no sockets or timers (the relay sockets live in the I/O layer, turn-server.ts).
 */
import { TokenBucket } from '../../shared/token-bucket.js';
import type { ClientProtocol } from '../stun/client-transport.js';
import type { IpFamily } from '../../shared/net/address.js';

/** RFC 8656 §9: "The Permission Lifetime MUST be 300 seconds (= 5 minutes)." */
export const PERMISSION_LIFETIME_MS = 300_000;
/** RFC 8656 §12: a channel binding lasts 10 minutes unless refreshed. */
export const CHANNEL_LIFETIME_MS = 600_000;

/** A peer transport address; `address` is in canonical form (ip.ts canonicalIp). */
export interface PeerAddress {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
}

/** A relayed transport address as advertised to the client (XOR-RELAYED-ADDRESS). */
export interface RelayedAddress {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
}

export type RelayTransport = 'udp' | 'tcp';

export type ChannelBindResult =
  /** New binding (and a permission installed or refreshed). */
  | 'bound'
  /** Same channel, same peer: binding and permission refreshed (RFC 8656 §11.2). */
  | 'refreshed'
  /** The channel is bound to another peer (RFC 8656 §11.2 → 400). */
  | 'channel-in-use'
  /** The peer is bound to another channel (RFC 8656 §11.2 → 400). */
  | 'peer-bound'
  /** Too many channels or permissions on this allocation (→ 508). */
  | 'capacity';

export interface AllocationLimits {
  /** Most permissions (peer IPs) per allocation. */
  maxPermissions: number;
  /** Most channel bindings per allocation. */
  maxChannels: number;
}

export const DEFAULT_LIMITS: AllocationLimits = { maxPermissions: 256, maxChannels: 256 };

export interface AllocationInit {
  id: number;
  /** ClientTransport.key of the 5-tuple. */
  clientKey: string;
  protocol: ClientProtocol;
  /** Client's server-reflexive address, "ip:port". */
  clientAddress: string;
  username: string;
  /** What the per-user quota counts (the user part of a TURN REST username). */
  quotaKey: string;
  transport: RelayTransport;
  relayed: readonly RelayedAddress[];
  lifetimeMs: number;
  /** Bytes per second, each direction; undefined for no limit. */
  bandwidth?: number;
  limits?: AllocationLimits;
}

interface Channel {
  readonly number: number;
  readonly peer: PeerAddress;
  readonly peerKey: string;
  expiresAt: number;
}

export interface Counters {
  bytesToPeers: number;
  bytesFromPeers: number;
  packetsToPeers: number;
  packetsFromPeers: number;
}

/** "ip|port": the key of a peer transport address (address already canonical). */
export function peerKey(peer: { address: string; port: number }): string {
  return `${peer.address}|${peer.port}`;
}

export class Allocation {
  readonly id: number;
  readonly clientKey: string;
  readonly protocol: ClientProtocol;
  readonly clientAddress: string;
  readonly username: string;
  readonly quotaKey: string;
  readonly transport: RelayTransport;
  readonly createdAt: number;
  readonly counters: Counters = { bytesToPeers: 0, bytesFromPeers: 0, packetsToPeers: 0, packetsFromPeers: 0 };
  private readonly relayedByFamily = new Map<IpFamily, RelayedAddress>();
  private readonly limits: AllocationLimits;
  private expiresAtMs: number;
  /** Canonical peer IP -> expiry (ms). */
  private readonly permissions = new Map<string, number>();
  private readonly channels = new Map<number, Channel>();
  /** Peer port -> canonical peer IP -> channel: looked up per relayed datagram, so no key string is built. */
  private readonly channelByPeer = new Map<number, Map<string, Channel>>();
  private readonly toPeerBucket: TokenBucket | undefined;
  private readonly fromPeerBucket: TokenBucket | undefined;
  /** nextExpiry()'s answer, until a lifetime, permission or channel changes (undefined: recompute). */
  private deadline: number | undefined;

  constructor(init: AllocationInit, now: number) {
    this.id = init.id;
    this.clientKey = init.clientKey;
    this.protocol = init.protocol;
    this.clientAddress = init.clientAddress;
    this.username = init.username;
    this.quotaKey = init.quotaKey;
    this.transport = init.transport;
    this.createdAt = now;
    this.limits = init.limits ?? DEFAULT_LIMITS;
    for (const r of init.relayed) this.relayedByFamily.set(r.family, r);
    this.expiresAtMs = now + init.lifetimeMs;
    if (init.bandwidth !== undefined) {
      // Burst: one second of traffic, but at least one maximum-size datagram so nothing is starved.
      const burst = Math.max(init.bandwidth, 65_536);
      this.toPeerBucket = new TokenBucket(init.bandwidth, burst, now);
      this.fromPeerBucket = new TokenBucket(init.bandwidth, burst, now);
    }
  }

  get expiresAt(): number {
    return this.expiresAtMs;
  }

  get relayed(): RelayedAddress[] {
    return [...this.relayedByFamily.values()];
  }

  get families(): IpFamily[] {
    return [...this.relayedByFamily.keys()];
  }

  hasFamily(family: IpFamily): boolean {
    return this.relayedByFamily.has(family);
  }

  relayedFor(family: IpFamily): RelayedAddress | undefined {
    return this.relayedByFamily.get(family);
  }

  isExpired(now: number): boolean {
    return now >= this.expiresAtMs;
  }

  /** Sets the time-to-expiry (RFC 8656 §7.3). */
  refresh(lifetimeMs: number, now: number): void {
    this.expiresAtMs = now + lifetimeMs;
    this.deadline = undefined;
  }

  /**
   * The earliest time (ms) something of this allocation expires: its lifetime, a permission or a
   * channel binding. `expire(now)` at or after it has work to do; before it, none.
   */
  nextExpiry(): number {
    if (this.deadline === undefined) {
      let next = this.expiresAtMs;
      for (const until of this.permissions.values()) if (until < next) next = until;
      for (const entry of this.channels.values()) if (entry.expiresAt < next) next = entry.expiresAt;
      this.deadline = next;
    }
    return this.deadline;
  }

  // --- permissions (RFC 8656 §9) ---

  /** True when `ip` (canonical) has an unexpired permission. */
  hasPermission(ip: string, now: number): boolean {
    const until = this.permissions.get(ip);
    return until !== undefined && until > now;
  }

  /** Whether `count` new permissions for these IPs would fit (existing ones always fit). */
  canInstallPermissions(ips: readonly string[], now: number): boolean {
    const fresh = new Set(ips.filter((ip) => !this.hasPermission(ip, now)));
    return this.activePermissions(now) + fresh.size <= this.limits.maxPermissions;
  }

  /**
   * Installs or refreshes a permission for `ip` for 300 s (RFC 8656 §9). Returns false (and changes
   * nothing) when the allocation already holds maxPermissions others.
   */
  installPermission(ip: string, now: number): boolean {
    if (!this.hasPermission(ip, now)) {
      this.permissions.delete(ip);
      if (this.activePermissions(now) >= this.limits.maxPermissions) return false;
    }
    this.permissions.set(ip, now + PERMISSION_LIFETIME_MS);
    this.deadline = undefined;
    return true;
  }

  get permissionCount(): number {
    return this.permissions.size;
  }

  private activePermissions(now: number): number {
    let n = 0;
    for (const until of this.permissions.values()) if (until > now) n++;
    return n;
  }

  // --- channels (RFC 8656 §11, §12) ---

  /**
   * ChannelBind (RFC 8656 §11.2): the channel must not be bound to a different transport address,
   * and the transport address must not be bound to a different channel; rebinding the same pair
   * refreshes it. A successful bind also installs or refreshes the peer's permission. The caller
   * has already checked the channel number range and the peer policy.
   */
  bindChannel(channel: number, peer: PeerAddress, now: number): ChannelBindResult {
    const key = peerKey(peer);
    const byNumber = this.liveChannel(channel, now);
    const byPeer = this.liveChannelForPeer(peer.address, peer.port, now);
    if (byNumber && byNumber.peerKey !== key) return 'channel-in-use';
    if (byPeer && byPeer.number !== channel) return 'peer-bound';
    if (!byNumber && this.channels.size >= this.limits.maxChannels) return 'capacity';
    if (!this.canInstallPermissions([peer.address], now)) return 'capacity';
    this.installPermission(peer.address, now);
    this.deadline = undefined;
    if (byNumber) {
      byNumber.expiresAt = now + CHANNEL_LIFETIME_MS;
      return 'refreshed';
    }
    const entry: Channel = { number: channel, peer, peerKey: key, expiresAt: now + CHANNEL_LIFETIME_MS };
    this.channels.set(channel, entry);
    let byAddress = this.channelByPeer.get(peer.port);
    if (!byAddress) this.channelByPeer.set(peer.port, (byAddress = new Map()));
    byAddress.set(peer.address, entry);
    return 'bound';
  }

  /** The peer bound to `channel`, if the binding is live. */
  channelPeer(channel: number, now: number): PeerAddress | undefined {
    return this.liveChannel(channel, now)?.peer;
  }

  /** The channel bound to this peer transport address, if any. */
  channelFor(peer: { address: string; port: number }, now: number): number | undefined {
    return this.liveChannelForPeer(peer.address, peer.port, now)?.number;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  private liveChannel(channel: number, now: number): Channel | undefined {
    const entry = this.channels.get(channel);
    if (entry && entry.expiresAt <= now) {
      this.unbind(entry);
      return undefined;
    }
    return entry;
  }

  private liveChannelForPeer(address: string, port: number, now: number): Channel | undefined {
    const entry = this.channelByPeer.get(port)?.get(address);
    if (entry && entry.expiresAt <= now) {
      this.unbind(entry);
      return undefined;
    }
    return entry;
  }

  private unbind(entry: Channel): void {
    this.deadline = undefined;
    if (this.channels.get(entry.number) === entry) this.channels.delete(entry.number);
    const byAddress = this.channelByPeer.get(entry.peer.port);
    if (byAddress?.get(entry.peer.address) === entry) {
      byAddress.delete(entry.peer.address);
      if (byAddress.size === 0) this.channelByPeer.delete(entry.peer.port);
    }
  }

  /** Drops expired permissions and channel bindings; returns how many of each went. */
  expire(now: number): { permissions: number; channels: number } {
    let permissions = 0;
    let channels = 0;
    for (const [ip, until] of this.permissions) {
      if (until <= now) {
        this.permissions.delete(ip);
        this.deadline = undefined;
        permissions++;
      }
    }
    for (const entry of [...this.channels.values()]) {
      if (entry.expiresAt <= now) {
        this.unbind(entry);
        channels++;
      }
    }
    return { permissions, channels };
  }

  // --- bandwidth and counters ---

  /** Counts a datagram/chunk towards peers if the bandwidth allows it; false means drop it. */
  admitToPeer(bytes: number, now: number): boolean {
    if (this.toPeerBucket) {
      if (this.toPeerBucket.available(now) < bytes) return false;
      this.toPeerBucket.take(bytes, now);
    }
    this.counters.bytesToPeers += bytes;
    this.counters.packetsToPeers++;
    return true;
  }

  /** Counts a datagram/chunk from a peer if the bandwidth allows it; false means drop it. */
  admitFromPeer(bytes: number, now: number): boolean {
    if (this.fromPeerBucket) {
      if (this.fromPeerBucket.available(now) < bytes) return false;
      this.fromPeerBucket.take(bytes, now);
    }
    this.counters.bytesFromPeers += bytes;
    this.counters.packetsFromPeers++;
    return true;
  }

  /** The per-direction buckets (TCP allocations throttle their streams with them). */
  get buckets(): { toPeer: TokenBucket | undefined; fromPeer: TokenBucket | undefined } {
    return { toPeer: this.toPeerBucket, fromPeer: this.fromPeerBucket };
  }
}

/**
 * RFC 8656 §7.2 (Allocate) and §7.3 (Refresh): with a LIFETIME attribute, take the minimum of the
 * requested and the maximum lifetime; if that is greater than the default use it, otherwise the
 * default. Without one, the default. (A Refresh with 0 is handled by the caller: it deletes.)
 */
export function grantedLifetimeSeconds(requested: number | undefined, defaultSeconds: number, maxSeconds: number): number {
  if (requested === undefined) return Math.min(defaultSeconds, maxSeconds);
  const computed = Math.min(requested, maxSeconds);
  return computed > defaultSeconds ? computed : Math.min(defaultSeconds, maxSeconds);
}
