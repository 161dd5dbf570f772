import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.js';
import type { BurrowServer } from '../../server/burrow-server.js';
import { connectTcp, echoServer, roundTrip, sha256, startClient, startServer, tempDir, tunnelOnline, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(tls: boolean, mux: boolean): Promise<{ server: BurrowServer; engine: Engine; port: number }> {
  const echo = await echoServer();
  cleanup.push(echo.close);
  const state = await tempDir();
  cleanup.push(state.remove);
  const server = await startServer({ tls, stateDir: `${state.path}/server` }, `${state.path}/server`);
  cleanup.push(() => server.stop());
  const engine = await startClient(
    server,
    { tls, mux, tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }] },
    `${state.path}/client`,
  );
  cleanup.push(() => engine.stop());
  const port = await tunnelOnline(engine, 'echo');
  // The tunnel is online with the control session; the multiplexed connection follows it (until
  // then user connections ride work connections, which the assertions below tell apart).
  if (mux) await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux attached');
  return { server, engine, port };
}

/** How the server reached the client: streams on its multiplexed connection, or pooled work connections. */
function carriedBy(server: BurrowServer): 'mux' | 'work connections' {
  return server.snapshot().clients[0]!.muxStreams === undefined ? 'work connections' : 'mux';
}

describe.each([
  { mux: true, carrier: 'mux' },
  { mux: false, carrier: 'work connections' },
] as const)('tcp tunnel carried by $carrier', ({ mux, carrier }) => {
  it('moves 64 MiB each way with TLS on and the SHA-256 matches', async () => {
    const { engine, server, port } = await setup(true, mux);
    const payload = randomBytes(64 * 1024 * 1024);
    const back = await roundTrip(await connectTcp(port), payload);
    expect(back.length).toBe(payload.length);
    expect(sha256(back)).toBe(sha256(payload));
    const t = engine.status().tunnels[0]!;
    expect(t.bytesIn).toBe(payload.length);
    expect(t.bytesOut).toBe(payload.length);
    expect(engine.status().serverFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(carriedBy(server)).toBe(carrier);
  }, 120_000);

  it('carries 200 concurrent connections of 1 MiB each, every one intact', async () => {
    const { engine, server, port } = await setup(false, mux);
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const payload = randomBytes(1024 * 1024);
        const back = await roundTrip(await connectTcp(port), payload);
        return sha256(back) === sha256(payload) && back.length === payload.length;
      }),
    );
    expect(results.filter(Boolean).length).toBe(200);
    const t = engine.status().tunnels[0]!;
    expect(t.totalConnections).toBe(200);
    expect(server.snapshot().clients[0]!.tunnels[0]!.bytesIn).toBe(200 * 1024 * 1024);
    expect(carriedBy(server)).toBe(carrier);
    // With mux no work connection was ever asked for; without it the pool was refilled after each use.
    if (mux) expect(server.snapshot().clients[0]!.idleWorkConnections).toBe(0);
    else await waitFor(() => server.snapshot().clients[0]!.idleWorkConnections >= 4, 'the work connection pool refilled');
  }, 120_000);

});

describe('tcp tunnel', () => {
  it('honours half-close: a service that answers only after the user finished sending still gets its answer through', async () => {
    // The service reads until FIN, then replies with the SHA-256 of what it got and closes.
    const service = createServer({ allowHalfOpen: true }, (s) => {
      const hash = createHash('sha256');
      s.on('data', (c: Buffer) => hash.update(c));
      s.once('end', () => s.end(hash.digest('hex')));
    });
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => service.close());
    const server = await startServer();
    cleanup.push(() => server.stop());
    const engine = await startClient(server, {
      tunnels: [{ name: 'digest', type: 'tcp', local: `127.0.0.1:${(service.address() as AddressInfo).port}`, remotePort: 0 }],
    });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'digest');
    const payload = randomBytes(3 * 1024 * 1024);
    const answer = await roundTrip(await connectTcp(port), payload);
    expect(answer.toString()).toBe(sha256(payload));
  });
});
