import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { decodeStun, encodeStun, getAttribute, type DecodedStunMessage, type StunAttribute } from '../../shared/stun/message.js';
import { StunClientError, buildBindingRequest, stunBinding, stunBindingTcp } from './stun-client.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  vi.useRealTimers();
  for (const f of cleanup.splice(0).reverse()) f();
});

/**
 * Fake time for the retransmission schedule: vitest's setTimeout and performance.now() move
 * together and the client's clock reads performance.now(). Sockets stay real (loopback).
 */
function fakeTime() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  return { clock: { now: () => performance.now() } };
}

/** Lets datagrams and their callbacks through; fake time does not move. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

async function udp(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => s.close());
  return s;
}

type Handler = (req: DecodedStunMessage, rinfo: RemoteInfo, server: UdpSocket) => void;

/** A fake STUN server: calls `handler` for each request. */
async function fakeServer(handler: Handler): Promise<{ port: number; requests: DecodedStunMessage[] }> {
  const s = await udp();
  const requests: DecodedStunMessage[] = [];
  s.on('message', (msg, rinfo) => {
    const req = decodeStun(new Uint8Array(msg));
    requests.push(req);
    handler(req, rinfo, s);
  });
  return { port: s.address().port, requests };
}

function success(req: DecodedStunMessage, rinfo: { address: string; port: number }, extra: StunAttribute[] = []): Uint8Array {
  return encodeStun({
    method: StunMethod.Binding,
    cls: StunClass.SuccessResponse,
    transactionId: req.transactionId,
    attributes: [{ type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv4', address: rinfo.address, port: rinfo.port } }, ...extra],
  });
}

const answer: Handler = (req, rinfo, s) => s.send(success(req, rinfo), rinfo.port, rinfo.address);

describe('stunBinding over UDP', () => {
  it("returns the mapped address (the socket's own on loopback), RTT and the RFC 5780 extras", async () => {
    const server = await fakeServer((req, rinfo, s) =>
      s.send(
        success(req, rinfo, [
          { type: 'SOFTWARE', value: 'fake 1.0' },
          { type: 'OTHER-ADDRESS', address: { family: 'IPv4', address: '127.0.0.2', port: 9 } },
          { type: 'RESPONSE-ORIGIN', address: { family: 'IPv4', address: '127.0.0.1', port: s.address().port } },
        ]),
        rinfo.port,
        rinfo.address,
      ),
    );
    const sock = await udp();
    const r = await stunBinding(sock, { host: '127.0.0.1', port: server.port });
    expect(r.mapped).toEqual({ family: 'IPv4', address: '127.0.0.1', port: sock.address().port });
    expect(r.software).toBe('fake 1.0');
    expect(r.otherAddress).toEqual({ family: 'IPv4', address: '127.0.0.2', port: 9 });
    expect(r.responseOrigin?.port).toBe(server.port);
    expect(r.source).toEqual({ family: 'IPv4', address: '127.0.0.1', port: server.port });
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
    expect(r.rttMs).toBeLessThan(1000);
  });

  it('leaves the socket to its owner: other datagrams reach other listeners, its own listener is removed', async () => {
    const sock = await udp();
    const seen: string[] = [];
    sock.on('message', (m) => seen.push(m.toString()));
    const before = sock.listenerCount('message');
    const server = await fakeServer((req, rinfo, s) => {
      // first something that is not STUN, then the answer
      s.send(Buffer.from('punch!'), rinfo.port, rinfo.address, () => s.send(success(req, rinfo), rinfo.port, rinfo.address));
    });
    await stunBinding(sock, { host: '127.0.0.1', port: server.port });
    expect(sock.listenerCount('message')).toBe(before);
    expect(seen).toContain('punch!');
  });

  it('ignores responses with another transaction id', async () => {
    const server = await fakeServer((req, rinfo, s) => {
      const other = { ...req, transactionId: new Uint8Array(12).fill(7) } as DecodedStunMessage;
      s.send(success(other, { address: '10.0.0.1', port: 1 }), rinfo.port, rinfo.address, () => s.send(success(req, rinfo), rinfo.port, rinfo.address));
    });
    const sock = await udp();
    const r = await stunBinding(sock, { host: '127.0.0.1', port: server.port });
    expect(r.mapped.address).toBe('127.0.0.1');
  });

  it('retransmits a lost request on the RFC 8489 schedule (RTO 500 ms, doubling), the same transaction each time', async () => {
    let n = 0;
    const server = await fakeServer((req, rinfo, s) => {
      if (++n >= 3) answer(req, rinfo, s);
    });
    const sock = await udp();
    const time = fakeTime();
    const pending = stunBinding(sock, { host: '127.0.0.1', port: server.port }, { clock: time.clock });
    await until(() => server.requests.length === 1, 'the first request');
    await vi.advanceTimersByTimeAsync(499);
    await settle();
    expect(server.requests.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1); // 500 ms: the first retransmission
    await until(() => server.requests.length === 2, 'the retransmission at 500 ms');
    await vi.advanceTimersByTimeAsync(999);
    await settle();
    expect(server.requests.length).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // 1500 ms: the second, which is answered
    const r = await pending;
    expect(r.mapped.port).toBe(sock.address().port);
    expect(server.requests.length).toBe(3);
    expect(r.rttMs).toBe(0); // measured from the last send, on the fake clock
    expect(Buffer.from(server.requests[2]!.transactionId)).toEqual(Buffer.from(server.requests[0]!.transactionId));
    expect(Buffer.from(server.requests[1]!.transactionId)).toEqual(Buffer.from(server.requests[0]!.transactionId));
  });

  it('gives up after Rc = 7 requests and Rm = 16 RTOs: at 39.5 s by default', async () => {
    const server = await fakeServer(() => {});
    const sock = await udp();
    const time = fakeTime();
    let settled: unknown;
    const pending = stunBinding(sock, { host: '127.0.0.1', port: server.port }, { clock: time.clock }).then(
      () => (settled = 'resolved'),
      (e: unknown) => (settled = e),
    );
    await until(() => server.requests.length === 1, 'the first request');
    // Requests at 0, 500, 1500, 3500, 7500, 15500 and 31500 ms.
    const seenAt: number[] = [0];
    // Jump from one timer to the next and note when a new request reached the server.
    for (let i = 0; i < 20 && settled === undefined; i++) {
      await vi.advanceTimersToNextTimerAsync();
      await settle();
      if (server.requests.length > seenAt.length) seenAt.push(Math.round(performance.now()));
    }
    expect(seenAt).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    expect(settled).toBeInstanceOf(StunClientError);
    expect((settled as StunClientError).code).toBe('timeout');
    expect(Math.round(performance.now())).toBe(39_500);
    await pending;
    expect(server.requests.length).toBe(7);
    expect(sock.listenerCount('message')).toBe(0);
  });

  it('follows a configured schedule: rtoMs 10, 3 sends, 4 RTOs after the last (fails at 70 ms)', async () => {
    const server = await fakeServer(() => {});
    const sock = await udp();
    const time = fakeTime();
    let settled: unknown;
    void stunBinding(sock, { host: '127.0.0.1', port: server.port }, { rtoMs: 10, maxSends: 3, lastWaitFactor: 4, clock: time.clock }).catch(
      (e: unknown) => (settled = e),
    );
    await until(() => server.requests.length === 1, 'the first request');
    await vi.advanceTimersByTimeAsync(69);
    await settle();
    expect(server.requests.length).toBe(3); // 0, 10, 30 ms
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect((settled as StunClientError).code).toBe('timeout');
  });

  it('rejects on an error response with its code', async () => {
    const server = await fakeServer((req, rinfo, s) => {
      const m = encodeStun({
        method: StunMethod.Binding,
        cls: StunClass.ErrorResponse,
        transactionId: req.transactionId,
        attributes: [{ type: 'ERROR-CODE', code: 420, reason: 'Unknown Attribute' }],
      });
      s.send(m, rinfo.port, rinfo.address);
    });
    const sock = await udp();
    const err = (await stunBinding(sock, { host: '127.0.0.1', port: server.port }, { changePort: true }).catch((e: unknown) => e)) as StunClientError;
    expect(err.code).toBe('error-response');
    expect(err.errorCode).toBe(420);
  });

  it('stops on abort', async () => {
    const server = await fakeServer(() => {});
    const sock = await udp();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const err = (await stunBinding(sock, { host: '127.0.0.1', port: server.port }, { signal: ac.signal }).catch((e: unknown) => e)) as StunClientError;
    expect(err.code).toBe('aborted');
    expect(sock.listenerCount('message')).toBe(0);
    const timeout = (await stunBinding(sock, { host: '127.0.0.1', port: server.port }, { signal: AbortSignal.timeout(20) }).catch((e: unknown) => e)) as StunClientError;
    expect(timeout.code).toBe('timeout');
  });

  it('sends CHANGE-REQUEST and RESPONSE-PORT when asked, with a FINGERPRINT', async () => {
    const server = await fakeServer(answer);
    const sock = await udp();
    await stunBinding(sock, { host: '127.0.0.1', port: server.port }, { changeIp: true, changePort: false, responsePort: sock.address().port }).catch(() => {});
    const req = server.requests[0]!;
    expect(getAttribute(req, 'CHANGE-REQUEST')).toEqual({ type: 'CHANGE-REQUEST', changeIp: true, changePort: false });
    expect(getAttribute(req, 'RESPONSE-PORT')?.port).toBe(sock.address().port);
    expect(req.fingerprintOffset).toBeDefined();
  });

  it('a plain request has no CHANGE-REQUEST', () => {
    const req = decodeStun(buildBindingRequest(new Uint8Array(12)));
    expect(req.method).toBe(StunMethod.Binding);
    expect(req.cls).toBe(StunClass.Request);
    expect(getAttribute(req, 'CHANGE-REQUEST')).toBeUndefined();
  });

  it('receives on another socket when asked (RESPONSE-PORT probes)', async () => {
    const x = await udp();
    const y = await udp();
    const server = await fakeServer((req, rinfo, s) => {
      const port = getAttribute(req, 'RESPONSE-PORT')?.port ?? rinfo.port;
      s.send(success(req, rinfo), port, rinfo.address);
    });
    const r = await stunBinding(y, { host: '127.0.0.1', port: server.port }, { responsePort: x.address().port, receiveSockets: [x, y] });
    expect(r.receivedOn).toBe(x);
    expect(x.listenerCount('message')).toBe(0);
    expect(y.listenerCount('message')).toBe(0);
  });
});

describe('stunBindingTcp', () => {
  async function tcpServer(split: boolean): Promise<Server> {
    const server = createServer((c) => {
      c.on('data', (chunk) => {
        const req = decodeStun(new Uint8Array(chunk));
        const res = success(req, { address: c.remoteAddress!, port: c.remotePort! }, [{ type: 'SOFTWARE', value: 'tcp fake' }]);
        if (split) {
          // in two pieces, to exercise the stream decoder
          c.write(res.subarray(0, 7));
          setTimeout(() => c.write(res.subarray(7)), 10);
        } else c.write(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => server.close());
    return server;
  }

  it('returns the mapped address = our end of the connection', async () => {
    for (const split of [false, true]) {
      const server = await tcpServer(split);
      const r = await stunBindingTcp('127.0.0.1', (server.address() as AddressInfo).port);
      expect(r.mapped.address).toBe('127.0.0.1');
      expect(r.mapped.port).toBe(r.localAddress.port);
      expect(r.software).toBe('tcp fake');
    }
  });

  it('times out when nothing comes back', async () => {
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => server.close());
    const err = (await stunBindingTcp('127.0.0.1', (server.address() as AddressInfo).port, { timeoutMs: 50 }).catch((e: unknown) => e)) as StunClientError;
    expect(err.code).toBe('timeout');
  });
});
