import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatStun, runStun, stunJson } from './stun-command.js';
import { quiet } from './test-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('burrow stun', () => {
  it('needs HOST:PORT and known flags (exit 2)', async () => {
    const q = quiet();
    expect(await runStun([])).toBe(2);
    expect(await runStun(['nohost'])).toBe(2);
    expect(await runStun(['127.0.0.1:3478', '--bogus'])).toBe(2);
    expect(await runStun(['127.0.0.1:3478', '--timeout', '0'])).toBe(2);
    expect(q.err()).toMatch(/HOST:PORT/);
  });

  it('stun JSON has the documented keys only', () => {
    const j = stunJson(
      'stun.example:3478',
      {
        mapped: { family: 'IPv4', address: '203.0.113.1', port: 4000 },
        rttMs: 12.3456,
        server: { family: 'IPv4', address: '198.51.100.1', port: 3478 },
        source: { family: 'IPv4', address: '198.51.100.1', port: 3478 },
      },
      { address: '192.168.1.2', port: 5000 },
    );
    expect(j).toEqual({ server: 'stun.example:3478', mappedAddress: '203.0.113.1:4000', localAddress: '192.168.1.2:5000', rttMs: 12.35 });
    expect(formatStun(j, 'udp')).toMatch(/^mapped address {2}203\.0\.113\.1:4000$/m);
  });

});
