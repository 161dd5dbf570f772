import { describe, expect, it } from 'vitest';
import { CHANNEL_LIFETIME_MS, PERMISSION_LIFETIME_MS, RefreshPlan, refreshTime } from './refresh-plan.js';

const PEER = { family: 'IPv4' as const, address: '192.0.2.1', port: 5000 };

describe('RefreshPlan', () => {
  it('refreshes a minute before expiry, or at half time for short lifetimes', () => {
    expect(refreshTime(0, 600_000)).toBe(540_000);
    expect(refreshTime(0, PERMISSION_LIFETIME_MS)).toBe(240_000);
    expect(refreshTime(1000, 30_000)).toBe(16_000);
  });

  it('schedules the allocation, hands it out once, and reschedules on success', () => {
    const p = new RefreshPlan();
    expect(p.nextAt()).toBe(Infinity);
    p.setAllocation(0, 600);
    expect(p.nextAt()).toBe(540_000);
    expect(p.due(539_999)).toEqual([]);
    expect(p.due(540_000)).toEqual([{ kind: 'allocation' }]);
    expect(p.due(540_001)).toEqual([]); // in flight
    expect(p.nextAt()).toBe(Infinity);
    p.succeeded({ kind: 'allocation' }, 541_000, 300);
    expect(p.nextAt()).toBe(541_000 + 240_000);
  });

  it('permissions every 4 minutes, channels every 9, and a channel keeps its permission', () => {
    const p = new RefreshPlan();
    p.setChannel(0x4000, PEER, 0);
    expect(p.has({ kind: 'permission', ip: PEER.address })).toBe(true);
    expect(p.expiresAt({ kind: 'channel', channel: 0x4000, peer: PEER })).toBe(CHANNEL_LIFETIME_MS);
    expect(p.nextAt()).toBe(240_000);
    expect(p.due(240_000)).toEqual([{ kind: 'permission', ip: PEER.address }]);
    p.succeeded({ kind: 'permission', ip: PEER.address }, 240_000);
    // by then the permission is due again as well (240 + 240 = 480 s)
    expect(p.due(540_000)).toEqual([{ kind: 'channel', channel: 0x4000, peer: PEER }, { kind: 'permission', ip: PEER.address }]);
  });

  it('retries a failed refresh until the item expires', () => {
    const p = new RefreshPlan(5000);
    p.setPermission('192.0.2.9', 0);
    const item = p.due(240_000)[0]!;
    expect(p.failed(item, 240_000)).toBe(false);
    expect(p.nextAt()).toBe(245_000);
    p.due(296_000);
    expect(p.failed(item, 296_000)).toBe(true); // 296 + 5 >= 300: gone
    expect(p.has(item)).toBe(false);
  });

  it('lifetime 0 forgets everything', () => {
    const p = new RefreshPlan();
    p.setAllocation(0, 600);
    p.setPermission('192.0.2.9', 0);
    p.setAllocation(10, 0);
    expect(p.nextAt()).toBe(Infinity);
  });
});
