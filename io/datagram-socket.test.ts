import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { dgramSockets, type DatagramSocket, type DatagramSocketFactory } from './datagram-socket.js';
import { defaultDatagramSockets } from './default-datagram-sockets.js';
import { loadBatchDatagramSockets, loadUdpBatchAddon } from './udp-batch.js';

// `npm run build` builds the addon (build/native.mjs); CI must not run these without it.
const batch = loadBatchDatagramSockets();
if (!batch && process.env.CI === 'true') throw new Error('native/udp-batch is not built (npm run build:native), and CI must not skip its tests');

const factories: Array<[string, DatagramSocketFactory | undefined]> = [
  ['node:dgram', dgramSockets],
  ['native/udp-batch', batch],
];

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
});

async function peer(type: 'udp4' | 'udp6' = 'udp4', address = '127.0.0.1'): Promise<dgram.Socket> {
  const p = dgram.createSocket(type);
  await new Promise<void>((resolve) => p.bind(0, address, resolve));
  open.push(p);
  return p;
}

function nextMessage(s: DatagramSocket): Promise<{ data: Buffer; address: string; port: number }> {
  return new Promise((resolve) => s.onMessage((data, address, port) => resolve({ data: Buffer.from(data), address, port })));
}

function peerMessage(p: dgram.Socket): Promise<Buffer> {
  return new Promise((resolve) => p.once('message', (d) => resolve(d)));
}

describe.each(factories)('DatagramSocket over %s', (_name, factory) => {
  const bind = async (options: Parameters<DatagramSocketFactory['bind']>[0]): Promise<DatagramSocket> => {
    const s = await factory!.bind(options);
    open.push(s);
    return s;
  };

  it.skipIf(!factory)('receives a datagram with its source and sends one back (IPv4)', async () => {
    const s = await bind({ type: 'udp4', address: '127.0.0.1', port: 0 });
    expect(s.address).toBe('127.0.0.1');
    expect(s.port).toBeGreaterThan(0);
    const p = await peer();
    const got = nextMessage(s);
    p.send('hello', s.port, '127.0.0.1');
    expect(await got).toEqual({ data: Buffer.from('hello'), address: '127.0.0.1', port: p.address().port });
    const back = peerMessage(p);
    s.send(Buffer.from('world'), p.address().port, '127.0.0.1');
    expect((await back).toString()).toBe('world');
  });

  it.skipIf(!factory)('carries IPv6, and IPv4 on a dual-stack socket as ::ffff: addresses', async () => {
    const s6 = await bind({ type: 'udp6', address: '::1', port: 0 });
    const p6 = await peer('udp6', '::1');
    const got6 = nextMessage(s6);
    p6.send('six', s6.port, '::1');
    expect(await got6).toMatchObject({ address: '::1', port: p6.address().port });
    const back6 = peerMessage(p6);
    s6.send(Buffer.from('back'), p6.address().port, '::1');
    expect((await back6).toString()).toBe('back');

    const dual = await bind({ type: 'udp6', address: '::', port: 0 });
    expect(dual.address).toBe('::');
    const p4 = await peer();
    const got4 = nextMessage(dual);
    p4.send('four', dual.port, '127.0.0.1');
    const m = await got4;
    expect(m).toMatchObject({ address: '::ffff:127.0.0.1', port: p4.address().port });
    const back4 = peerMessage(p4);
    dual.send(Buffer.from('mapped'), m.port, m.address);
    expect((await back4).toString()).toBe('mapped');
  });

  it.skipIf(!factory)('delivers every size up to the UDP maximum intact, and 2000 back-to-back datagrams in order', async () => {
    const s = await bind({ type: 'udp4', address: '127.0.0.1', port: 0, recvBufferSize: 4 * 1024 * 1024 });
    const p = await peer();
    p.setSendBufferSize(4 * 1024 * 1024);
    const sizes = [1, 1500, 2049, 9000, 65_507];
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      s.onMessage((data) => {
        received.push(Buffer.from(data));
        if (received.length === sizes.length + 2000) resolve();
      }),
    );
    const payloads = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    for (const b of payloads) p.send(b, s.port, '127.0.0.1');
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(i, 0);
      p.send(b, s.port, '127.0.0.1');
    }
    await all;
    expect(received.slice(0, sizes.length)).toEqual(payloads);
    expect(received.slice(sizes.length).map((b) => b.readUInt32BE(0))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it.skipIf(!factory)('refuses a port in use with EADDRINUSE, and frees its port on close', async () => {
    const s = await bind({ type: 'udp4', address: '127.0.0.1', port: 0 });
    await expect(factory!.bind({ type: 'udp4', address: '127.0.0.1', port: s.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    let after = 0;
    s.onMessage(() => after++);
    s.close();
    s.close();
    s.send(Buffer.from('after close'), 9, '127.0.0.1'); // a no-op, never a throw
    const again = await bind({ type: 'udp4', address: '127.0.0.1', port: s.port });
    const p = await peer();
    const got = nextMessage(again);
    p.send('x', again.port, '127.0.0.1');
    await got;
    expect(after).toBe(0);
  });

  it.skipIf(!factory)('loses a datagram to a bad address without throwing, and keeps working', async () => {
    const s = await bind({ type: 'udp4', address: '127.0.0.1', port: 0 });
    const p = await peer();
    expect(() => s.send(Buffer.from('x'), p.address().port, '::1')).not.toThrow();
    expect(() => s.send(Buffer.from('x'), p.address().port, 'not an address')).not.toThrow();
    expect(() => s.send(Buffer.from('x'), 0, '127.0.0.1')).not.toThrow();
    const back = peerMessage(p);
    s.send(Buffer.from('still here'), p.address().port, '127.0.0.1');
    expect((await back).toString()).toBe('still here');
  });
});

describe.skipIf(!batch)('native/udp-batch', () => {
  it('reads a queued burst in batches of many datagrams per call', async () => {
    const addon = loadUdpBatchAddon()!;
    const [handle, port] = addon.open(4, '127.0.0.1', 0, 4 * 1024 * 1024, false, false);
    open.push({ close: () => addon.close(handle) });
    const counts: number[] = [];
    let total = 0;
    const done = new Promise<void>((resolve) =>
      addon.start(handle, new Uint32Array(addon.BATCH * 4), (_data, count) => {
        counts.push(count);
        total += count;
        if (total === 500) resolve();
      }),
    );
    const p = await peer();
    // All 500 are queued in the kernel before the event loop gets to the socket.
    for (let i = 0; i < 500; i++) p.send(Buffer.alloc(100), port, '127.0.0.1');
    const until = Date.now() + 100;
    while (Date.now() < until) {
      // keep the loop busy while the datagrams arrive
    }
    await done;
    expect(Math.max(...counts)).toBe(addon.BATCH);
    expect(counts.length).toBeLessThan(500 / 8);
  });

  it('rejects bad arguments with a TypeError, and a send after close with an error code', () => {
    const addon = loadUdpBatchAddon()!;
    expect(() => addon.open(5 as 4, '127.0.0.1', 0, 0, false, false)).toThrow(TypeError);
    expect(() => addon.open(4, '127.0.0.1', 70_000, 0, false, false)).toThrow(TypeError);
    expect(() => addon.open(4, 'example.org', 0, 0, false, false)).toThrow(/EINVAL/);
    const [handle] = addon.open(4, '127.0.0.1', 0, 0, false, false);
    expect(() => addon.start(handle, new Uint32Array(4), () => {})).toThrow(TypeError);
    expect(() => addon.send({}, Buffer.from('x'), 9, '127.0.0.1')).toThrow(TypeError);
    expect(() => addon.send(handle, 'x' as unknown as Uint8Array, 9, '127.0.0.1')).toThrow(TypeError);
    addon.close(handle);
    addon.close(handle);
    expect(addon.send(handle, Buffer.from('x'), 9, '127.0.0.1')).toBeLessThan(0);
    expect(() => addon.start(handle, new Uint32Array(addon.BATCH * 4), () => {})).toThrow(/EINVAL/);
  });

  it('is what the server uses by default, unless BURROW_UDP_IO=dgram', () => {
    expect(defaultDatagramSockets({}).kind).toBe('batch');
    expect(defaultDatagramSockets({ BURROW_UDP_IO: 'dgram' }).kind).toBe('dgram');
  });
});

describe('loadBatchDatagramSockets', () => {
  it('is undefined for a missing or bogus addon, never an error', () => {
    expect(loadBatchDatagramSockets('/nonexistent/udp_batch.node')).toBeUndefined();
    expect(loadBatchDatagramSockets(new URL(import.meta.url).pathname)).toBeUndefined();
  });
});
