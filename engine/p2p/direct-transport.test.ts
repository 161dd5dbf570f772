import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Duplex } from 'node:stream';
import UDX, { type UdxSocket } from 'udx-native';
import { afterEach, describe, expect, it } from 'vitest';
import type { PunchedPath } from './direct-path.js';
import { DirectTransport, MAX_DATAGRAM_BYTES } from './direct-transport.js';

const NAT = { mapping: 'endpoint-independent', filtering: 'endpoint-independent', portAllocation: 'preserved' } as const;
const udx = new UDX();
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c(); // transports before their sockets
});

/** Two UDX sockets on loopback reach each other without punching: a PunchedPath made by hand. */
function handMadePaths(): { offerer: PunchedPath & { lose(r: string): void }; answerer: PunchedPath & { lose(r: string): void } } {
  const sessionId = randomBytes(16);
  const sockets = [udx.createSocket(), udx.createSocket()] as const;
  for (const s of sockets) s.bind(0, '127.0.0.1');
  const make = (role: 'offerer' | 'answerer', mine: UdxSocket, theirs: UdxSocket) => {
    const lost: Array<(r: string) => void> = [];
    let closed = false;
    return {
      sessionId,
      role,
      socket: mine,
      local: { ip: '127.0.0.1', port: mine.address().port },
      remote: { ip: '127.0.0.1', port: theirs.address().port },
      rttMs: 1,
      strategy: { path: 'direct', mode: 'simultaneous', reason: 'test' } as const,
      localNat: NAT,
      remoteNat: NAT,
      onLost: (l: (r: string) => void) => void lost.push(l),
      lose: (r: string) => lost.splice(0).forEach((l) => l(r)),
      close: async () => {
        if (closed) return;
        closed = true;
        await mine.close();
      },
    };
  };
  const offerer = make('offerer', sockets[0], sockets[1]);
  const answerer = make('answerer', sockets[1], sockets[0]);
  cleanup.push(() => offerer.close(), () => answerer.close());
  return { offerer, answerer };
}

async function transports(secrets: [string, string] = ['tunnel secret', 'tunnel secret']) {
  const { offerer, answerer } = handMadePaths();
  const a = new DirectTransport(offerer, secrets[0], udx);
  const b = new DirectTransport(answerer, secrets[1], udx);
  cleanup.push(() => a.close('test over'), () => b.close('test over'));
  const started = await Promise.all([a.start(), b.start()]);
  return { a, b, started, offerer, answerer };
}

function nextStream(t: DirectTransport): Promise<Duplex> {
  return new Promise((resolve) => t.once('stream', resolve));
}

function collect(s: Duplex): Promise<{ hash: string; bytes: number; how: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve) => {
    s.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
    });
    s.once('end', () => resolve({ hash: h.digest('hex'), bytes, how: 'end' }));
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ hash: '', bytes, how: e.code ?? e.message }));
  });
}

describe('direct transport over a punched path (udx + Noise)', () => {
  it('carries 16 MiB intact both ways on one stream, with half-close, and counts the bytes', async () => {
    const { a, b, started } = await transports();
    expect(started).toEqual([true, true]);
    const incoming = nextStream(b);
    const s = await a.openStream();
    const far = await incoming;
    const up = randomBytes(16 * 1024 * 1024);
    const down = randomBytes(16 * 1024 * 1024);
    const atFar = collect(far);
    const atNear = collect(s);
    const t0 = performance.now();
    s.end(up);
    far.end(down);
    const [gotFar, gotNear] = await Promise.all([atFar, atNear]);
    const secs = (performance.now() - t0) / 1000;
    console.log(`direct transport: 2 x 16 MiB in ${(secs * 1000).toFixed(0)} ms (${((32 * 8) / secs).toFixed(0)} Mbit/s total)`);
    expect(gotFar).toEqual({ hash: createHash('sha256').update(up).digest('hex'), bytes: up.length, how: 'end' });
    expect(gotNear).toEqual({ hash: createHash('sha256').update(down).digest('hex'), bytes: down.length, how: 'end' });
    expect(a.counters.bytesOut).toBe(up.length);
    expect(b.counters.bytesIn).toBe(up.length);
  }, 60_000);

  it('runs several streams at once, each to its own far end', async () => {
    const { a, b } = await transports();
    const far: Duplex[] = [];
    b.on('stream', (s: Duplex) => far.push(s));
    const near = await Promise.all([a.openStream(), a.openStream(), a.openStream()]);
    near.forEach((s, i) => s.end(Buffer.from(`stream ${i} `.repeat(1000))));
    await new Promise<void>((r) => {
      const check = () => (far.length === 3 ? r() : setTimeout(check, 10));
      check();
    });
    const got = await Promise.all(far.map(collect));
    expect(got.map((g) => g.bytes).sort()).toEqual(near.map((_, i) => Buffer.byteLength(`stream ${i} `.repeat(1000))).sort());
  });

  it('a reset stream resets the far end (not a clean end), and a lost path resets every stream in flight', async () => {
    const { a, b, offerer } = await transports();
    const incoming = nextStream(b);
    const s = await a.openStream();
    s.write('x');
    const far = await incoming;
    const atFar = collect(far);
    await new Promise((r) => setTimeout(r, 50));
    s.destroy(new Error('user reset'));
    expect((await atFar).how).toBe('ECONNRESET');

    const incoming2 = nextStream(b);
    const s2 = await a.openStream();
    s2.write('y');
    const atNear2 = collect(s2);
    await incoming2;
    offerer.lose('no probe from the peer for 45 s');
    expect((await atNear2).how).toBe('ECONNRESET');
    expect(a.closed).toBe(true);
    await expect(a.openStream()).rejects.toThrow(/direct path lost/);
  });

  it('a stranger who knows the session id but not the secret cannot reach the streams with forged udx packets', async () => {
    const { a, b, offerer, answerer } = await transports();
    // what a stranger can compute from the session id alone: the ids controlIds() once took from it, and the first data ids
    const v = Buffer.from(offerer.sessionId).readUInt32BE(0);
    const guessed = [(0x8000_0000 | (v & 0x7fff_fffe)) >>> 0, ((0x8000_0000 | (v & 0x7fff_fffe)) + 1) >>> 0];
    for (let id = 1; id <= 16; id++) guessed.push(id);
    const attacker = createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => attacker.close(() => r())));
    const forged = (type: number, id: number, seq: number, payload: Buffer) => {
      const h = Buffer.alloc(20);
      h[0] = 0xff; // udx magic, version 1, type flags, data offset; then id, window, seq, ack (u32 LE)
      h[1] = 1;
      h[2] = type;
      h.writeUInt32LE(id, 4);
      h.writeUInt32LE(0x10_0000, 8);
      h.writeUInt32LE(seq, 12);
      return Buffer.concat([h, payload]);
    };
    const sends: Array<Promise<void>> = [];
    for (const port of [offerer.local.port, answerer.local.port])
      for (const id of guessed)
        for (let seq = 0; seq < 32; seq++)
          for (const type of [0b00001, 0b00011, 0b10000]) sends.push(new Promise((r) => attacker.send(forged(type, id, seq, randomBytes(type === 0b10000 ? 0 : 48)), port, '127.0.0.1', () => r())));
    await Promise.all(sends);
    const incoming = nextStream(b);
    const s = await a.openStream();
    const far = await incoming;
    const payload = randomBytes(1024 * 1024);
    const atFar = collect(far);
    s.end(payload);
    expect(await atFar).toEqual({ hash: createHash('sha256').update(payload).digest('hex'), bytes: payload.length, how: 'end' });
    expect(a.closed || b.closed).toBe(false);
  }, 15_000);

  it('a peer whose control stream stops answering closes the path at the first stream it does not accept, instead of keeping it for the next', async () => {
    const { a, b } = await transports();
    // the answerer's side goes deaf to OPEN (as when forged packets stalled its control stream)
    (b as unknown as { onControl: (m: Buffer) => void }).onControl = () => {};
    const closed = new Promise<string>((r) => a.once('close', r));
    const t0 = performance.now();
    await expect(a.openStream()).rejects.toThrow(/did not accept the direct stream in time/);
    expect(performance.now() - t0).toBeGreaterThan(4_000);
    expect(await closed).toMatch(/did not accept a direct stream within 5 s/);
    expect(a.closed).toBe(true);
    await expect(a.openStream()).rejects.toThrow(/did not accept/);
  }, 15_000);

  it('a peer whose keys come from another secret cannot complete the handshake', async () => {
    const { started } = await transports(['tunnel secret', 'not the secret']);
    expect(started).toEqual([false, false]);
  }, 15_000);

  it('carries datagrams both ways with their boundaries, counts them, and drops (and counts) one too large for a packet', async () => {
    const { a, b } = await transports();
    const atB: Buffer[] = [];
    const atA: Buffer[] = [];
    b.on('datagram', (d: Buffer) => {
      atB.push(Buffer.from(d));
      b.sendDatagram(Buffer.concat([Buffer.from('re:'), d.subarray(0, MAX_DATAGRAM_BYTES - 3)]));
    });
    a.on('datagram', (d: Buffer) => atA.push(Buffer.from(d)));
    const sent = [1, 2, 100, 999, 1200, MAX_DATAGRAM_BYTES].map((n) => randomBytes(n));
    for (const d of sent) {
      expect(a.sendDatagram(d)).toBe(true);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(a.sendDatagram(Buffer.alloc(MAX_DATAGRAM_BYTES + 1))).toBe(false);
    const deadline = Date.now() + 3_000;
    while (atA.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // loopback loses nothing; the order may differ in principle (unordered), so compare as sets
    const hex = (l: Buffer[]) => l.map((x) => x.toString('hex')).sort();
    expect(hex(atB)).toEqual(hex(sent));
    expect(hex(atA)).toEqual(hex(sent.map((d) => Buffer.concat([Buffer.from('re:'), d.subarray(0, MAX_DATAGRAM_BYTES - 3)]))));
    expect(a.counters).toMatchObject({ datagramsOut: sent.length, datagramsIn: sent.length, datagramsDropped: 1 });
    expect(b.counters).toMatchObject({ datagramsOut: sent.length, datagramsIn: sent.length, datagramsDropped: 0 });
    a.close('test over');
    expect(a.sendDatagram(Buffer.from('late'))).toBe(false);
  });

  it('datagrams are encrypted on the wire and cannot be replayed: a recorder between the peers never sees the plaintext, and what it sends again is not delivered', async () => {
    // A UDP forwarder between the two udx sockets, recording every packet either way.
    const { offerer, answerer } = handMadePaths();
    const proxy = createSocket('udp4');
    await new Promise<void>((r) => proxy.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => void proxy.close());
    const packets: Buffer[] = [];
    proxy.on('message', (m, from) => {
      packets.push(Buffer.from(m));
      const to = from.port === offerer.local.port ? answerer.local.port : offerer.local.port;
      proxy.send(m, to, '127.0.0.1');
    });
    const via = { ip: '127.0.0.1', port: proxy.address().port };
    const a = new DirectTransport({ ...offerer, remote: via }, 'tunnel secret', udx);
    const b = new DirectTransport({ ...answerer, remote: via }, 'tunnel secret', udx);
    cleanup.push(() => a.close('test over'), () => b.close('test over'));
    expect(await Promise.all([a.start(), b.start()])).toEqual([true, true]);
    const secret = Buffer.from('the plaintext of a user datagram, easy to spot on the wire');
    const got = new Promise<Buffer>((resolve, reject) => {
      b.once('datagram', resolve);
      setTimeout(() => reject(new Error('the datagram did not arrive')), 3_000).unref();
    });
    packets.length = 0;
    a.sendDatagram(secret);
    expect((await got).equals(secret)).toBe(true);
    expect(packets.length).toBeGreaterThan(0);
    expect(packets.some((p) => p.length >= secret.length + 24)).toBe(true); // a nonce and a MAC around it
    expect(packets.some((p) => p.includes(secret.subarray(0, 16)))).toBe(false);

    // the recorder sends everything it saw from the offerer again: the datagram is not delivered twice
    const delivered: string[] = [];
    b.on('datagram', (d: Buffer) => delivered.push(d.toString()));
    // (sent before "after" even reaches the recorder, so they arrive first on loopback)
    for (const p of packets.splice(0)) proxy.send(p, answerer.local.port, '127.0.0.1');
    const after = new Promise<void>((resolve) => b.on('datagram', (d: Buffer) => d.toString() === 'after' && resolve()));
    a.sendDatagram(Buffer.from('after'));
    await after;
    expect(delivered).toEqual(['after']);
    expect(b.counters.datagramsRejected).toBeGreaterThanOrEqual(1);
  });
});
