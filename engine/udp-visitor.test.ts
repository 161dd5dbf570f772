import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { duplexPair, type Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../io/logger.js';
import { ManualClock } from '../shared/clock.js';
import { encodeRelayDatagram, RelayDatagramReader } from '../shared/p2p/datagram-frame.js';
import { TrafficStats } from '../shared/traffic-stats.js';
import { UdpVisitorPort } from './udp-visitor.js';

// The visitor's UDP port on its relay path, with the relay faked: each openRelay() hands the
// test the far end of an in-memory duplex pair, resolved when the test says so.

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

interface FarEnd {
  readonly stream: Duplex;
  readonly datagrams: string[];
}

function setup(bind = '127.0.0.1:0') {
  const opened: Array<{ accept: () => FarEnd; refuse: (reason: string) => void }> = [];
  const results: Array<string | undefined> = [];
  const stats = new TrafficStats();
  const relay = { bytesIn: 0, bytesOut: 0, connections: 0 };
  const port = new UdpVisitorPort({
    name: 'v',
    bind,
    idleMs: 60_000,
    clock: new ManualClock(),
    logger: silentLogger(),
    fallback: 'relay',
    fallbackTimeoutMs: 1_000,
    stats,
    relay,
    onRelayResult: (e) => results.push(e),
    openRelay: () =>
      new Promise<Duplex>((resolve, reject) => {
        opened.push({
          accept: () => {
            const [near, far] = duplexPair();
            const reader = new RelayDatagramReader();
            const end: FarEnd = { stream: far, datagrams: [] };
            far.on('data', (c: Buffer) => end.datagrams.push(...reader.push(c).map((d) => Buffer.from(d).toString())));
            resolve(near);
            return end;
          },
          refuse: (reason) => reject(new Error(reason)),
        });
      }),
  });
  cleanup.push(() => port.close());
  return { port, opened, stats, relay, results };
}

async function user(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => s.close());
  return s;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('UdpVisitorPort on the relay', () => {
  it('one relay stream per user address; datagrams length-prefixed on it, replies back to that user only', async () => {
    const { port, opened, relay, stats } = setup();
    await port.start();
    const [alice, bob] = [await user(), await user()];
    alice.send('a1', port.port!, '127.0.0.1');
    await until(() => opened.length === 1, "alice's relay requested");
    bob.send('b1', port.port!, '127.0.0.1');
    await until(() => opened.length === 2, "bob's relay requested");
    const [toAlice, toBob] = opened.map((o) => o.accept());
    alice.send('a2', port.port!, '127.0.0.1');
    await until(() => toAlice!.datagrams.length === 2 && toBob!.datagrams.length === 1, 'datagrams on both relays');
    expect(toAlice!.datagrams).toEqual(['a1', 'a2']);
    expect(toBob!.datagrams).toEqual(['b1']);

    const got = { alice: [] as string[], bob: [] as string[] };
    alice.on('message', (m) => got.alice.push(m.toString()));
    bob.on('message', (m) => got.bob.push(m.toString()));
    // a reply cut across two chunks still arrives as one datagram
    const reply = encodeRelayDatagram(Buffer.from('for alice'));
    toAlice!.stream.write(reply.subarray(0, 3));
    toAlice!.stream.write(reply.subarray(3));
    toBob!.stream.write(encodeRelayDatagram(Buffer.from('for bob')));
    await until(() => got.alice.length === 1 && got.bob.length === 1, 'both replies');
    expect(got).toEqual({ alice: ['for alice'], bob: ['for bob'] });
    expect(relay).toEqual({ connections: 2, bytesOut: 6, bytesIn: 16 });
    expect(stats).toMatchObject({ activeConnections: 2, totalConnections: 2, bytesOut: 6, bytesIn: 16 });
  });

  it('holds at most 64 datagrams while the relay opens and drops (and counts) the rest', async () => {
    const { port, opened } = setup();
    await port.start();
    const u = await user();
    for (let i = 0; i < 100; i++) u.send(`d${i}`, port.port!, '127.0.0.1');
    await until(() => opened.length === 1 && port.dropped === 36, '36 drops');
    const far = opened[0]!.accept();
    await until(() => far.datagrams.length === 64, '64 datagrams on the relay');
    expect(far.datagrams).toEqual(Array.from({ length: 64 }, (_, i) => `d${i}`));
  });

  it('a refused relay drops the session, says why, and the next datagram tries again', async () => {
    const { port, opened, results, stats } = setup();
    await port.start();
    const u = await user();
    u.send('first', port.port!, '127.0.0.1');
    await until(() => opened.length === 1, 'a relay requested');
    opened[0]!.refuse('wrong secret for tunnel "game"');
    await until(() => results.length === 1, 'the refusal reported');
    expect(results).toEqual(['wrong secret for tunnel "game"']);
    expect(port.dropped).toBe(1);
    expect(port.size).toBe(0);
    expect(stats.totalConnections).toBe(0);
    u.send('second', port.port!, '127.0.0.1');
    await until(() => opened.length === 2, 'a second relay requested');
    const far = opened[1]!.accept();
    await until(() => far.datagrams.length === 1, 'the datagram on the relay');
    expect(far.datagrams).toEqual(['second']);
    expect(results.at(-1)).toBeUndefined();
  });

  it('a relay stream that ends or stops speaking the framing ends its session; the next datagram opens a new one', async () => {
    const { port, opened } = setup();
    await port.start();
    const u = await user();
    u.send('x', port.port!, '127.0.0.1');
    await until(() => opened.length === 1, 'a relay requested');
    const far = opened[0]!.accept();
    await until(() => far.datagrams.length === 1, 'x on the relay');
    far.stream.write(Buffer.from([0xff, 0xff])); // length 65535: not a datagram
    await until(() => port.size === 0, 'the session ended');
    u.send('y', port.port!, '127.0.0.1');
    await until(() => opened.length === 2, 'a new relay requested');
  });

  it('says clearly when it cannot bind', async () => {
    const taken = await user();
    const { port } = setup(`127.0.0.1:${taken.address().port}`);
    await expect(port.start()).rejects.toThrow(/EADDRINUSE/);
  });
});
