import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { AdminApi } from '../../server/admin-api.js';
import type { ServerTunnelInfo } from '../../shared/types/server-status.js';
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

  it("the server expires a sender after the tunnel's idleTimeout too: the admin API's session count drops with the client's", async () => {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer();
    cleanup.push(() => server.stop());
    const admin = new AdminApi(server, { listen: '127.0.0.1:0', token: 'admin-token-123' }, silentLogger());
    await admin.start();
    cleanup.push(() => admin.stop());
    const sessions = async (): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${admin.port}/api/tunnels`, { headers: { authorization: 'Bearer admin-token-123' } });
      const tunnels = (await res.json()) as ServerTunnelInfo[];
      return tunnels.find((t) => t.name === 'dns')!.activeConnections;
    };
    const engine = await startClient(server, {
      tunnels: [{ name: 'dns', type: 'udp', local: `127.0.0.1:${echo.port}`, remotePort: 0, idleTimeout: 0.5 }],
    });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'dns');
    const s = await sender();
    expect((await exchange(s, port, [Buffer.from('hello')], 1)).map(String)).toEqual(['hello']);
    const sent = Date.now();
    expect(await sessions()).toBe(1);
    // The client drops its session after 0.5 s; the server must not go on counting it (60 s before).
    await waitFor(() => tunnelStatus(engine, 'dns')!.activeConnections === 0, 'the client to expire its session', 5000);
    let count = await sessions();
    while (count !== 0 && Date.now() - sent < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      count = await sessions();
    }
    expect(count).toBe(0);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(500);
  });
});
