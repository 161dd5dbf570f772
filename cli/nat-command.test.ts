import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatNat, runNat } from './nat-command.js';
import { quiet } from './test-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('burrow nat', () => {
  it('needs --stun HOST:PORT (exit 2)', async () => {
    const q = quiet();
    expect(await runNat([])).toBe(2);
    expect(await runNat(['--stun', 'x'])).toBe(2);
    expect(await runNat(['--stun', '127.0.0.1:1', '127.0.0.1:2'])).toBe(2);
    expect(q.err()).toMatch(/HOST:PORT/);
  });

  it('--json with no server answering exits 1 and says why in `error`', async () => {
    // A STUN "server" that never answers.
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    try {
      const q = quiet();
      expect(await runNat(['--stun', `127.0.0.1:${silent.address().port}`, '--json'])).toBe(1);
      const out = JSON.parse(q.out()) as Record<string, unknown>;
      expect(out.mapping).toBe('unknown');
      expect(out.error).toMatch(/no answer from the STUN server 127\.0\.0\.1:\d+/);
    } finally {
      silent.close();
    }
  }, 20_000);

  it('--json with bad flags prints {"error"} and exits 2', async () => {
    const q = quiet();
    expect(await runNat(['--stun', 'x', '--json'])).toBe(2);
    expect((JSON.parse(q.out()) as { error: string }).error).toMatch(/HOST:PORT/);
  });

  it('nat text', () => {
    const text = formatNat({
      server: 's:1',
      mapping: 'endpoint-independent',
      filtering: 'address-and-port-dependent',
      hairpinning: false,
      mappedAddress: '203.0.113.1:4000',
      localAddress: '192.168.1.2:5000',
      classicName: 'port-restricted cone',
      partial: true,
      portPreservation: false,
      portDelta: 0,
      portAllocation: 'unknown',
      verdict: 'A port-restricted cone NAT: direct peer-to-peer paths work with …',
      bindingLifetime: { atLeastMs: 20_000, lessThanMs: 30_000 },
      notes: ['a note'],
    });
    expect(text).toMatch(/^ {2}filtering +address-and-port-dependent$/m);
    expect(text).toMatch(/^ {2}hairpinning +no$/m);
    expect(text).toMatch(/^ {2}binding lifetime +20 s to 30 s$/m);
    expect(text).toMatch(/^ {2}classic name +port-restricted cone \(partial: see notes\)$/m);
    expect(text).toMatch(/^ {2}port preservation +no$/m);
    expect(text).toMatch(/^ {2}port allocation +unknown \(delta 0 between destinations\)$/m);
    expect(text).toMatch(/^P2P: A port-restricted cone NAT: direct/m);
    expect(text).toMatch(/^ {2}- a note$/m);
  });
});

