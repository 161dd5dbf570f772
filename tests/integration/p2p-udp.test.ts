import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.js';
import { startClient, startServer, udpEchoServer, waitFor } from './harness.js';

// UDP services over peer-to-peer (issue 9) on loopback: a real server (control, relay, STUN,
// signalling), a p2p tunnel with protocol udp in front of a UDP echo service, and a p2p visitor
// with protocol udp; the punch runs for real over UDX sockets on 127.0.0.1.

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const SECRET = 'correct horse battery staple';
const visitorOf = (e: Engine, name: string) => e.status().visitors.find((v) => v.name === name)!;
const tunnelOf = (e: Engine, name: string) => e.status().tunnels.find((t) => t.name === name)!;

async function userSocket(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  cleanup.push(() => s.close());
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** 200 datagrams of 1..1200 bytes, each different (its index in the first two bytes where it has room). */
function datagrams(count = 200): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const size = i === 0 ? 1 : i === 1 ? 1200 : 1 + ((i * 389) % 1200);
    const d = randomBytes(size);
    if (size >= 2) d.writeUInt16BE(i, 0);
    return d;
  });
}

/**
 * Sends each datagram to the visitor and waits for its echo before the next (so a lost datagram
 * shows as a missing reply, not a reorder); a reply must be exactly the datagram sent.
 */
async function echoEach(user: UdpSocket, port: number, list: Buffer[]): Promise<Buffer[]> {
  const replies: Buffer[] = [];
  for (const d of list) {
    const reply = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo for a ${d.length}-byte datagram (#${replies.length})`)), 3_000);
      user.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    user.send(d, port, '127.0.0.1');
    replies.push(await reply);
  }
  return replies;
}

/** Two users send at once, each tagged datagrams; resolves with what each got back. */
async function twoUsersAtOnce(port: number, perUser = 50): Promise<{ a: string[]; b: string[] }> {
  const [ua, ub] = await Promise.all([userSocket(), userSocket()]);
  const run = (s: UdpSocket, tag: string) =>
    new Promise<string[]>((resolve) => {
      const got: string[] = [];
      const timer = setTimeout(() => resolve(got), 5_000);
      s.on('message', (m) => {
        got.push(m.toString());
        if (got.length === perUser) {
          clearTimeout(timer);
          // a little longer: anything of the other user's arriving late would show
          setTimeout(() => resolve(got), 100);
        }
      });
      let i = 0;
      const tick = () => {
        for (let k = 0; k < 5 && i < perUser; k++, i++) s.send(`${tag}-${i}`, port, '127.0.0.1');
        if (i < perUser) setTimeout(tick, 2);
      };
      tick();
    });
  const [a, b] = await Promise.all([run(ua, 'alice'), run(ub, 'bob')]);
  return { a, b };
}

const sum = (list: Buffer[]) => list.reduce((n, d) => n + d.length, 0);

describe('p2p udp tunnel and visitor', () => {
  async function setupDirect(visitorExtra: Record<string, unknown> = {}) {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer({ stun: { listen: '127.0.0.1:0', tlsListen: false } });
    cleanup.push(() => server.stop());
    const owner = await startClient(server, { tunnels: [{ name: 'game', type: 'p2p', protocol: 'udp', local: `127.0.0.1:${echo.port}`, secret: SECRET }] });
    cleanup.push(() => owner.stop());
    await waitFor(() => tunnelOf(owner, 'game').state === 'online', 'tunnel online');
    const bind = await freeUdpPort();
    const visitor = await startClient(server, { visitors: [{ name: 'to-game', type: 'p2p', protocol: 'udp', tunnel: 'game', secret: SECRET, bind: `127.0.0.1:${bind}`, ...visitorExtra }] });
    cleanup.push(() => visitor.stop());
    await waitFor(() => visitor.status().state === 'online' && visitorOf(visitor, 'to-game').state === 'online', 'visitor online');
    await waitFor(() => visitorOf(visitor, 'to-game').p2p?.path === 'direct', 'a direct path', 15_000);
    return { server, owner, visitor, bind };
  }

  it('direct: 200 datagrams of 1..1200 bytes echo back intact, boundaries kept; both sides say direct and the relay carried nothing', async () => {
    const { server, owner, visitor, bind } = await setupDirect();
    const sent = datagrams();
    const user = await userSocket();
    const t0 = performance.now();
    const back = await echoEach(user, bind, sent);
    console.log(`p2p udp direct: 200 lockstep echoes in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(back.map((d) => d.length)).toEqual(sent.map((d) => d.length));
    expect(back.every((d, i) => d.equals(sent[i]!))).toBe(true);

    const bytes = sum(sent);
    const v = visitorOf(visitor, 'to-game');
    expect(v.p2p!.path).toBe('direct');
    expect(v.p2p!.direct).toEqual({ connections: 1, bytesOut: bytes, bytesIn: bytes });
    expect(v.p2p!.relay).toEqual({ connections: 0, bytesOut: 0, bytesIn: 0 });
    expect(v).toMatchObject({ bytesOut: bytes, bytesIn: bytes, activeConnections: 1, totalConnections: 1 });
    const t = tunnelOf(owner, 'game');
    expect(t.p2p!.path).toBe('direct');
    expect(t.p2p!.direct).toEqual({ connections: 1, bytesIn: bytes, bytesOut: bytes });
    expect(t.p2p!.relay).toEqual({ connections: 0, bytesIn: 0, bytesOut: 0 });
    expect(server.snapshot().clients.flatMap((c) => c.tunnels).find((x) => x.name === 'game')).toMatchObject({ bytesIn: 0, bytesOut: 0 });
    expect(v.p2p!.datagramsDropped).toBe(0);
    expect(t.p2p!.datagramsDropped).toBe(0);

    // larger than the direct path carries: dropped at the visitor (and counted), never sent; the next one goes through
    user.send(Buffer.alloc(1401, 1), bind, '127.0.0.1');
    const [after] = await echoEach(user, bind, [Buffer.from('after the big one')]);
    expect(after!.toString()).toBe('after the big one');
    expect(visitorOf(visitor, 'to-game').p2p!.datagramsDropped).toBe(1);
    // and an empty datagram is a datagram too
    const [empty] = await echoEach(user, bind, [Buffer.alloc(0)]);
    expect(empty!.length).toBe(0);
  }, 40_000);

  it("a session idle for the visitor's idleTimeout ends on both sides (the serving side is told), and the user's next datagram starts a new one", async () => {
    const { visitor, owner, bind } = await setupDirect({ idleTimeout: 0.5 });
    const user = await userSocket();
    await echoEach(user, bind, [Buffer.from('one')]);
    expect(tunnelOf(owner, 'game').activeConnections).toBe(1);
    // the tunnel's own idleTimeout is the default 60 s: it closes at once because the visitor says so
    await waitFor(() => tunnelOf(owner, 'game').activeConnections === 0, 'the serving side closed the session', 5_000);
    expect(visitorOf(visitor, 'to-game').activeConnections).toBe(0);
    const [again] = await echoEach(user, bind, [Buffer.from('two')]);
    expect(again!.toString()).toBe('two');
    expect(visitorOf(visitor, 'to-game')).toMatchObject({ activeConnections: 1, totalConnections: 2 });
    expect(tunnelOf(owner, 'game')).toMatchObject({ activeConnections: 1, totalConnections: 2 });
  }, 40_000);

  it('on the relay too, an idle session ends on both sides: the relay stream closes and the serving side frees its socket', async () => {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer({ stun: { listen: '127.0.0.1:0', tlsListen: false } });
    cleanup.push(() => server.stop());
    const bind = await freeUdpPort();
    // one client serving and visiting: the server refuses its offers (see the fallback test)
    const both = await startClient(server, {
      tunnels: [{ name: 'game', type: 'p2p', protocol: 'udp', local: `127.0.0.1:${echo.port}`, secret: SECRET }],
      visitors: [{ name: 'to-game', type: 'p2p', protocol: 'udp', tunnel: 'game', secret: SECRET, bind: `127.0.0.1:${bind}`, fallbackTimeout: 0.2, idleTimeout: 0.5 }],
    });
    cleanup.push(() => both.stop());
    await waitFor(() => visitorOf(both, 'to-game').p2p?.attempts.some((a) => a.outcome === 'failed'), 'a refused attempt');
    const user = await userSocket();
    await echoEach(user, bind, [Buffer.from('one')]);
    expect(tunnelOf(both, 'game').activeConnections).toBe(1);
    await waitFor(() => tunnelOf(both, 'game').activeConnections === 0 && visitorOf(both, 'to-game').activeConnections === 0, 'both sides closed the session', 5_000);
    const [again] = await echoEach(user, bind, [Buffer.from('two')]);
    expect(again!.toString()).toBe('two');
    expect(visitorOf(both, 'to-game').p2p!.relay.connections).toBe(2);
  }, 40_000);

  it('when the direct path dies, the user keeps going: the next datagram starts a new session (relay, or the re-punched path)', async () => {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer({ stun: { listen: '127.0.0.1:0', tlsListen: false } });
    cleanup.push(() => server.stop());
    const tunnels = [{ name: 'game', type: 'p2p' as const, protocol: 'udp' as const, local: `127.0.0.1:${echo.port}`, secret: SECRET }];
    const first = await startClient(server, { clientId: 'game-host', tunnels });
    cleanup.push(() => first.stop());
    await waitFor(() => tunnelOf(first, 'game').state === 'online', 'tunnel online');
    const bind = await freeUdpPort();
    const visitor = await startClient(server, { visitors: [{ name: 'to-game', type: 'p2p', protocol: 'udp', tunnel: 'game', secret: SECRET, bind: `127.0.0.1:${bind}` }] });
    cleanup.push(() => visitor.stop());
    await waitFor(() => visitorOf(visitor, 'to-game').p2p?.path === 'direct', 'a direct path', 15_000);
    const user = await userSocket();
    await echoEach(user, bind, [Buffer.from('before')]);
    // the serving machine restarts: its direct path closes, and it logs in again
    await first.stop();
    await waitFor(() => visitorOf(visitor, 'to-game').p2p?.path !== 'direct', 'the visitor notices the path is gone', 5_000);
    const second = await startClient(server, { clientId: 'game-host', tunnels });
    cleanup.push(() => second.stop());
    await waitFor(() => tunnelOf(second, 'game').state === 'online', 'tunnel online again');
    const [after] = await echoEach(user, bind, [Buffer.from('after')]);
    expect(after!.toString()).toBe('after');
    const v = visitorOf(visitor, 'to-game');
    expect(v.totalConnections).toBe(2);
    expect(v.p2p!.direct.connections + v.p2p!.relay.connections).toBe(2);
  }, 40_000);

  it('fallback none: without a direct path the datagrams are dropped and counted, never relayed', async () => {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer({ stun: { listen: '127.0.0.1:0', tlsListen: false } });
    cleanup.push(() => server.stop());
    const bind = await freeUdpPort();
    // one client serving and visiting: the server refuses its offers (see the fallback test)
    const both = await startClient(server, {
      tunnels: [{ name: 'game', type: 'p2p', protocol: 'udp', local: `127.0.0.1:${echo.port}`, secret: SECRET }],
      visitors: [{ name: 'to-game', type: 'p2p', protocol: 'udp', tunnel: 'game', secret: SECRET, bind: `127.0.0.1:${bind}`, fallback: 'none', fallbackTimeout: 0.2 }],
    });
    cleanup.push(() => both.stop());
    await waitFor(() => visitorOf(both, 'to-game').p2p?.attempts.some((a) => a.outcome === 'failed'), 'a refused attempt');
    const user = await userSocket();
    for (const d of ['one', 'two', 'three']) user.send(d, bind, '127.0.0.1');
    await waitFor(() => visitorOf(both, 'to-game').p2p!.datagramsDropped === 3, 'three datagrams dropped', 5_000);
    const s = visitorOf(both, 'to-game').p2p!;
    expect(s.relay).toEqual({ connections: 0, bytesIn: 0, bytesOut: 0 });
    expect(s.direct.connections).toBe(0);
    expect(tunnelOf(both, 'game').totalConnections).toBe(0);
  }, 40_000);

  it('two user sockets at once each get only their own replies (one session per user address)', async () => {
    const { visitor, owner, bind } = await setupDirect();
    const { a, b } = await twoUsersAtOnce(bind);
    expect(a.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `alice-${i}`).sort());
    expect(b.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `bob-${i}`).sort());
    expect(visitorOf(visitor, 'to-game').p2p!.direct.connections).toBe(2);
    expect(tunnelOf(owner, 'game')).toMatchObject({ activeConnections: 2, totalConnections: 2 });
  }, 40_000);

  it.each([true, false])('fallback (mux: %s): with the offer refused, datagrams go through the relay intact, one relay stream per user, and the status says relay and why', async (mux) => {
    const echo = await udpEchoServer();
    cleanup.push(echo.close);
    const server = await startServer({ stun: { listen: '127.0.0.1:0', tlsListen: false } });
    cleanup.push(() => server.stop());
    // The server refuses every offer a client makes to its own tunnel: one client both serves and
    // visits, so punching is refused and only the relay is left (the real refusal, no stubs).
    const bind = await freeUdpPort();
    const both = await startClient(server, {
      mux,
      tunnels: [{ name: 'game', type: 'p2p', protocol: 'udp', local: `127.0.0.1:${echo.port}`, secret: SECRET }],
      visitors: [{ name: 'to-game', type: 'p2p', protocol: 'udp', tunnel: 'game', secret: SECRET, bind: `127.0.0.1:${bind}`, fallbackTimeout: 5 }],
    });
    cleanup.push(() => both.stop());
    await waitFor(() => tunnelOf(both, 'game').state === 'online', 'tunnel online');
    await waitFor(() => visitorOf(both, 'to-game').p2p?.attempts.some((a) => a.outcome === 'failed'), 'a refused attempt');

    const sent = datagrams();
    const user = await userSocket();
    const started = performance.now();
    const back = await echoEach(user, bind, sent.slice(0, 1));
    const firstMs = performance.now() - started;
    // the attempt has failed already and the next waits out its backoff: no waiting for the 5 s fallbackTimeout
    expect(firstMs).toBeLessThan(1_000);
    const t0 = performance.now();
    back.push(...(await echoEach(user, bind, sent.slice(1))));
    console.log(`p2p udp relay: first echo after ${firstMs.toFixed(0)} ms (punch already refused), then 199 lockstep echoes in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(back.every((d, i) => d.equals(sent[i]!))).toBe(true);

    const bytes = sum(sent);
    const s = visitorOf(both, 'to-game').p2p!;
    expect(s.path).toBe('relay');
    expect(s.attempts[0]!.reason).toBe('the server refused: a client cannot punch to its own tunnel');
    expect(s.relay).toEqual({ connections: 1, bytesOut: bytes, bytesIn: bytes });
    expect(s.direct).toEqual({ connections: 0, bytesOut: 0, bytesIn: 0 });
    expect(tunnelOf(both, 'game')).toMatchObject({ bytesIn: bytes, bytesOut: bytes });
    // the server relayed them: payload plus a 2-byte length per datagram
    expect(server.snapshot().clients.flatMap((c) => c.tunnels).find((x) => x.name === 'game')!.bytesIn).toBeGreaterThanOrEqual(bytes);

    const { a, b } = await twoUsersAtOnce(bind);
    expect(a.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `alice-${i}`).sort());
    expect(b.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `bob-${i}`).sort());
    expect(visitorOf(both, 'to-game').p2p!.relay.connections).toBe(3);
  }, 40_000);
});
