import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startClient, startServer, tunnelOnline, tunnelStatus, udpEchoServer, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function sender(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  cleanup.push(() => s.close());
  return new Promise((r) => s.bind(0, '127.0.0.1', () => r(s)));
}

/** Sends each payload and collects replies until `count` arrive (or timeout). */
function exchange(s: UdpSocket, port: number, payloads: Buffer[], count: number, timeoutMs = 5000): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const timer = setTimeout(() => resolve(got), timeoutMs);
    s.on('message', (m) => {
      got.push(m);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
    for (const p of payloads) s.send(p, port, '127.0.0.1');
  });
}

describe('udp tunnel', () => {
  it('echoes for three distinct senders, replies to the right sender, boundaries intact', async () => {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer();
    cleanup.push(() => server.stop());
    const engine = await startClient(server, {
      tunnels: [{ name: 'dns', type: 'udp', local: `127.0.0.1:${echo.port}`, remotePort: 0, idleTimeout: 1 }],
    });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'dns');
    const senders = await Promise.all([sender(), sender(), sender()]);
    const results = await Promise.all(
      senders.map((s, i) => {
        // Sizes chosen so that concatenation or splitting would be visible.
        const payloads = [1, 100, 1400, 9000].map((n, k) => Buffer.alloc(n, 65 + i * 4 + k));
        return exchange(s, port, payloads, payloads.length).then((got) => ({ i, got, payloads }));
      }),
    );
    for (const { got, payloads } of results) {
      // UDP may reorder in principle; on loopback it does not, but compare as sets of exact datagrams.
      expect(got.map((b) => b.toString('hex')).sort()).toEqual(payloads.map((b) => b.toString('hex')).sort());
    }
    expect(tunnelStatus(engine, 'dns')!.totalConnections).toBe(3);
    // Per-sender sessions expire when idle (idleTimeout: 1 s).
    await waitFor(() => tunnelStatus(engine, 'dns')!.activeConnections === 0, 'udp sessions to expire', 5000);
    // And a sender that comes back gets a fresh session that still works.
    const again = await exchange(senders[0]!, port, [Buffer.from('again')], 1);
    expect(again.map(String)).toEqual(['again']);
  });
});
