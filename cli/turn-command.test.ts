import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatTurn, runTurn, udpScheduleWithin } from './turn-command.js';
import { quiet } from './test-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('burrow turn', () => {
  it('needs --user and --password, and a sane --count (exit 2)', async () => {
    const q = quiet();
    expect(await runTurn(['127.0.0.1:3478'])).toBe(2);
    expect(await runTurn(['127.0.0.1:3478', '--user', 'u', '--password', 'p', '--count', '0'])).toBe(2);
    expect(q.err()).toMatch(/--user and --password/);
  });

  it('turn text', () => {
    const text = formatTurn(
      { server: 's:1', relayedAddress: '1.2.3.4:5', mappedAddress: null, lifetime: 600, echo: { sent: 5, received: 0, rttMs: { min: null, avg: null, max: null } } },
      'udp',
      '9.9.9.9:9',
    );
    expect(text).toMatch(/echo +0\/5 via peer 9\.9\.9\.9:9, no echo came back/);
  });

});

describe('udpScheduleWithin', () => {
  it('fits the RFC schedule into a total time', () => {
    expect(udpScheduleWithin(10_000)).toEqual({ rtoMs: 500, maxSends: 5, lastWaitFactor: 5 });
    expect(udpScheduleWithin(39_500)).toEqual({ rtoMs: 500, maxSends: 7, lastWaitFactor: 16 });
    const short = udpScheduleWithin(1000);
    expect(short.maxSends).toBe(2);
    expect(500 + short.lastWaitFactor * 500).toBe(1000);
  });
});
