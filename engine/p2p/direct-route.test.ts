import type UDX from 'udx-native';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import type { P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import { Backoff } from '../backoff.js';
import type { DirectPathDialer, PunchAttempt, PunchedPath } from './direct-path.js';
import { DirectRoute } from './direct-route.js';

const SYMMETRIC: P2pNatReport = { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', portAllocation: 'random' };

/** A dialer whose attempts end when the test says (never a path: these tests are about waiting for one). */
function fakeDialer() {
  const attempts: PunchAttempt[] = [];
  const pending: Array<(p: PunchedPath | null) => void> = [];
  let nat: { local: P2pNatReport; remote: P2pNatReport } | undefined;
  const dialer: DirectPathDialer = {
    dial: () => {
      attempts.push({ sessionId: String(attempts.length), startedAt: 0, outcome: 'connecting' });
      return new Promise((resolve) => pending.push(resolve));
    },
    attempts: () => attempts,
    nat: () => nat,
    rejectedProbes: () => 0,
  };
  return {
    dialer,
    dials: () => attempts.length,
    /** Ends the running attempt: the strategy chose the relay (symmetric × symmetric). */
    relay: () => {
      attempts[attempts.length - 1] = { ...attempts.at(-1)!, outcome: 'relay', reason: 'symmetric × symmetric: relay at once' };
      nat = { local: SYMMETRIC, remote: SYMMETRIC };
      pending.shift()!(null);
    },
  };
}

function route(dialer: DirectPathDialer, online: () => boolean = () => true) {
  return new DirectRoute({
    dialer,
    udx: {} as UDX,
    tunnel: 'nas',
    secret: 'correct horse battery staple',
    logger: silentLogger(),
    online,
    backoff: new Backoff({ initialMs: 2_000, maxMs: 30_000, jitter: 0 }),
  });
}

/** Whether `p` has settled after the microtasks queued now (no timer advanced). */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

describe('DirectRoute: how long a connection waits for a direct path', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a connection made before the login waits for it and the first attempt, not sent to the relay at once', async () => {
    const fake = fakeDialer();
    let online = false;
    const r = route(fake.dialer, () => online);
    r.kick();
    const got = r.get(1_000);
    expect(await settledNow(got)).toBe(false);
    // the login: the engine kicks the route, the first attempt starts without waiting out the loop's sleep
    online = true;
    r.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.dials()).toBe(1);
    expect(await settledNow(got)).toBe(false);
    fake.relay(); // that attempt ends without a path: the connection goes on now
    expect(await settledNow(got)).toBe(true);
    expect(await got).toBeUndefined();
    r.close();
  });

  it('waits up to the fallback timeout while an attempt is running, then gives up (the connection takes the relay)', async () => {
    const fake = fakeDialer();
    const r = route(fake.dialer);
    const got = r.get(1_000);
    expect(fake.dials()).toBe(1);
    expect(await settledNow(got)).toBe(false);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settledNow(got)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await got).toBeUndefined();
    r.close();
  });

  it('does not wait at all when no attempt is running: the strategy chose the relay and the next attempt is a backoff away', async () => {
    const fake = fakeDialer();
    const r = route(fake.dialer);
    r.kick();
    fake.relay();
    await vi.advanceTimersByTimeAsync(0);
    // the loop sleeps 2 s before it tries again: waiting 1 s for it would only delay the user
    expect(await settledNow(r.get(1_000))).toBe(true);
    expect(await r.get(1_000)).toBeUndefined();
    expect(fake.dials()).toBe(1);
    expect(r.status({ bytesIn: 0, bytesOut: 0, connections: 0 }).path).toBe('relay');
    // once the backoff is over the next attempt runs, and a connection waits for that one again
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fake.dials()).toBe(2);
    expect(await settledNow(r.get(1_000))).toBe(false);
    r.close();
  });

  it('a patient connection (fallback none: no relay to take) waits its whole timeout, and the next attempt within it', async () => {
    const fake = fakeDialer();
    const r = route(fake.dialer);
    const got = r.get(3_000, true);
    fake.relay();
    await vi.advanceTimersByTimeAsync(0);
    expect(await settledNow(got)).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fake.dials()).toBe(2);
    expect(await settledNow(got)).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await got).toBeUndefined();
    r.close();
  });

  it("the status has both sides' NAT reports from the latest attempt that got them, also when it chose the relay", async () => {
    const fake = fakeDialer();
    const r = route(fake.dialer);
    r.kick();
    fake.relay();
    await vi.advanceTimersByTimeAsync(0);
    expect(r.status({ bytesIn: 0, bytesOut: 0, connections: 0 }).nat).toEqual({ local: SYMMETRIC, remote: SYMMETRIC });
    r.close();
  });
});
