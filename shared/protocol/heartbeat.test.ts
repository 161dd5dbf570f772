import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Heartbeat } from './heartbeat.js';

describe('Heartbeat', () => {
  it('asks for a ping once per interval, not before', () => {
    const hb = new Heartbeat({ intervalMs: 1000, timeoutMs: 5000 }, 10_000);
    expect(hb.tick(10_000)).toEqual({ sendPing: false, dead: false, nextTickAt: 11_000 });
    expect(hb.tick(10_999).sendPing).toBe(false);
    const t = hb.tick(11_000);
    expect(t.sendPing).toBe(true);
    expect(t.dead).toBe(false);
    expect(t.nextTickAt).toBe(12_000);
    // Same moment again: the ping was recorded, so no second ping.
    expect(hb.tick(11_000).sendPing).toBe(false);
    expect(hb.tick(11_500).sendPing).toBe(false);
    expect(hb.tick(12_000).sendPing).toBe(true);
  });

  it('schedules the next ping from when the ping was actually sent (no catch-up burst)', () => {
    const hb = new Heartbeat({ intervalMs: 1000, timeoutMs: 60_000 }, 0);
    const late = hb.tick(3_700); // several intervals missed (e.g. the event loop was blocked)
    expect(late.sendPing).toBe(true);
    expect(late.nextTickAt).toBe(4_700);
    expect(hb.tick(3_701).sendPing).toBe(false);
    expect(hb.tick(4_699).sendPing).toBe(false);
    expect(hb.tick(4_700).sendPing).toBe(true);
  });

  it('declares the peer dead after timeoutMs of silence, exactly at the deadline', () => {
    const hb = new Heartbeat({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(hb.tick(2_999).dead).toBe(false);
    const t = hb.tick(3_000);
    expect(t.dead).toBe(true);
    expect(t.sendPing).toBe(false);
  });

  it('received() pushes the deadline out', () => {
    const hb = new Heartbeat({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    hb.received(2_500);
    expect(hb.lastReceivedAt).toBe(2_500);
    expect(hb.tick(3_000).dead).toBe(false);
    expect(hb.tick(5_499).dead).toBe(false);
    expect(hb.tick(5_500).dead).toBe(true);
  });

  it('ignores a received() with an older time than already seen', () => {
    const hb = new Heartbeat({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    hb.received(2_000);
    hb.received(1_000);
    expect(hb.lastReceivedAt).toBe(2_000);
  });

  it('nextTickAt is the deadline when it comes before the next ping', () => {
    const hb = new Heartbeat({ intervalMs: 10_000, timeoutMs: 3000 }, 100);
    expect(hb.tick(100).nextTickAt).toBe(3_100);
    hb.received(1_000);
    expect(hb.tick(1_000).nextTickAt).toBe(4_000);
  });

  it('with intervalMs Infinity never pings and only watches for silence', () => {
    const hb = new Heartbeat({ intervalMs: Infinity, timeoutMs: 90_000 }, 0);
    const t0 = hb.tick(0);
    expect(t0).toEqual({ sendPing: false, dead: false, nextTickAt: 90_000 });
    hb.received(50_000);
    const t1 = hb.tick(100_000);
    expect(t1).toEqual({ sendPing: false, dead: false, nextTickAt: 140_000 });
    expect(hb.tick(140_000)).toEqual({ sendPing: false, dead: true, nextTickAt: 140_000 });
  });

  it('rejects non-positive timings', () => {
    expect(() => new Heartbeat({ intervalMs: 0, timeoutMs: 1000 }, 0)).toThrow(RangeError);
    expect(() => new Heartbeat({ intervalMs: 1000, timeoutMs: -1 }, 0)).toThrow(RangeError);
    expect(() => new Heartbeat({ intervalMs: NaN, timeoutMs: 1000 }, 0)).toThrow(RangeError);
  });

  it('property: pings are at least intervalMs apart, dead iff silent for timeoutMs, nextTickAt is in the future while alive', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3_000 }), recv: fc.boolean() }), { maxLength: 200 }),
        (intervalMs, timeoutMs, steps) => {
          let now = 1_000_000;
          const hb = new Heartbeat({ intervalMs, timeoutMs }, now);
          let lastRecv = now;
          let lastPing = now;
          for (const { dt, recv } of steps) {
            now += dt;
            if (recv) {
              hb.received(now);
              lastRecv = now;
            }
            const t = hb.tick(now);
            expect(t.dead).toBe(now - lastRecv >= timeoutMs);
            if (t.sendPing) {
              expect(now - lastPing).toBeGreaterThanOrEqual(intervalMs);
              lastPing = now;
            } else if (!t.dead) {
              expect(now - lastPing).toBeLessThan(intervalMs);
            }
            if (!t.dead) {
              expect(t.nextTickAt).toBeGreaterThan(now);
              expect(t.nextTickAt).toBe(Math.min(lastPing + intervalMs, lastRecv + timeoutMs));
            }
          }
        },
      ),
    );
  });
});
