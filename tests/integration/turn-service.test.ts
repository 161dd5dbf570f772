/**
 * STUN and TURN as part of `burrow server` (the `stun:` and `turn:` config sections), driven by
 * Burrow's own engine clients over every client transport, and seen through the admin API and
 * Prometheus metrics the way an operator sees them.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { AdminApi } from '../../server/admin-api.js';
import type { BurrowServer } from '../../server/burrow-server.js';
import { stunBinding } from '../../engine/stun/stun-client.js';
import { TurnClient, TurnError } from '../../engine/turn/turn-client.js';
import { startServer } from './harness.js';

const ADMIN_TOKEN = 'admin-token-for-turn';
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function udpEchoPeer(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => s.close());
  return s;
}

async function start(allowLoopbackPeers: boolean): Promise<{ server: BurrowServer; admin: AdminApi; udp: number; tcp: number; tls: number }> {
  const server = await startServer({
    tls: true,
    // No tlsListen: TLS is on by default (port 5349, or an ephemeral port when listen's is 0).
    stun: { listen: '127.0.0.1:0' },
    turn: { users: { alice: 'wonderland' }, relayIps: ['127.0.0.1'], ...(allowLoopbackPeers ? { allowPeers: ['127.0.0.0/8'] } : {}) },
  });
  cleanup.push(() => server.stop());
  const admin = new AdminApi(server, { listen: '127.0.0.1:0', token: ADMIN_TOKEN }, silentLogger());
  await admin.start();
  cleanup.push(() => admin.stop());
  const addresses = server.snapshot().stun!.addresses;
  return { server, admin, udp: addresses.udp[0]!.port, tcp: addresses.tcp[0]!.port, tls: addresses.tls!.port };
}

function get(admin: AdminApi, path: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${admin.port}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

function echoOnce(client: TurnClient, peer: { address: string; port: number }, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo of "${text}"`)), 3000);
    client.once('data', (data: Uint8Array) => {
      clearTimeout(timer);
      resolve(Buffer.from(data).toString());
    });
    client.send(peer, Buffer.from(text));
  });
}

describe('STUN/TURN in burrow server', () => {
  it('answers STUN Binding and relays TURN over UDP, TCP and TLS; the admin API and /metrics show it', async () => {
    const { server, admin, udp, tcp, tls } = await start(true);
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => probe.close());
    const binding = await stunBinding(probe, { host: '127.0.0.1', port: udp });
    expect(binding.mapped).toMatchObject({ address: '127.0.0.1', port: probe.address().port });

    const peer = await udpEchoPeer();
    const peerAddr = { address: '127.0.0.1', port: peer.address().port };
    const clients: TurnClient[] = [];
    for (const [transport, port] of [['udp', udp], ['tcp', tcp], ['tls', tls]] as const) {
      const c = new TurnClient({
        server: { host: '127.0.0.1', port },
        username: 'alice',
        password: 'wonderland',
        transport,
        ...(transport === 'tls' ? { tls: { rejectUnauthorized: false } } : {}),
      });
      cleanup.push(() => c.close());
      clients.push(c);
      const allocation = await c.allocate();
      expect(allocation.relayed.address).toBe('127.0.0.1');
      await c.createPermission('127.0.0.1');
      expect(await echoOnce(c, peerAddr, `${transport} via Send`)).toBe(`${transport} via Send`);
      await c.channelBind(peerAddr);
      expect(await echoOnce(c, peerAddr, `${transport} via channel`)).toBe(`${transport} via channel`);
    }

    const status = (await (await get(admin, '/api/status')).json()) as ReturnType<BurrowServer['snapshot']>;
    expect(status.turn!.stats.allocations).toBe(3);
    expect(status.turn!.stats.channels).toBe(3);
    expect(status.turn!.allocations.map((a) => a.username)).toEqual(['alice', 'alice', 'alice']);
    expect(status.turn!.stats.packetsRelayed.toPeers).toBe(6);
    expect(status.turn!.stats.packetsRelayed.fromPeers).toBe(6);
    const metrics = await (await get(admin, '/metrics')).text();
    expect(metrics).toMatch(/^burrow_turn_allocations 3$/m);
    expect(metrics).toMatch(/^burrow_turn_relayed_packets_total\{direction="to_peers"\} 6$/m);

    for (const c of clients) await c.close();
    await expect.poll(() => server.snapshot().turn!.stats.allocations).toBe(0);
  }, 30_000);

  it('by default refuses loopback peers (403) and counts wrong passwords as auth failures', async () => {
    const { server, admin, udp } = await start(false);
    const c = new TurnClient({ server: { host: '127.0.0.1', port: udp }, username: 'alice', password: 'wonderland' });
    cleanup.push(() => c.close());
    await c.allocate();
    const peer = await udpEchoPeer();
    const heard: string[] = [];
    peer.on('message', (m) => heard.push(m.toString()));
    // A loopback peer (a service on the server's host) is refused: 403 for a permission or channel
    // naming its port, and a Send to it never arrives. So are the server's own STUN/TURN ports.
    for (const port of [peer.address().port, udp]) {
      const refused = await c.channelBind({ address: '127.0.0.1', port }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(TurnError);
      expect((refused as TurnError).code).toBe(403);
    }
    await c.createPermission('10.0.0.1').then(
      () => expect.fail('a private peer was allowed'),
      (err: unknown) => expect((err as TurnError).code).toBe(403),
    );
    c.send({ address: '127.0.0.1', port: peer.address().port }, Buffer.from('sneak'));

    const wrong = new TurnClient({ server: { host: '127.0.0.1', port: udp }, username: 'alice', password: 'not-it', rtoMs: 200 });
    cleanup.push(() => wrong.close());
    await expect(wrong.allocate()).rejects.toThrow();
    expect(server.snapshot().turn!.stats.authFailures).toBeGreaterThan(0);
    expect(await (await get(admin, '/metrics')).text()).toMatch(/^burrow_turn_auth_failures_total [1-9]/m);
    expect(heard).toEqual([]);
    expect(server.snapshot().turn!.stats.packetsRelayed.toPeers).toBe(0);
  }, 30_000);

  it('with the default peer policy, two relay-only clients of this server reach each other (UDP and TCP to the server)', async () => {
    const { server, udp, tcp } = await start(false);
    const a = new TurnClient({ server: { host: '127.0.0.1', port: udp }, username: 'alice', password: 'wonderland' });
    const b = new TurnClient({ server: { host: '127.0.0.1', port: tcp }, username: 'alice', password: 'wonderland', transport: 'tcp' });
    cleanup.push(() => a.close(), () => b.close());
    const relayedA = (await a.allocate()).relayed;
    const relayedB = (await b.allocate()).relayed;
    // What a browser does with the other's relay candidate: a permission, then data.
    await a.createPermission(relayedB.address);
    await b.createPermission(relayedA.address);
    const atB = new Promise<{ from: unknown; text: string }>((resolve) => b.once('data', (d: Uint8Array, from: unknown) => resolve({ from, text: Buffer.from(d).toString() })));
    a.send(relayedB, Buffer.from('hello from a'));
    const got = await atB;
    expect(got.text).toBe('hello from a');
    expect(got.from).toMatchObject({ address: relayedA.address, port: relayedA.port });
    // Channels both ways.
    await a.channelBind(relayedB);
    await b.channelBind(relayedA);
    const atA = new Promise<string>((resolve) => a.once('data', (d: Uint8Array) => resolve(Buffer.from(d).toString())));
    b.send(relayedA, Buffer.from('hello from b'));
    expect(await atA).toBe('hello from b');
    const again = new Promise<string>((resolve) => b.once('data', (d: Uint8Array) => resolve(Buffer.from(d).toString())));
    a.send(relayedB, Buffer.from('over the channel'));
    expect(await again).toBe('over the channel');
    expect(server.snapshot().turn!.stats.packetsRelayed).toEqual({ toPeers: 3, fromPeers: 3 });
  }, 30_000);
});
