import { once } from 'node:events';
import net from 'node:net';
import { PassThrough, Transform } from 'node:stream';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { MuxSession, type MuxStream } from './mux/session.js';
import { resetStream, splice, SPLICED_SOCKET_HIGH_WATER_MARK } from './splice.js';
import { ensureSelfSignedIdentity } from './tls-identity.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackPair } from './loopback-pair.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A connected loopback TCP pair, both ends half-open capable. */
const tcpPair = () => loopbackPair((f) => cleanups.push(f), { allowHalfOpen: true });

/** A TLS pair over loopback: the server's end as a tls.Server hands it out, the client's over a TCP socket of its own (as io/dial.ts does). */
async function tlsPair(): Promise<[tls.TLSSocket, tls.TLSSocket]> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-splice-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const id = await ensureSelfSignedIdentity(dir);
  const server = tls.createServer({ cert: id.cert, key: id.key, allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const tcp = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const client = tls.connect({ socket: tcp, rejectUnauthorized: false });
  await once(client, 'secureConnect');
  const [other] = await accepted;
  server.close();
  cleanups.push(() => {
    client.destroy();
    other.destroy();
  });
  return [client, other];
}

/** Mux streams a <-> b over one loopback TCP connection. */
async function muxPair(): Promise<{ a: MuxStream; b: MuxStream; sessions: [MuxSession, MuxSession] }> {
  const [x, y] = await tcpPair();
  const client = new MuxSession(x, { client: true, keepAliveMs: 0 });
  const server = new MuxSession(y, { client: false, keepAliveMs: 0 });
  cleanups.push(() => {
    client.destroy();
    server.destroy();
  });
  const accepted = once(server, 'stream') as Promise<[MuxStream]>;
  const a = client.openStream();
  const [b] = await accepted;
  return { a, b, sessions: [client, server] };
}

interface Ending {
  data: Buffer;
  /** 'end' for a FIN, else the error's code. */
  how: string;
}

/** Everything `s` reads until it ends (FIN) or fails. */
function ending(s: net.Socket | MuxStream): Promise<Ending> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.once('end', () => resolve({ data: Buffer.concat(parts), how: 'end' }));
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(parts), how: String(e.code) }));
  });
}

describe('splice', () => {
  it('a clean close arrives as a clean close: all data, FIN each way, outcome "closed"', async () => {
    const [user, a] = await tcpPair();
    const [b, service] = await tcpPair();
    const done = splice(a, b);
    const atService = ending(service);
    user.end('request');
    expect(await atService).toEqual({ data: Buffer.from('request'), how: 'end' });
    // Half-close: the service answers after the user's FIN.
    const atUser = ending(user);
    service.end('answer');
    expect(await atUser).toEqual({ data: Buffer.from('answer'), how: 'end' });
    expect(await done).toBe('closed');
  });

  it('a reset from one end reaches the other end as ECONNRESET, in both directions', async () => {
    for (const resetUser of [true, false]) {
      const [user, a] = await tcpPair();
      const [b, service] = await tcpPair();
      const done = splice(a, b);
      const survivor = resetUser ? service : user;
      const atSurvivor = ending(survivor);
      const resetter = resetUser ? user : service;
      resetter.write('partial');
      await new Promise((r) => setTimeout(r, 50));
      resetter.resetAndDestroy();
      const got = await atSurvivor;
      expect(got.how).toBe('ECONNRESET');
      expect(await done).toBe('aborted');
    }
  });

  it('a side destroyed without a FIN (a lost stream) resets the other side', async () => {
    const [user, a] = await tcpPair();
    const b = new PassThrough();
    const done = splice(a, b);
    const atUser = ending(user);
    b.destroy(); // closes without ever ending
    expect((await atUser).how).toBe('ECONNRESET');
    expect(await done).toBe('aborted');
  });

  it('a mux stream reset by its peer resets the TCP side; a TCP reset sends RST on the stream', async () => {
    {
      const [user, a] = await tcpPair();
      const { a: stream, b: farStream } = await muxPair();
      const done = splice(a, stream);
      const atUser = ending(user);
      farStream.destroy(); // yamux RST
      expect((await atUser).how).toBe('ECONNRESET');
      expect(await done).toBe('aborted');
    }
    {
      const [user, a] = await tcpPair();
      const { a: stream, b: farStream } = await muxPair();
      const done = splice(a, stream);
      const atFar = ending(farStream);
      user.write('x');
      await new Promise((r) => setTimeout(r, 50));
      user.resetAndDestroy();
      expect((await atFar).how).toBe('stream-reset');
      expect(await done).toBe('aborted');
    }
  });

  it('the mux session dying resets the TCP side of every stream spliced on it', async () => {
    const [user, a] = await tcpPair();
    const { a: stream, sessions } = await muxPair();
    const done = splice(a, stream);
    const atUser = ending(user);
    sessions[0].close(); // even a local, orderly close: the stream never ended
    expect((await atUser).how).toBe('ECONNRESET');
    expect(await done).toBe('aborted');
  });

  it('a TLS connection is reset on the TCP level, so its TLS peer sees ECONNRESET, not a clean end', async () => {
    for (const side of [0, 1]) {
      const [user, a] = await tcpPair();
      const pair = await tlsPair();
      const near = pair[side]!;
      const far = pair[1 - side]!;
      const done = splice(a, near);
      const atFar = ending(far);
      user.write('x');
      await new Promise((r) => setTimeout(r, 50));
      user.resetAndDestroy();
      expect((await atFar).how).toBe('ECONNRESET');
      expect(await done).toBe('aborted');
    }
  });

  it('an erroring transform resets both sides', async () => {
    const [user, a] = await tcpPair();
    const [b, service] = await tcpPair();
    const failing = new Transform({ transform: (_c, _e, cb) => cb(new Error('throttle broke')) });
    const done = splice(a, b, { aToB: failing });
    const atUser = ending(user);
    const atService = ending(service);
    user.write('x');
    expect((await atUser).how).toBe('ECONNRESET');
    expect((await atService).how).toBe('ECONNRESET');
    expect(await done).toBe('aborted');
  });
});

/** The chunks per socket write(2) (`_write`: 1, `_writev`: its count), in order. */
function recordWrites(b: net.Socket): number[] {
  const writes: number[] = [];
  const socket = b as net.Socket & { _write: (...x: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (...x: unknown[]) => {
    writes.push(1);
    write(...x);
  };
  socket._writev = (chunks: unknown[], cb: unknown) => {
    writes.push(chunks.length);
    writev(chunks, cb);
  };
  return writes;
}

describe('splice write coalescing', () => {
  it('chunks that arrive in one turn of the event loop leave in one writev, intact and in order', async () => {
    const [b, service] = await tcpPair();
    const a = new PassThrough();
    void splice(a, b);
    const writes = recordWrites(b);
    const got = ending(service);
    // Four records handed over in one go, as a TLS read or a mux connection's read does.
    const chunks = [0, 1, 2, 3].map((i) => Buffer.alloc(2_000, i));
    for (const c of chunks) a.write(c);
    a.end();
    expect(await got).toEqual({ data: Buffer.concat(chunks), how: 'end' });
    expect(writes).toEqual([4]);
  });

  it("a turn's worth of 16 KiB records (one TLS read, 256 KiB) leaves in one writev to a socket at the relay's high-water mark", async () => {
    // At node's default 16 KiB the second write of the turn returned false, pipe() paused the
    // source, and the rest went out one write(2) per record in the turns after.
    const service = net.createServer({ allowHalfOpen: true });
    service.listen(0, '127.0.0.1');
    await once(service, 'listening');
    cleanups.push(() => service.close());
    const accepted = once(service, 'connection') as Promise<[net.Socket]>;
    const b = net.connect({ port: (service.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true, writableHighWaterMark: SPLICED_SOCKET_HIGH_WATER_MARK } as net.NetConnectOpts);
    await once(b, 'connect');
    const [far] = await accepted;
    cleanups.push(() => (b.destroy(), far.destroy()));
    const a = new PassThrough({ highWaterMark: SPLICED_SOCKET_HIGH_WATER_MARK });
    void splice(a, b);
    const writes = recordWrites(b);
    const got = ending(far);
    const records = Array.from({ length: 16 }, (_, i) => Buffer.alloc(16 * 1024, i));
    for (const r of records) a.write(r);
    a.end();
    expect(await got).toEqual({ data: Buffer.concat(records), how: 'end' });
    expect(writes).toEqual([16]);
  });

  it('a socket feeding a mux stream 64 KiB reads is not paused and resumed once per read', async () => {
    // At node's default 16 KiB every 64 KiB write into the stream returned false: pipe() paused
    // the socket (readStop) and resumed it (readStart) per read. Now only a full window or the
    // send budget stops it.
    const { a, b } = await muxPair();
    const [user, relay] = await tcpPair();
    void splice(relay, a);
    let pauses = 0;
    relay.on('pause', () => pauses++);
    const total = 8 * 1024 * 1024;
    let received = 0;
    b.on('data', (c: Buffer) => (received += c.length));
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let sent = 0; sent < total; sent += chunk.length) if (!user.write(chunk)) await once(user, 'drain');
    while (received < total) await new Promise((r) => setTimeout(r, 5));
    expect(received).toBe(total);
    // 128 reads of 64 KiB: one pause each before.
    expect(pauses).toBeLessThan(32);
  });
});

describe('splice backpressure', () => {
  it('a source that comes paused flows once spliced; a writer that is full holds it until it drains', async () => {
    // A socket handed over by a framed reader arrives paused: spliced, its data must still move.
    const [user, userRelay] = await tcpPair();
    const [service, serviceRelay] = await tcpPair();
    userRelay.pause();
    user.write('before the splice');
    await new Promise((r) => setTimeout(r, 20));
    void splice(userRelay, serviceRelay);
    const got = ending(service);
    user.end();
    expect((await got).data.toString()).toBe('before the splice');

    // A writer past its high-water mark: nothing is read from the source until it drains.
    const source = new PassThrough();
    const writes: string[] = [];
    let release: (() => void) | undefined;
    const sink = new PassThrough({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk.toString());
        release = cb; // completes only when the test says so
      },
    });
    sink.write('full'); // 4 bytes: needs a drain
    expect(sink.writableNeedDrain).toBe(true);
    void splice(source, sink);
    source.write('x'.repeat(64));
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toEqual(['full']); // held: the source was not read
    expect(source.readableLength).toBe(64);
    release!();
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toEqual(['full', 'x'.repeat(64)]);
    release!();
  });

  it('a source resumed by someone else while the writer is still full is paused again at its next refused write', async () => {
    // The read gate resumes the sockets it held; one whose writer is full must not then flow on.
    const source = new PassThrough();
    const sink = new PassThrough({ highWaterMark: 4, write: (_c: Buffer, _e, _cb) => {} }); // never completes
    void splice(source, sink);
    source.write('a'.repeat(8));
    await new Promise((r) => setImmediate(r));
    expect(source.isPaused()).toBe(true);
    source.resume(); // as ReadGate.admit does
    source.write('b'.repeat(8));
    await new Promise((r) => setImmediate(r));
    expect(source.isPaused()).toBe(true);
    expect(sink.writableLength).toBe(16); // what it was given, and no more was read after
    source.write('c'.repeat(8));
    await new Promise((r) => setImmediate(r));
    expect(source.readableLength).toBe(8);
  });
});

describe('resetStream', () => {
  it('leaves an already destroyed stream alone and destroys other streams with an ECONNRESET error', async () => {
    const p = new PassThrough();
    const err = once(p, 'error') as Promise<[NodeJS.ErrnoException]>;
    resetStream(p);
    expect((await err)[0].code).toBe('ECONNRESET');
    resetStream(p); // no throw, no second error
    expect(p.destroyed).toBe(true);
  });
});

