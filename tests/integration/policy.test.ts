import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { closedWithoutData, connectTcp, echoServer, roundTrip, sha256, startClient, startServer, tunnelOnline, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function withEcho() {
  const echo = await echoServer();
  cleanup.push(echo.close);
  return echo;
}

describe('tunnel policy', () => {
  it('allow/deny lists decide which source addresses reach the service', async () => {
    const echo = await withEcho();
    const server = await startServer();
    cleanup.push(() => server.stop());
    const local = `127.0.0.1:${echo.port}`;
    const engine = await startClient(server, {
      tunnels: [
        { name: 'open', type: 'tcp', local, remotePort: 0, allow: ['127.0.0.0/8'] },
        { name: 'denied', type: 'tcp', local, remotePort: 0, allow: ['127.0.0.0/8'], deny: ['127.0.0.1'] },
        { name: 'elsewhere', type: 'tcp', local, remotePort: 0, allow: ['203.0.113.0/24'] },
      ],
    });
    cleanup.push(() => engine.stop());
    const [open, denied, elsewhere] = await Promise.all(['open', 'denied', 'elsewhere'].map((n) => tunnelOnline(engine, n)));
    expect((await roundTrip(await connectTcp(open!), Buffer.from('in'))).toString()).toBe('in');
    for (const port of [denied!, elsewhere!]) {
      const s = await connectTcp(port);
      s.write('let me in');
      expect(await closedWithoutData(s)).toBe(true);
    }
    expect(server.snapshot().counters.refusedByAccessList).toBe(2);
    expect(engine.status().tunnels.find((t) => t.name === 'denied')!.totalConnections).toBe(0);
  });

  it('a remote port outside the server allowPorts gives that tunnel an error naming the range', async () => {
    const echo = await withEcho();
    const server = await startServer({ allowPorts: ['20000-20010'] });
    cleanup.push(() => server.stop());
    const engine = await startClient(server, {
      tunnels: [
        { name: 'outside', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 30000 },
        { name: 'picked', type: 'udp', local: `127.0.0.1:${echo.port}`, remotePort: 0 },
      ],
    });
    cleanup.push(() => engine.stop());
    const outside = await waitFor(() => {
      const t = engine.status().tunnels.find((x) => x.name === 'outside')!;
      return t.state === 'error' ? t : undefined;
    }, 'outside tunnel refused');
    expect(outside.error).toBe('port 30000 is not allowed (allowed: 20000-20010)');
    const picked = await tunnelOnline(engine, 'picked');
    expect(picked).toBeGreaterThanOrEqual(20000);
    expect(picked).toBeLessThanOrEqual(20010);
  });

  it('a per-tunnel bandwidth limit holds the transfer to about that rate, bytes intact', async () => {
    const echo = await withEcho();
    const server = await startServer();
    cleanup.push(() => server.stop());
    const local = `127.0.0.1:${echo.port}`;
    const engine = await startClient(server, {
      tunnels: [
        { name: 'slow', type: 'tcp', local, remotePort: 0, bandwidth: '1MB' },
        { name: 'fast', type: 'tcp', local, remotePort: 0 },
      ],
    });
    cleanup.push(() => engine.stop());
    const [slow, fast] = await Promise.all([tunnelOnline(engine, 'slow'), tunnelOnline(engine, 'fast')]);
    const payload = randomBytes(3 * 1000 * 1000);
    const time = async (port: number) => {
      const started = Date.now();
      const back = await roundTrip(await connectTcp(port), payload);
      expect(sha256(back)).toBe(sha256(payload));
      return Date.now() - started;
    };
    const unlimited = await time(fast);
    const limited = await time(slow);
    // 3 MB at 1 MB/s (each direction, 250 kB burst): at least ~2.5 s; the unlimited tunnel is far quicker.
    expect(limited).toBeGreaterThan(2400);
    expect(limited).toBeLessThan(8000);
    expect(unlimited).toBeLessThan(limited / 3);
  }, 30_000);
});

describe('admin API against a live server', () => {
  it('lists clients with their tunnels and bytes, and disconnects one; the client reconnects by itself', async () => {
    const echo = await withEcho();
    const server = await startServer();
    cleanup.push(() => server.stop());
    const { AdminApi } = await import('../../server/admin-api.js');
    const { silentLogger } = await import('../../io/logger.js');
    const admin = new AdminApi(server, { listen: '127.0.0.1:0', token: 'admin-token-123' }, silentLogger());
    await admin.start();
    cleanup.push(() => admin.stop());
    const engine = await startClient(server, { clientId: 'laptop', tunnels: [{ name: 'ssh', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }] });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'ssh');
    await roundTrip(await connectTcp(port), Buffer.from('12345'));

    const api = (path: string, method = 'GET') =>
      fetch(`http://127.0.0.1:${admin.port}${path}`, { method, headers: { authorization: 'Bearer admin-token-123' } });
    const clients = (await (await api('/api/clients')).json()) as Array<{ clientId: string; address: string; tunnels: Array<{ name: string; remotePort: number; bytesIn: number }> }>;
    expect(clients).toHaveLength(1);
    expect(clients[0]!.clientId).toBe('laptop');
    expect(clients[0]!.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(clients[0]!.tunnels[0]).toMatchObject({ name: 'ssh', remotePort: port, bytesIn: 5 });
    const metrics = await (await api('/metrics')).text();
    expect(metrics).toContain('burrow_clients_connected 1');
    expect(metrics).toMatch(/burrow_tunnel_bytes_total\{[^}]*tunnel="ssh"[^}]*direction="in"[^}]*\} 5/);

    expect((await api('/api/clients/laptop', 'DELETE')).status).toBe(200);
    await waitFor(() => engine.status().reconnects >= 1, 'client to notice the disconnect');
    await waitFor(() => engine.status().state === 'online' && engine.status().tunnels[0]!.state === 'online', 'client back', 15_000);
    // remotePort 0: the server picked a port again on re-registration.
    const again = await tunnelOnline(engine, 'ssh');
    expect((await roundTrip(await connectTcp(again), Buffer.from('back'))).toString()).toBe('back');
    expect(server.snapshot().clients[0]!.clientId).toBe('laptop');
  }, 30_000);
});
