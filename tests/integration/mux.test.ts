/**
 * The multiplexed connection (client `mux: true`, the default): user connections are streams on
 * one connection to the server, each with its own flow-control window.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcp, echoServer, roundTrip, sha256, startClient, startServer, tunnelOnline, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A TCP proxy in front of the server that remembers its connections in accept order. */
async function proxyTo(port: number): Promise<{ port: number; pairs: Array<[Socket, Socket]>; close: () => void }> {
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer({ allowHalfOpen: true }, (inbound) => {
    const outbound = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    pairs.push([inbound, outbound]);
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
      a.pipe(b);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    pairs,
    close: () => {
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      server.close();
    },
  };
}

describe('multiplexed connection', () => {
  it('a connection whose user stops reading does not hold up another on the same connection', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer({ tls: true });
    cleanup.push(() => server.stop());
    const engine = await startClient(server, { tls: true, tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }] });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'echo');
    // The tunnel is online as soon as the control session is; the multiplexed connection follows.
    await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux attached');

    // A: writes 16 MiB and reads nothing, so its echo backs up through the relay.
    const stalled = await connectTcp(port);
    stalled.pause();
    const big = randomBytes(16 * 1024 * 1024);
    stalled.write(big);
    await waitFor(() => server.snapshot().clients[0]?.muxStreams === 1 || undefined, 'stream A open');
    await new Promise((r) => setTimeout(r, 500));

    // B: a full 1 MiB round trip on the same multiplexed connection meanwhile.
    const payload = randomBytes(1024 * 1024);
    const started = Date.now();
    const back = await roundTrip(await connectTcp(port), payload);
    expect(sha256(back)).toBe(sha256(payload));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.snapshot().clients[0]!.idleWorkConnections).toBe(0);

    // A then reads: every byte of it arrives intact.
    const chunks: Buffer[] = [];
    stalled.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => stalled.once('end', r));
    stalled.end();
    stalled.resume();
    await ended;
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(big));
  }, 60_000);

  it('when the multiplexed connection drops, the tunnel keeps working and the client opens it again', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer({ tls: false });
    cleanup.push(() => server.stop());
    const proxy = await proxyTo(server.address.port);
    cleanup.push(proxy.close);
    const engine = await startClient(proxy.port, { tls: false, tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }] });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'echo');
    await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux attached');
    // Connection 0 is the control connection, 1 the multiplexed one.
    expect(proxy.pairs.length).toBe(2);
    const [muxIn, muxOut] = proxy.pairs[1]!;
    muxIn.destroy();
    muxOut.destroy();
    await waitFor(() => server.snapshot().clients[0]?.muxStreams === undefined, 'mux detached on the server');

    // Meanwhile user connections ride work connections (or the new multiplexed connection, once it is back).
    const payload = randomBytes(256 * 1024);
    expect(sha256(await roundTrip(await connectTcp(port), payload))).toBe(sha256(payload));
    await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux reattached');
    expect(sha256(await roundTrip(await connectTcp(port), payload))).toBe(sha256(payload));
    // The control session was never lost.
    expect(engine.status().reconnects).toBe(0);
    expect(engine.status().tunnels[0]!.totalConnections).toBe(2);
  }, 60_000);
});
