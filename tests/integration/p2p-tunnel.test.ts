import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { encodeProbe, type ProbeContext } from '../../shared/p2p/probe.js';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.js';
import { closedWithoutData, connectTcp, echoServer, roundTrip, sha256, startClient, startServer, waitFor } from './harness.js';

// Peer-to-peer on loopback (issue 9): a real server (control, relay, STUN, signalling) and two
// engines; the punch runs for real over UDX sockets on 127.0.0.1 (no NAT in between).

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function freePort(): Promise<number> {
  const e = await echoServer();
  await e.close();
  return e.port;
}

const SECRET = 'correct horse battery staple';
const visitorOf = (e: Engine, name: string) => e.status().visitors.find((v) => v.name === name)!;

async function setup(tunnelType: 'p2p' | 'secret', visitorExtra: Record<string, unknown> = {}) {
  const echo = await echoServer();
  cleanup.push(echo.close);
  const server = await startServer({ stun: { listen: '127.0.0.1:0', tlsListen: false } });
  cleanup.push(() => server.stop());
  const owner = await startClient(server, { tunnels: [{ name: 'nas', type: tunnelType, local: `127.0.0.1:${echo.port}`, secret: SECRET }] });
  cleanup.push(() => owner.stop());
  await waitFor(() => owner.status().tunnels[0]!.state === 'online', 'tunnel online');
  const bind = await freePort();
  const visitor = await startClient(server, { visitors: [{ name: 'to-nas', type: 'p2p', tunnel: 'nas', secret: SECRET, bind: `127.0.0.1:${bind}`, ...visitorExtra }] });
  cleanup.push(() => visitor.stop());
  await waitFor(() => visitor.status().state === 'online', 'visitor online');
  return { server, owner, visitor, bind };
}

describe('p2p tunnel and visitor', () => {
  it('punches a direct path, carries connections over it intact, and says so in the status of both sides', async () => {
    const { server, owner, visitor, bind } = await setup('p2p');
    const p2p = await waitFor(() => {
      const s = visitorOf(visitor, 'to-nas').p2p;
      return s?.path === 'direct' && s;
    }, 'a direct path', 15_000);
    expect(p2p.pair?.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(p2p.attempts.at(-1)).toMatchObject({ outcome: 'direct' });
    expect(p2p.attempts.at(-1)!.reason).toMatch(/×/);

    const payload = randomBytes(1024 * 1024);
    const back = await roundTrip(await connectTcp(bind), payload);
    expect(sha256(back)).toBe(sha256(payload));
    const after = visitorOf(visitor, 'to-nas').p2p!;
    expect(after.direct).toMatchObject({ connections: 1, bytesOut: payload.length, bytesIn: payload.length });
    expect(after.relay.connections).toBe(0);
    const tunnel = owner.status().tunnels[0]!;
    expect(tunnel.p2p?.path).toBe('direct');
    expect(tunnel.p2p?.direct.bytesIn).toBe(payload.length);
    // which strategy worked for this address pair, on both sides
    const direct = { strategy: 'simultaneous', direct: 1, failed: 0, relay: 0, lastOutcome: 'direct', local: '127.0.0.1', remote: '127.0.0.1' };
    expect(after.strategies).toEqual([expect.objectContaining(direct)]);
    expect(after.strategies![0]!.bestPunchMs).toBeGreaterThanOrEqual(0);
    expect(tunnel.p2p?.strategies).toEqual([expect.objectContaining(direct)]);
    // the relay carried nothing; the server heard both sides' results
    expect(server.snapshot().clients.flatMap((c) => c.tunnels).find((t) => t.name === "nas")?.bytesIn).toBe(0);
    await waitFor(() => server.p2p.results().length >= 2, 'both results at the server');
    expect(server.p2p.results().map((r) => r.path)).toEqual(['direct', 'direct']);
  }, 30_000);

  it('forged probes of the session from someone without the secret are dropped and counted in both sides\' status, and the path stays', async () => {
    const { owner, visitor, bind } = await setup('p2p');
    const before = await waitFor(() => {
      const s = visitorOf(visitor, 'to-nas').p2p;
      return s?.path === 'direct' && s;
    }, 'a direct path', 15_000);
    expect(before.rejectedProbes).toBe(0);
    const ownerPath = owner.status().tunnels[0]!.p2p!;
    expect(ownerPath.rejectedProbes).toBe(0);
    // a stranger who knows the session id (and both ends) but not the secret: probes with a MAC under another key
    const stranger: ProbeContext = { hmac: nodeStunCrypto.hmacSha256, key: randomBytes(32), sessionId: Buffer.from(before.attempts.at(-1)!.sessionId, 'hex'), offerNonce: randomBytes(16), answerNonce: randomBytes(16) };
    const attacker = createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => attacker.close(() => r())));
    const ends = [
      { to: before.pair!.local, direction: 'answerer-to-offerer' as const },
      { to: ownerPath.pair!.local, direction: 'offerer-to-answerer' as const },
    ];
    for (const { to, direction } of ends) {
      const [ip, port] = [to.slice(0, to.lastIndexOf(':')), Number(to.slice(to.lastIndexOf(':') + 1))];
      for (let seq = 0; seq < 20; seq++) {
        const probe = encodeProbe(stranger, { kind: seq % 2 ? 'response' : 'request', direction, nominate: seq % 2 === 0, seq });
        await new Promise<void>((r) => attacker.send(probe, port, ip, () => r()));
      }
    }
    await waitFor(() => visitorOf(visitor, 'to-nas').p2p!.rejectedProbes === 20 && owner.status().tunnels[0]!.p2p!.rejectedProbes === 20, 'both sides to count 20 rejected probes');
    const after = visitorOf(visitor, 'to-nas').p2p!;
    expect(after.path).toBe('direct');
    expect(after.pair).toEqual(before.pair);
    const payload = randomBytes(64 * 1024);
    expect(sha256(await roundTrip(await connectTcp(bind), payload))).toBe(sha256(payload));
    expect(visitorOf(visitor, 'to-nas').p2p!.direct.connections).toBe(1);
  }, 30_000);

  it('without a direct path the first connection takes the relay within the fallback timeout, and the status says why', async () => {
    // a secret tunnel answers no offer: the server refuses it, the relay still reaches the tunnel
    const { visitor, bind } = await setup('secret', { fallbackTimeout: 0.5 });
    await waitFor(() => visitorOf(visitor, 'to-nas').p2p?.attempts.some((a) => a.outcome === 'failed'), 'a refused attempt');
    const started = performance.now();
    const payload = randomBytes(256 * 1024);
    const back = await roundTrip(await connectTcp(bind), payload);
    expect(sha256(back)).toBe(sha256(payload));
    expect(performance.now() - started).toBeLessThan(3_000);
    const s = visitorOf(visitor, 'to-nas').p2p!;
    expect(s.path).toBe('relay');
    expect(s.relay.connections).toBe(1);
    expect(s.direct.connections).toBe(0);
    expect(s.attempts[0]!.reason).toBe('the server refused: no p2p tunnel named "nas" on this server');
  }, 30_000);

  it('with fallback none a connection without a direct path is refused, not relayed', async () => {
    const { owner, visitor, bind } = await setup('secret', { fallback: 'none', fallbackTimeout: 0.3 });
    await waitFor(() => visitorOf(visitor, 'to-nas').p2p?.attempts.some((a) => a.outcome === 'failed'), 'a refused attempt');
    // the refusal is immediate (the attempt failed already): it may come before 'connect' is even seen
    const socket = connect({ host: '127.0.0.1', port: bind });
    socket.write('hello?');
    expect(await closedWithoutData(socket)).toBe(true);
    expect(owner.status().tunnels[0]!.totalConnections).toBe(0);
  }, 30_000);
});
