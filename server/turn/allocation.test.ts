import { describe, expect, it } from 'vitest';
import { Allocation, CHANNEL_LIFETIME_MS, PERMISSION_LIFETIME_MS, grantedLifetimeSeconds, type PeerAddress } from './allocation.js';
import { AllocationTable } from './allocation-table.js';

const T0 = 1_000_000;

function make(overrides: Partial<ConstructorParameters<typeof Allocation>[0]> = {}, now = T0): Allocation {
  return new Allocation(
    {
      id: 1,
      clientKey: 'udp|192.0.2.1|4000|0.0.0.0|3478',
      protocol: 'udp',
      clientAddress: '192.0.2.1:4000',
      username: 'alice',
      quotaKey: 'alice',
      transport: 'udp',
      relayed: [{ family: 'IPv4', address: '198.51.100.1', port: 50000 }],
      lifetimeMs: 600_000,
      ...overrides,
    },
    now,
  );
}

const peer = (address: string, port: number): PeerAddress => ({ family: address.includes(':') ? 'IPv6' : 'IPv4', address, port });

describe('Allocation', () => {
  it('expires at its lifetime and refreshes', () => {
    const a = make();
    expect(a.isExpired(T0 + 599_999)).toBe(false);
    expect(a.isExpired(T0 + 600_000)).toBe(true);
    a.refresh(60_000, T0 + 599_000);
    expect(a.isExpired(T0 + 600_000)).toBe(false);
    expect(a.expiresAt).toBe(T0 + 659_000);
  });

  it('permissions last 300 s and are refreshed by CreatePermission', () => {
    const a = make();
    expect(a.installPermission('203.0.113.5', T0)).toBe(true);
    expect(a.hasPermission('203.0.113.5', T0 + PERMISSION_LIFETIME_MS - 1)).toBe(true);
    expect(a.hasPermission('203.0.113.5', T0 + PERMISSION_LIFETIME_MS)).toBe(false);
    a.installPermission('203.0.113.5', T0 + 200_000);
    expect(a.hasPermission('203.0.113.5', T0 + 400_000)).toBe(true);
    expect(a.expire(T0 + 500_000)).toEqual({ permissions: 1, channels: 0 });
    expect(a.permissionCount).toBe(0);
  });

  it('limits permissions; existing ones can always be refreshed', () => {
    const a = make({ limits: { maxPermissions: 2, maxChannels: 2 } });
    expect(a.installPermission('203.0.113.1', T0)).toBe(true);
    expect(a.installPermission('203.0.113.2', T0)).toBe(true);
    expect(a.canInstallPermissions(['203.0.113.3'], T0)).toBe(false);
    expect(a.installPermission('203.0.113.3', T0)).toBe(false);
    expect(a.canInstallPermissions(['203.0.113.1', '203.0.113.2'], T0)).toBe(true);
    // An expired one frees its slot.
    expect(a.installPermission('203.0.113.3', T0 + PERMISSION_LIFETIME_MS)).toBe(true);
  });

  it('binds channels by the RFC 8656 §11.2 rules and installs the permission', () => {
    const a = make();
    const p1 = peer('203.0.113.5', 5000);
    const p2 = peer('203.0.113.5', 5001);
    expect(a.bindChannel(0x4000, p1, T0)).toBe('bound');
    expect(a.hasPermission('203.0.113.5', T0)).toBe(true);
    expect(a.bindChannel(0x4000, p1, T0 + 10)).toBe('refreshed');
    expect(a.bindChannel(0x4000, p2, T0)).toBe('channel-in-use');
    expect(a.bindChannel(0x4001, p1, T0)).toBe('peer-bound');
    expect(a.bindChannel(0x4001, p2, T0)).toBe('bound');
    expect(a.channelPeer(0x4000, T0)).toEqual(p1);
    expect(a.channelFor({ address: '203.0.113.5', port: 5001 }, T0)).toBe(0x4001);
    expect(a.channelFor({ address: '203.0.113.5', port: 5002 }, T0)).toBeUndefined();
  });

  it('channel bindings last 600 s; refreshing restarts them; an expired channel can be rebound elsewhere', () => {
    const a = make();
    const p1 = peer('203.0.113.5', 5000);
    a.bindChannel(0x4000, p1, T0);
    a.bindChannel(0x4000, p1, T0 + 500_000);
    expect(a.channelPeer(0x4000, T0 + 500_000 + CHANNEL_LIFETIME_MS - 1)).toEqual(p1);
    expect(a.channelPeer(0x4000, T0 + 500_000 + CHANNEL_LIFETIME_MS)).toBeUndefined();
    const later = T0 + 500_000 + CHANNEL_LIFETIME_MS;
    expect(a.bindChannel(0x4000, peer('203.0.113.9', 1), later)).toBe('bound');
    expect(a.bindChannel(0x4001, p1, later)).toBe('bound');
    expect(a.expire(later + CHANNEL_LIFETIME_MS)).toEqual({ permissions: 2, channels: 2 });
  });

  it('limits channels', () => {
    const a = make({ limits: { maxPermissions: 10, maxChannels: 1 } });
    expect(a.bindChannel(0x4000, peer('203.0.113.5', 1), T0)).toBe('bound');
    expect(a.bindChannel(0x4001, peer('203.0.113.5', 2), T0)).toBe('capacity');
  });

  it('meters bandwidth per direction', () => {
    const a = make({ bandwidth: 100_000 });
    expect(a.admitToPeer(65_536, T0)).toBe(true);
    expect(a.admitToPeer(50_000, T0)).toBe(false);
    expect(a.admitFromPeer(60_000, T0)).toBe(true);
    expect(a.admitToPeer(50_000, T0 + 500)).toBe(true);
    expect(a.counters).toEqual({ bytesToPeers: 115_536, bytesFromPeers: 60_000, packetsToPeers: 2, packetsFromPeers: 1 });
  });
});

describe('grantedLifetimeSeconds (RFC 8656 §7.2/§7.3)', () => {
  it('takes min(requested, max), but never less than the default', () => {
    expect(grantedLifetimeSeconds(undefined, 600, 3600)).toBe(600);
    expect(grantedLifetimeSeconds(60, 600, 3600)).toBe(600);
    expect(grantedLifetimeSeconds(1200, 600, 3600)).toBe(1200);
    expect(grantedLifetimeSeconds(86_400, 600, 3600)).toBe(3600);
    expect(grantedLifetimeSeconds(0, 600, 3600)).toBe(600);
  });
});

describe('AllocationTable', () => {
  it('counts quotas per user and in total, including allocations being set up', () => {
    const t = new AllocationTable({ userQuota: 2, totalQuota: 3 });
    t.add(make({ id: 1, clientKey: 'a' }));
    expect(t.check('alice')).toBe('ok');
    t.reserve('alice');
    expect(t.check('alice')).toBe('user-quota');
    t.unreserve('alice');
    t.add(make({ id: 2, clientKey: 'b' }));
    expect(t.check('alice')).toBe('user-quota');
    expect(t.check('bob')).toBe('ok');
    t.add(make({ id: 3, clientKey: 'c', username: 'bob', quotaKey: 'bob' }));
    expect(t.check('bob')).toBe('total-quota');
    expect(() => t.add(make({ id: 4, clientKey: 'c' }))).toThrow();
    expect(t.remove(t.get('a')!)).toBe(true);
    expect(t.check('alice')).toBe('ok');
    expect(t.userCount('alice')).toBe(1);
  });

  it('expires allocations and sweeps permissions of the others', () => {
    const t = new AllocationTable({ userQuota: 10, totalQuota: 10 });
    const short = make({ id: 1, clientKey: 'a', lifetimeMs: 60_000 });
    const long = make({ id: 2, clientKey: 'b', lifetimeMs: 600_000 });
    long.installPermission('203.0.113.5', T0);
    t.add(short);
    t.add(long);
    const r = t.handleExpiry(T0 + 300_000);
    expect(r.allocations).toEqual([short]);
    expect(r.permissions).toBe(1);
    expect(t.size).toBe(1);
    expect(t.getById(2)).toBe(long);
    expect(t.getById(1)).toBeUndefined();
  });
});

describe('expiry contract (nextExpiry / handleExpiry)', () => {
  it('an allocation names its earliest deadline: lifetime, permission or channel', () => {
    const a = make({ lifetimeMs: 600_000 });
    expect(a.nextExpiry()).toBe(T0 + 600_000);
    a.installPermission('203.0.113.5', T0 + 1000);
    expect(a.nextExpiry()).toBe(T0 + 1000 + PERMISSION_LIFETIME_MS);
    // Refreshing the permission moves the deadline later.
    a.installPermission('203.0.113.5', T0 + 2000);
    expect(a.nextExpiry()).toBe(T0 + 2000 + PERMISSION_LIFETIME_MS);
    a.refresh(60_000, T0 + 3000);
    expect(a.nextExpiry()).toBe(T0 + 63_000);
    a.refresh(3_600_000, T0 + 3000);
    expect(a.bindChannel(0x4000, peer('203.0.113.5', 80), T0 + 4000)).toBe('bound');
    // The channel's bind refreshed the permission too: 300 s from now, before the channel's 600 s.
    expect(a.nextExpiry()).toBe(T0 + 4000 + PERMISSION_LIFETIME_MS);
    expect(a.expire(T0 + 4000 + PERMISSION_LIFETIME_MS)).toEqual({ permissions: 1, channels: 0 });
    expect(a.nextExpiry()).toBe(T0 + 4000 + CHANNEL_LIFETIME_MS);
  });

  it('the table answers the earliest deadline of all, and nothing is due before it', () => {
    const t = new AllocationTable({ userQuota: 10, totalQuota: 10 });
    expect(t.nextExpiry()).toBeUndefined();
    const short = make({ id: 1, clientKey: 'a', lifetimeMs: 60_000 });
    const long = make({ id: 2, clientKey: 'b', lifetimeMs: 600_000 });
    t.add(long);
    expect(t.nextExpiry()).toBe(T0 + 600_000);
    t.add(short);
    expect(t.nextExpiry()).toBe(T0 + 60_000);
    long.installPermission('203.0.113.5', T0 + 10_000);

    const early = t.handleExpiry(T0 + 59_999);
    expect(early).toEqual({ allocations: [], permissions: 0, channels: 0 });
    expect(t.handleExpiry(T0 + 60_000).allocations).toEqual([short]);
    expect(t.nextExpiry()).toBe(T0 + 10_000 + PERMISSION_LIFETIME_MS);
    expect(t.handleExpiry(T0 + 10_000 + PERMISSION_LIFETIME_MS).permissions).toBe(1);
    expect(t.nextExpiry()).toBe(T0 + 600_000);
    t.remove(long);
    expect(t.nextExpiry()).toBeUndefined();
  });
});
