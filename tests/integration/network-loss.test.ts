/**
 * Network loss without a clean close: a proxy between client and server silently drops every byte
 * (as when a NAT mapping vanishes). Both heartbeats must notice, the server must free the session,
 * and the client must come back once the path works again.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcp, echoServer, roundTrip, startClient, startServer, tunnelOnline, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A TCP proxy that can black-hole traffic: frozen connections stay open but carry nothing, ever. */
async function blackHoleProxy(upstreamPort: number): Promise<{ port: number; freeze: () => void; thaw: () => void; close: () => void }> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (down) => {
    const up = connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
    let dead = frozen;
    const link = { kill: () => (dead = true) };
    killers.add(link);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.on('data', (d: Buffer) => !dead && up.write(d));
    up.on('data', (d: Buffer) => !dead && down.write(d));
    down.on('end', () => !dead && up.end());
    up.on('end', () => !dead && down.end());
  });
  const killers = new Set<{ kill: () => void }>();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
      for (const k of killers) k.kill();
    },
    thaw: () => (frozen = false),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('network loss', () => {
  it('a silently dead path is detected by both heartbeats and the client recovers when it returns', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer({ heartbeatTimeout: 1.5 });
    cleanup.push(() => server.stop());
    const proxy = await blackHoleProxy(server.address.port);
    cleanup.push(proxy.close);
    const engine = await startClient(proxy.port, {
      heartbeat: { interval: 0.2, timeout: 1 },
      tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }],
    });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'echo');
    expect((await roundTrip(await connectTcp(port), Buffer.from('before'))).toString()).toBe('before');

    proxy.freeze();
    // The server stops hearing pings: after heartbeatTimeout the session and its port are gone.
    await waitFor(() => server.snapshot().clients.length === 0, 'server to drop the silent client', 5000);
    await expect(connectTcp(port)).rejects.toThrow(/ECONNREFUSED/);
    // The client stops hearing pongs and keeps trying.
    await waitFor(() => engine.status().state !== 'online', 'client to notice', 5000);
    expect(engine.status().error).toMatch(/no heartbeat reply|timed out|no message|closed/);

    proxy.thaw();
    await waitFor(() => engine.status().state === 'online' && engine.status().tunnels[0]!.state === 'online', 'client back online', 20_000);
    const again = await tunnelOnline(engine, 'echo');
    expect((await roundTrip(await connectTcp(again), Buffer.from('after'))).toString()).toBe('after');
  }, 40_000);
});
