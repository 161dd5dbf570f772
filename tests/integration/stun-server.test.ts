/**
 * The STUN/TURN listener on loopback with real UDP, TCP and TLS sockets, queried with the codec.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { ensureSelfSignedIdentity } from '../../io/tls-identity.js';
import type { ClientTransport, TurnHandler } from '../../server/stun/client-transport.js';
import { StunTurnListener, type StunListenerDeps } from '../../server/stun/stun-listener.js';
import { StunConfigSchema } from '../../shared/config/server-config.js';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import {
  decodeStun,
  encodeChannelData,
  encodeStun,
  getAttribute,
  responseTo,
  type DecodedStunMessage,
  type StunAttribute,
} from '../../shared/stun/message.js';
import { StunStreamDecoder } from '../../shared/stun/stream.js';
import { bindIfAddressExists, tempDir, waitFor } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startListener(config: Record<string, unknown>, deps: Partial<StunListenerDeps> = {}): Promise<StunTurnListener> {
  const listener = new StunTurnListener(StunConfigSchema.parse(config), { logger: silentLogger(), software: 'burrow-test', ...deps });
  await listener.start();
  cleanup.push(() => listener.stop());
  return listener;
}

function request(attributes: StunAttribute[] = [], method: number = StunMethod.Binding, cls: StunClass = StunClass.Request): Uint8Array {
  return encodeStun({ method, cls, transactionId: randomBytes(12), attributes }, { fingerprint: true });
}

function sameTransaction(a: Uint8Array, b: DecodedStunMessage): boolean {
  return Buffer.from(a.subarray(8, 20)).equals(Buffer.from(b.transactionId));
}

async function udpClient(host = '127.0.0.1'): Promise<UdpSocket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  cleanup.push(() => socket.close());
  return socket;
}

/** Sends `req` (retransmitting, as a STUN client does) and resolves with the matching response, on `receiver` (default: the sender). */
function udpQuery(
  socket: UdpSocket,
  req: Uint8Array,
  port: number,
  host = '127.0.0.1',
  receiver: UdpSocket = socket,
  timeoutMs = 3000,
): Promise<{ message: DecodedStunMessage; rinfo: RemoteInfo }> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer, rinfo: RemoteInfo) => {
      let message: DecodedStunMessage;
      try {
        message = decodeStun(data);
      } catch {
        return;
      }
      if (!sameTransaction(req, message)) return;
      done();
      resolve({ message, rinfo });
    };
    const send = () => socket.send(req, port, host);
    const retransmit = setInterval(send, 250);
    const timer = setTimeout(() => {
      done();
      reject(new Error('no STUN response'));
    }, timeoutMs);
    const done = () => {
      clearInterval(retransmit);
      clearTimeout(timer);
      receiver.off('message', onMessage);
    };
    receiver.on('message', onMessage);
    send();
  });
}

/** Resolves with nothing arriving for `ms` on `socket` matching `req`'s transaction, or rejects if something does. */
function expectNoUdpResponse(socket: UdpSocket, req: Uint8Array, port: number, ms = 400): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      try {
        if (sameTransaction(req, decodeStun(data))) {
          socket.off('message', onMessage);
          reject(new Error('unexpected response'));
        }
      } catch {
        // not STUN
      }
    };
    socket.on('message', onMessage);
    socket.send(req, port, '127.0.0.1');
    setTimeout(() => {
      socket.off('message', onMessage);
      resolve();
    }, ms);
  });
}

/** A stream client: collects decoded items, knows when it is closed. */
/** With fake timers: lets real socket I/O run (setImmediate turns) until `check` holds. */
async function io(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000 && !check(); i++) await new Promise<void>((r) => setImmediate(r));
  if (!check()) throw new Error(`never happened: ${what}`);
}

class StreamClient {
  readonly messages: DecodedStunMessage[] = [];
  readonly channels: Array<{ channel: number; data: Uint8Array }> = [];
  closed = false;
  private readonly decoder = new StunStreamDecoder();

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) {
        if (item.kind === 'stun') this.messages.push(decodeStun(item.bytes));
        else this.channels.push({ channel: item.channel, data: item.data });
      }
    });
    socket.on('error', () => {});
    socket.once('close', () => (this.closed = true));
    cleanup.push(() => socket.destroy());
  }

  static async tcp(port: number, host = '127.0.0.1', localAddress?: string): Promise<StreamClient> {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new StreamClient(socket);
  }

  async query(req: Uint8Array): Promise<DecodedStunMessage> {
    this.socket.write(req);
    return this.response(req);
  }

  response(req: Uint8Array): Promise<DecodedStunMessage> {
    return waitFor(() => this.messages.find((m) => sameTransaction(req, m)), 'a STUN response on the stream', 5000);
  }
}

describe('STUN over UDP', () => {
  it('answers Binding with the client address, RFC 5780 attributes, and FINGERPRINT', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const { udp, tcp } = listener.addresses();
    expect(udp).toHaveLength(2);
    expect(tcp).toHaveLength(2);
    const [p1, p2] = [udp[0]!.port, udp[1]!.port];
    expect(p1).not.toBe(0);
    expect(p2).not.toBe(p1);
    expect(tcp.map((a) => a.port)).toEqual([p1, p2]);

    const client = await udpClient();
    const { message, rinfo } = await udpQuery(client, request(), p1);
    expect(rinfo.port).toBe(p1);
    expect(message.cls).toBe(StunClass.SuccessResponse);
    expect(getAttribute(message, 'XOR-MAPPED-ADDRESS')?.address).toEqual({ family: 'IPv4', address: '127.0.0.1', port: client.address().port });
    expect(getAttribute(message, 'MAPPED-ADDRESS')?.address).toEqual({ family: 'IPv4', address: '127.0.0.1', port: client.address().port });
    expect(getAttribute(message, 'RESPONSE-ORIGIN')?.address).toEqual({ family: 'IPv4', address: '127.0.0.1', port: p1 });
    expect(getAttribute(message, 'OTHER-ADDRESS')?.address).toEqual({ family: 'IPv4', address: '127.0.0.1', port: p2 });
    expect(getAttribute(message, 'SOFTWARE')?.value).toBe('burrow-test');
    expect(message.fingerprintOffset).toBeDefined();

    // The alternate port answers too, and names the primary as its other address.
    const alt = await udpQuery(client, request(), p2);
    expect(alt.rinfo.port).toBe(p2);
    expect(getAttribute(alt.message, 'OTHER-ADDRESS')?.address.port).toBe(p1);
    expect(listener.stats().udp.responses).toBeGreaterThanOrEqual(2);
  });

  it('CHANGE-REQUEST change-port is answered from the alternate port; change-IP on a single-IP server is 420', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const [a1, a2] = listener.addresses().udp;
    const client = await udpClient();

    const changed = await udpQuery(client, request([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: true }]), a1!.port);
    expect(changed.rinfo.port).toBe(a2!.port);
    expect(getAttribute(changed.message, 'RESPONSE-ORIGIN')?.address.port).toBe(a2!.port);
    expect(getAttribute(changed.message, 'XOR-MAPPED-ADDRESS')?.address.port).toBe(client.address().port);

    const ip = await udpQuery(client, request([{ type: 'CHANGE-REQUEST', changeIp: true, changePort: false }]), a1!.port);
    expect(ip.rinfo.port).toBe(a1!.port);
    expect(ip.message.cls).toBe(StunClass.ErrorResponse);
    expect(getAttribute(ip.message, 'ERROR-CODE')?.code).toBe(420);
    expect(getAttribute(ip.message, 'UNKNOWN-ATTRIBUTES')?.types).toEqual([0x0003]);
  });

  it('without `alternate`: one UDP and one TCP socket, no OTHER-ADDRESS, CHANGE-REQUEST is 420', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const { udp, tcp } = listener.addresses();
    expect(udp).toHaveLength(1);
    expect(tcp).toEqual(udp);
    const client = await udpClient();
    const plain = await udpQuery(client, request(), udp[0]!.port);
    expect(getAttribute(plain.message, 'OTHER-ADDRESS')).toBeUndefined();
    const change = await udpQuery(client, request([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: true }]), udp[0]!.port);
    expect(getAttribute(change.message, 'ERROR-CODE')?.code).toBe(420);
  });

  it('two IPs (127.0.0.1 and 127.0.0.2): four UDP sockets, CHANGE-REQUEST changes IP, port or both', async (ctx) => {
    const listener = await bindIfAddressExists(() => startListener({ listen: '127.0.0.1:0', alternate: { ip: '127.0.0.2' } }));
    if (!listener) return ctx.skip('127.0.0.2 is not an address of this machine (EADDRNOTAVAIL; Linux has all of 127/8)');
    const { udp, tcp } = listener.addresses();
    expect(udp.map((a) => `${a.address}:${a.port}`)).toEqual([
      `127.0.0.1:${udp[0]!.port}`,
      `127.0.0.1:${udp[1]!.port}`,
      `127.0.0.2:${udp[0]!.port}`,
      `127.0.0.2:${udp[1]!.port}`,
    ]);
    expect(tcp).toEqual([udp[0], udp[3]]);
    const client = await udpClient();
    const p1 = udp[0]!.port;
    const first = await udpQuery(client, request(), p1);
    expect(getAttribute(first.message, 'OTHER-ADDRESS')?.address).toEqual(udp[3]);
    for (const [changeIp, changePort, expected] of [
      [true, false, udp[2]],
      [false, true, udp[1]],
      [true, true, udp[3]],
    ] as const) {
      const r = await udpQuery(client, request([{ type: 'CHANGE-REQUEST', changeIp, changePort }]), p1);
      expect(`${r.rinfo.address}:${r.rinfo.port}`).toBe(`${expected!.address}:${expected!.port}`);
      expect(getAttribute(r.message, 'RESPONSE-ORIGIN')?.address).toEqual(expected);
    }
  });

  it('a wildcard listen (0.0.0.0) with alternate.ip starts (no EADDRINUSE) and answers on both IPs', async (ctx) => {
    if (process.platform !== 'linux') return ctx.skip(); // 127.0.0.2 is a local address on Linux only
    const listener = await startListener({ listen: '0.0.0.0:0', alternate: { ip: '127.0.0.2' }, tlsListen: false });
    const { udp } = listener.addresses();
    expect(udp.map((a) => a.address)).toEqual(['0.0.0.0', '0.0.0.0', '127.0.0.2', '127.0.0.2']);
    const client = await udpClient();
    const p1 = udp[0]!.port;
    const viaPrimary = await udpQuery(client, request(), p1, '127.0.0.1');
    expect(viaPrimary.rinfo.address).toBe('127.0.0.1');
    const viaAlternate = await udpQuery(client, request(), p1, '127.0.0.2');
    expect(`${viaAlternate.rinfo.address}:${viaAlternate.rinfo.port}`).toBe(`127.0.0.2:${p1}`);
    // A second server on the same ports is still refused (its TCP listen fails).
    await expect(startListener({ listen: `0.0.0.0:${p1}`, alternate: { ip: '127.0.0.2', port: udp[1]!.port }, tlsListen: false })).rejects.toThrow(/EADDRINUSE/);
  });

  it('RESPONSE-PORT sends the answer to another port of the client', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const p1 = listener.addresses().udp[0]!.port;
    const sender = await udpClient();
    const receiver = await udpClient();
    const r = await udpQuery(sender, request([{ type: 'RESPONSE-PORT', port: receiver.address().port }]), p1, '127.0.0.1', receiver);
    // The mapped address is still the sender's.
    expect(getAttribute(r.message, 'XOR-MAPPED-ADDRESS')?.address.port).toBe(sender.address().port);
  });

  it('a padded request gets a padded response no larger than itself', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const client = await udpClient();
    const req = request([{ type: 'PADDING', length: 1000 }]);
    const r = await udpQuery(client, req, listener.addresses().udp[0]!.port);
    expect(r.message.raw.length).toBeLessThanOrEqual(req.length);
    expect(getAttribute(r.message, 'PADDING')?.length).toBeGreaterThan(800);
  });

  it('Binding indications get no answer; TURN requests without TURN get 400 "TURN is not enabled"; unknown methods 400', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().udp[0]!.port;
    const client = await udpClient();
    await expectNoUdpResponse(client, request([], StunMethod.Binding, StunClass.Indication), port);
    const allocate = await udpQuery(client, request([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], StunMethod.Allocate), port);
    expect(getAttribute(allocate.message, 'ERROR-CODE')).toMatchObject({ code: 400, reason: 'TURN is not enabled' });
    const unknown = await udpQuery(client, request([], 0x0ab), port);
    expect(getAttribute(unknown.message, 'ERROR-CODE')?.code).toBe(400);
    await expectNoUdpResponse(client, request([], StunMethod.Send, StunClass.Indication), port);
    await expectNoUdpResponse(client, request([], StunMethod.Binding, StunClass.SuccessResponse), port);
    const stats = listener.stats().udp;
    expect(stats.indications).toBeGreaterThanOrEqual(2);
    expect(stats.errors).toBeGreaterThanOrEqual(2);
  });

  it('survives 10,000 random and mutated datagrams, then still answers', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const port = listener.addresses().udp[0]!.port;
    const client = await udpClient();
    const seeds = [
      request(),
      request([{ type: 'CHANGE-REQUEST', changeIp: true, changePort: true }]),
      request([{ type: 'PADDING', length: 64 }, { type: 'SOFTWARE', value: 'fuzz' }]),
      request([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], StunMethod.Allocate),
      encodeChannelData(0x4001, randomBytes(20)),
    ];
    let random = 12345;
    const rnd = (n: number) => {
      random = (Math.imul(random, 1103515245) + 12345) >>> 0;
      return random % n;
    };
    const datagrams: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      const kind = rnd(4);
      if (kind === 0) {
        datagrams.push(randomBytes(rnd(200)));
        continue;
      }
      const d = Buffer.from(seeds[rnd(seeds.length)]!);
      if (kind === 1) {
        for (let k = 0; k <= rnd(4); k++) d[rnd(d.length)]! ^= 1 << rnd(8); // bit flips
        datagrams.push(d);
      } else if (kind === 2) {
        datagrams.push(d.subarray(0, rnd(d.length + 1))); // truncation
      } else {
        // A length field or an attribute header set to something else; keep the magic cookie often.
        const at = [2, 3, 20, 21, 22, 23][rnd(6)]!;
        if (at < d.length) d[at] = rnd(256);
        datagrams.push(Buffer.concat([d, randomBytes(rnd(3) * 4)]));
      }
    }
    for (let i = 0; i < datagrams.length; i += 200) {
      for (const d of datagrams.slice(i, i + 200)) client.send(d, port, '127.0.0.1');
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 200));
    const ok = await udpQuery(client, request(), port);
    expect(getAttribute(ok.message, 'XOR-MAPPED-ADDRESS')?.address.port).toBe(client.address().port);
    const stats = listener.stats().udp;
    expect(stats.dropped).toBeGreaterThan(1000);
  });
});

describe('STUN over TCP and TLS', () => {
  it('answers Binding over TCP, also when the request arrives a byte at a time', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const [t1, t2] = listener.addresses().tcp;
    const c = await StreamClient.tcp(t1!.port);
    const r = await c.query(request());
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')?.address).toEqual({ family: 'IPv4', address: '127.0.0.1', port: c.socket.localPort });
    expect(getAttribute(r, 'OTHER-ADDRESS')?.address).toEqual(t2);

    const req = request();
    for (const byte of req) {
      c.socket.write(Buffer.from([byte]));
      await new Promise((res) => setImmediate(res));
    }
    expect((await c.response(req)).cls).toBe(StunClass.SuccessResponse);

    // Two requests in one write.
    const [a, b] = [request(), request()];
    c.socket.write(Buffer.concat([a, b]));
    await c.response(a);
    await c.response(b);

    // Over TCP, CHANGE-REQUEST and RESPONSE-PORT are 400.
    expect(getAttribute(await c.query(request([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: true }])), 'ERROR-CODE')?.code).toBe(400);
    expect(getAttribute(await c.query(request([{ type: 'RESPONSE-PORT', port: 1234 }])), 'ERROR-CODE')?.code).toBe(400);
    expect(listener.stats().connections.tcp).toBe(1);
  });

  it('garbage on one TCP connection closes only that connection', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().tcp[0]!.port;
    const good = await StreamClient.tcp(port);
    await good.query(request());
    const bad = await StreamClient.tcp(port);
    bad.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await waitFor(() => bad.closed, 'the garbage connection to close');
    // A STUN-looking header with a bad attribute inside also closes (StunError).
    const bad2 = await StreamClient.tcp(port);
    const broken = Buffer.from(request([{ type: 'SOFTWARE', value: 'abcd' }]));
    broken[20 + 4] = 0xff; // SOFTWARE value no longer UTF-8 (FINGERPRINT now wrong too)
    bad2.socket.write(broken);
    await waitFor(() => bad2.closed, 'the broken connection to close');
    expect(good.closed).toBe(false);
    expect(getAttribute(await good.query(request()), 'XOR-MAPPED-ADDRESS')?.address.port).toBe(good.socket.localPort);
    expect(listener.stats().streamsClosed.invalid).toBe(2);
  });

  it('survives 300 connections of random and mutated bytes, then still answers', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().tcp[0]!.port;
    const valid = Buffer.concat([request(), request([{ type: 'SOFTWARE', value: 'x' }])]);
    const clients = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const c = await StreamClient.tcp(port);
        let bytes: Buffer;
        if (i % 3 === 0) bytes = randomBytes(1 + (i % 97));
        else {
          bytes = Buffer.from(valid);
          bytes[(i * 7) % bytes.length]! ^= 1 << i % 8;
        }
        c.socket.end(bytes);
        return c;
      }),
    );
    await waitFor(() => clients.every((c) => c.closed), 'every fuzz connection to close', 15_000);
    const good = await StreamClient.tcp(port);
    expect((await good.query(request())).cls).toBe(StunClass.SuccessResponse);
    expect(listener.stats().connections.tcp).toBe(1);
  });

  it('closes connections that send no STUN message in time, but not those that did', async () => {
    // Fake setTimeout (the listener's first-message timer), real sockets: time moves by hand.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    cleanup.push(() => vi.useRealTimers());
    const listener = await startListener({ listen: '127.0.0.1:0' }, { clock: { now: () => Date.now() }, limits: { firstMessageTimeoutMs: 300, idleTimeoutMs: 120_000 } });
    const port = listener.addresses().tcp[0]!.port;
    const silent = await StreamClient.tcp(port);
    const active = await StreamClient.tcp(port);
    const req = request();
    active.socket.write(req);
    await io(() => active.messages.some((m) => sameTransaction(req, m)), 'the answer on the active connection');
    await io(() => listener.stats().connections.tcp === 2, 'both connections accepted');
    await vi.advanceTimersByTimeAsync(299);
    await io(() => true, '');
    expect(silent.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await io(() => silent.closed, 'the silent connection to close at 300 ms');
    // Long after the deadline the connection that sent a message is still open.
    await vi.advanceTimersByTimeAsync(60_000);
    await io(() => true, '');
    expect(active.closed).toBe(false);
    expect(listener.stats().streamsClosed.timeout).toBe(1);
  });

  it('limits concurrent TCP connections', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' }, { limits: { maxConnections: 2 } });
    const port = listener.addresses().tcp[0]!.port;
    const a = await StreamClient.tcp(port);
    const b = await StreamClient.tcp(port);
    await a.query(request());
    await b.query(request());
    const c = await StreamClient.tcp(port);
    await waitFor(() => c.closed, 'the third connection to be refused');
    expect(a.closed || b.closed).toBe(false);
  });

  it('closes a connection that sent one Binding and then nothing after the idle timeout, but not one holding an allocation', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    cleanup.push(() => vi.useRealTimers());
    // A recording TURN core: the client that sends an Allocate holds an allocation from then on.
    const allocated = new Set<string>();
    const turn: TurnHandler = {
      handleMessage: (_m, client) => void allocated.add(client.key),
      handleChannelData: () => {},
      clientClosed: (client) => void allocated.delete(client.key),
      holdsAllocation: (client) => allocated.has(client.key),
      close: async () => {},
    };
    const listener = await startListener({ listen: '127.0.0.1:0' }, { turn, clock: { now: () => Date.now() }, limits: { idleTimeoutMs: 30_000 } });
    const port = listener.addresses().tcp[0]!.port;
    const stunOnly = await StreamClient.tcp(port);
    const withAllocation = await StreamClient.tcp(port);
    const req = request();
    stunOnly.socket.write(req);
    await io(() => stunOnly.messages.some((m) => sameTransaction(req, m)), 'the Binding answer');
    withAllocation.socket.write(request([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], StunMethod.Allocate));
    await io(() => allocated.size === 1, 'the Allocate to reach TURN');
    await vi.advanceTimersByTimeAsync(29_990);
    await io(() => true, '');
    expect(stunOnly.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    await io(() => stunOnly.closed, 'the idle connection to be closed at 30 s');
    await vi.advanceTimersByTimeAsync(600_000);
    await io(() => true, '');
    expect(withAllocation.closed).toBe(false);
    expect(listener.stats().streamsClosed).toMatchObject({ idle: 1, timeout: 0 });
  });

  it('shares the connection cap fairly: one address holding every slot cannot keep another out', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' }, { limits: { maxConnections: 50 } });
    const port = listener.addresses().tcp[0]!.port;
    // 50 connections from 127.0.0.1 that each send one Binding, then stay silent.
    const flood: StreamClient[] = [];
    for (let i = 0; i < 50; i++) {
      const c = await StreamClient.tcp(port);
      await c.query(request());
      flood.push(c);
    }
    await waitFor(() => listener.stats().connections.tcp === 50, 'the cap to be full');
    // More from the same address: refused.
    const more = await StreamClient.tcp(port);
    await waitFor(() => more.closed, 'a 51st connection from the flooding address to be refused');
    // Another address (a `burrow stun --tcp` user) is answered; one flood connection made room.
    const user = await StreamClient.tcp(port, '127.0.0.1', '127.0.0.2');
    const answer = await user.query(request());
    expect(getAttribute(answer, 'XOR-MAPPED-ADDRESS')?.address).toMatchObject({ address: '127.0.0.2', port: user.socket.localPort });
    await waitFor(() => flood.filter((c) => c.closed).length === 1, 'one flood connection to be evicted');
    expect(user.closed).toBe(false);
    expect(listener.stats().streamsClosed).toMatchObject({ evicted: 1, refused: 1 });
  });

  it('answers Binding over TLS', async () => {
    const dir = await tempDir();
    cleanup.push(() => dir.remove());
    const identity = await ensureSelfSignedIdentity(dir.path);
    const listener = await startListener(
      { listen: '127.0.0.1:0', tlsListen: '127.0.0.1:0' },
      { tls: { cert: identity.cert, key: identity.key } },
    );
    const tlsAt = listener.addresses().tls!;
    const socket = tlsConnect({ host: '127.0.0.1', port: tlsAt.port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const c = new StreamClient(socket);
    const r = await c.query(request());
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')?.address.port).toBe(socket.localPort);
    expect(getAttribute(r, 'OTHER-ADDRESS')).toBeUndefined();
    expect(listener.stats().tls.responses).toBe(1);
  });

  it('binds IPv6 when the listen address is IPv6', async (ctx) => {
    const listener = await bindIfAddressExists(() => startListener({ listen: '[::1]:0', alternate: {} }));
    if (!listener) return ctx.skip('::1 is not an address of this machine (no IPv6 loopback)');
    const { udp } = listener.addresses();
    expect(udp[0]!.family).toBe('IPv6');
    const client = await udpClient('::1');
    const r = await udpQuery(client, request(), udp[0]!.port, '::1');
    expect(getAttribute(r.message, 'XOR-MAPPED-ADDRESS')?.address).toEqual({ family: 'IPv6', address: '::1', port: client.address().port });
    expect(getAttribute(r.message, 'OTHER-ADDRESS')?.address).toEqual(udp[1]);
  });
});

/** A stand-in TURN core recording what reaches it. */
class FakeTurn implements TurnHandler {
  readonly messages: Array<{ message: DecodedStunMessage; client: ClientTransport }> = [];
  readonly channelData: Array<{ channel: number; data: Uint8Array; client: ClientTransport }> = [];
  readonly closed: ClientTransport[] = [];
  onMessage: (message: DecodedStunMessage, client: ClientTransport) => void = () => {};

  handleMessage(message: DecodedStunMessage, client: ClientTransport): void {
    this.messages.push({ message, client });
    this.onMessage(message, client);
  }
  handleChannelData(channel: number, data: Uint8Array, client: ClientTransport): void {
    this.channelData.push({ channel, data, client });
  }
  clientClosed(client: ClientTransport): void {
    this.closed.push(client);
  }
  async close(): Promise<void> {}
}

describe('hand-off to the TURN core', () => {
  it('TURN methods and ChannelData go to the TURN handler with a working ClientTransport (UDP and TCP)', async () => {
    const turn = new FakeTurn();
    turn.onMessage = (m, client) => client.send(encodeStun(responseTo(m, StunClass.SuccessResponse, []), { fingerprint: true }));
    const listener = await startListener({ listen: '127.0.0.1:0' }, { turn });
    const port = listener.addresses().udp[0]!.port;
    const client = await udpClient();
    const r = await udpQuery(client, request([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], StunMethod.Allocate), port);
    expect(r.message.cls).toBe(StunClass.SuccessResponse);
    const seen = turn.messages[0]!.client;
    expect(seen.protocol).toBe('udp');
    expect(seen.remote).toEqual({ family: 'IPv4', address: '127.0.0.1', port: client.address().port });
    expect(seen.local).toEqual({ family: 'IPv4', address: '127.0.0.1', port });
    expect(seen.key).toBe(`udp|127.0.0.1|${client.address().port}|127.0.0.1|${port}`);
    expect(seen.pendingBytes).toBe(0);
    client.send(encodeChannelData(0x4001, Buffer.from('hello')), port, '127.0.0.1');
    await waitFor(() => turn.channelData.length === 1, 'ChannelData to reach TURN');
    expect(Buffer.from(turn.channelData[0]!.data).toString()).toBe('hello');

    // Binding still answered by the listener, not TURN.
    await udpQuery(client, request(), port);
    expect(turn.messages).toHaveLength(1);

    const tcp = await StreamClient.tcp(port);
    await tcp.query(request([{ type: 'LIFETIME', seconds: 0 }], StunMethod.Refresh));
    tcp.socket.write(encodeChannelData(0x4002, Buffer.from('abcde'), true));
    await waitFor(() => turn.channelData.length === 2, 'ChannelData over TCP');
    expect(turn.channelData[1]!.channel).toBe(0x4002);
    expect(turn.messages[1]!.client.protocol).toBe('tcp');
    // The TURN core may hand unpadded ChannelData to a stream transport: it is padded on the wire.
    const streamClient = turn.messages[1]!.client;
    expect(streamClient.key).toBe(`tcp|127.0.0.1|${tcp.socket.localPort}|127.0.0.1|${port}`);
    streamClient.send(encodeChannelData(0x4003, Buffer.from('xyz')));
    const after = request();
    streamClient.send(after); // parsed only if the padding came first
    await tcp.response(after);
    expect(tcp.channels.map((c) => [c.channel, Buffer.from(c.data).toString()])).toEqual([[0x4003, 'xyz']]);
    tcp.socket.end();
    await waitFor(() => turn.closed.length === 1, 'clientClosed');
    expect(turn.closed[0]).toBe(turn.messages[1]!.client);
  });

  it('a TURN core that throws does not take the listener down', async () => {
    const turn = new FakeTurn();
    turn.onMessage = () => {
      throw new Error('boom');
    };
    const listener = await startListener({ listen: '127.0.0.1:0' }, { turn });
    const port = listener.addresses().udp[0]!.port;
    const client = await udpClient();
    await expectNoUdpResponse(client, request([], StunMethod.Allocate), port, 200);
    const tcp = await StreamClient.tcp(port);
    tcp.socket.write(request([], StunMethod.Refresh));
    expect((await tcp.query(request())).cls).toBe(StunClass.SuccessResponse);
    expect((await udpQuery(client, request(), port)).message.cls).toBe(StunClass.SuccessResponse);
  });

  it('ConnectionBind: takeOver() hands the raw socket over with the bytes after the request pushed back', async () => {
    const turn = new FakeTurn();
    let taken: Socket | undefined;
    turn.onMessage = (m, client) => {
      if (m.method !== StunMethod.ConnectionBind) return;
      client.send(encodeStun(responseTo(m, StunClass.SuccessResponse, []), { fingerprint: true }));
      taken = client.takeOver!();
    };
    const listener = await startListener({ listen: '127.0.0.1:0' }, { turn });
    const port = listener.addresses().tcp[0]!.port;
    const c = await StreamClient.tcp(port);
    const bind = request([{ type: 'CONNECTION-ID', id: 7 }], StunMethod.ConnectionBind);
    // Raw application data that is not STUN at all, in the same write as the request.
    c.socket.write(Buffer.concat([bind, Buffer.from('\xff raw relayed bytes', 'latin1')]));
    await c.response(bind);
    await waitFor(() => taken, 'the takeover');
    const received: Buffer[] = [];
    taken!.on('data', (d: Buffer) => received.push(d));
    taken!.resume();
    c.socket.write('more');
    await waitFor(() => Buffer.concat(received).toString('latin1') === '\xff raw relayed bytes' + 'more', 'the raw bytes on the taken socket');
    expect(c.closed).toBe(false);
    expect(listener.stats().connections.tcp).toBe(0);
    taken!.destroy();
    await waitFor(() => c.closed, 'close');
    expect(turn.closed).toHaveLength(0); // a taken-over socket is TURN's own business
  });

  it('ConnectionBind refused with an error: framing resumes with what followed it', async () => {
    const turn = new FakeTurn();
    turn.onMessage = (m, client) => {
      if (m.method !== StunMethod.ConnectionBind) return;
      // Answer later, as an asynchronous TURN core might.
      setTimeout(() => {
        client.send(encodeStun(responseTo(m, StunClass.ErrorResponse, [{ type: 'ERROR-CODE', code: 400, reason: 'no' }]), { fingerprint: true }));
      }, 50);
    };
    const listener = await startListener({ listen: '127.0.0.1:0' }, { turn });
    const c = await StreamClient.tcp(listener.addresses().tcp[0]!.port);
    const bind = request([{ type: 'CONNECTION-ID', id: 7 }], StunMethod.ConnectionBind);
    const after = request();
    c.socket.write(Buffer.concat([bind, after]));
    const later = request();
    setTimeout(() => c.socket.write(later), 10);
    expect((await c.response(bind)).cls).toBe(StunClass.ErrorResponse);
    expect((await c.response(after)).cls).toBe(StunClass.SuccessResponse);
    expect((await c.response(later)).cls).toBe(StunClass.SuccessResponse);
    // Order kept: bind's error, then after, then later.
    const order = c.messages.map((m) => [bind, after, later].findIndex((r) => sameTransaction(r, m)));
    expect(order).toEqual([0, 1, 2]);
  });
});
