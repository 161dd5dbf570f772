import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfig, closedWithoutData, connectTcp, echoServer, roundTrip, sha256, startClient, startServer, tunnelOnline, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function freePort(): Promise<number> {
  const e = await echoServer();
  await e.close();
  return e.port;
}

describe('secret tunnel', () => {
  it('reaches the service through a visitor that knows the secret, and refuses a wrong secret', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer({ tls: true });
    cleanup.push(() => server.stop());
    const owner = await startClient(server, {
      tls: true,
      tunnels: [{ name: 'db', type: 'secret', local: `127.0.0.1:${echo.port}`, secret: 'correct horse battery' }],
    });
    cleanup.push(() => owner.stop());
    await waitFor(() => owner.status().tunnels[0]!.state === 'online', 'secret tunnel online');
    expect(owner.status().tunnels[0]!.remoteAddress).toBeUndefined();

    const goodPort = await freePort();
    const badPort = await freePort();
    const visitor = await startClient(server, {
      tls: true,
      visitors: [
        { name: 'to-db', tunnel: 'db', secret: 'correct horse battery', bind: `127.0.0.1:${goodPort}` },
        { name: 'to-db-wrong', tunnel: 'db', secret: 'wrong horse battery', bind: `127.0.0.1:${badPort}` },
      ],
    });
    cleanup.push(() => visitor.stop());
    await waitFor(() => visitor.status().state === 'online', 'visitor client online');

    const payload = randomBytes(2 * 1024 * 1024);
    const back = await roundTrip(await connectTcp(goodPort), payload);
    expect(sha256(back)).toBe(sha256(payload));
    expect(owner.status().tunnels[0]!.totalConnections).toBe(1);

    const bad = await connectTcp(badPort);
    bad.write('hello?');
    expect(await closedWithoutData(bad)).toBe(true);
    const v = visitor.status().visitors.find((x) => x.name === 'to-db-wrong')!;
    expect(v.state).toBe('error');
    expect(v.error).toBe('wrong secret');
    expect(server.snapshot().counters.visitorsRefused).toBe(1);
    // The owner's tunnel saw no connection from the refused visitor.
    expect(owner.status().tunnels[0]!.totalConnections).toBe(1);
  });

  it('a visitor with enabled: false opens no local port and is listed as stopped; switched on by a reload, it carries data', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer();
    cleanup.push(() => server.stop());
    const owner = await startClient(server, { tunnels: [{ name: 'db', type: 'secret', local: `127.0.0.1:${echo.port}`, secret: 'correct horse battery' }] });
    cleanup.push(() => owner.stop());
    await waitFor(() => owner.status().tunnels[0]!.state === 'online', 'secret tunnel online');

    const port = await freePort();
    const visitor = { name: 'to-db', tunnel: 'db', secret: 'correct horse battery', bind: `127.0.0.1:${port}` };
    const other = { name: 'other', tunnel: 'db', secret: 'correct horse battery', bind: `127.0.0.1:${await freePort()}` };
    const client = await startClient(server, { visitors: [{ ...visitor, enabled: false }, other] });
    cleanup.push(() => client.stop());
    await waitFor(() => client.status().state === 'online', 'visitor client online');
    await expect(connectTcp(port)).rejects.toThrow(/ECONNREFUSED/);
    // in config order, the switched-off one included
    expect(client.status().visitors.map((v) => [v.name, v.state])).toEqual([
      ['to-db', 'stopped'],
      ['other', expect.stringMatching(/online|connecting/)],
    ]);

    await client.reload(clientConfig(server, { visitors: [visitor, other] }));
    const payload = randomBytes(256 * 1024);
    expect(sha256(await roundTrip(await connectTcp(port), payload))).toBe(sha256(payload));
    await client.reload(clientConfig(server, { visitors: [{ ...visitor, enabled: false }, other] }));
    await expect(connectTcp(port)).rejects.toThrow(/ECONNREFUSED/);
    expect(client.status().visitors[0]).toMatchObject({ name: 'to-db', state: 'stopped', bytesIn: 0 });
  });

  it('gives a tunnel on an already-used public port an error state while the others come up', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer();
    cleanup.push(() => server.stop());
    const engine = await startClient(server, {
      tunnels: [
        { name: 'taken', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: echo.port },
        { name: 'fine', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 },
      ],
    });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'fine');
    const taken = await waitFor(() => {
      const t = engine.status().tunnels.find((x) => x.name === 'taken')!;
      return t.state === 'error' ? t : undefined;
    }, 'taken tunnel to error');
    expect(taken.error).toBe(`port ${echo.port} is already in use`);
    const back = await roundTrip(await connectTcp(port), Buffer.from('still works'));
    expect(back.toString()).toBe('still works');
  });
});
