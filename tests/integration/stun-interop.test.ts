/**
 * Burrow's STUN server (StunTurnListener, in-process on 127.0.0.1 port 0) queried by two clients
 * that share no code with it:
 *   - coturn's `turnutils_stunclient` (C): plain Binding, and its RFC 5780 sequence (RESPONSE-PORT
 *     plus CHANGE-REQUEST change-IP-and-port, then CHANGE-REQUEST with PADDING);
 *   - the npm `stun` package (JavaScript, nodertc): Binding over UDP with its own encoder, decoder
 *     and FINGERPRINT check, RFC 5780 attributes, and its codec over a TCP connection (the package
 *     has no TCP transport of its own).
 * The coturn tests are skipped when the binary is missing, except under CI (CI=1), where they fail.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { StunTurnListener } from '../../server/stun/stun-listener.js';
import { StunConfigSchema } from '../../shared/config/server-config.js';
import { bindIfAddressExists } from './harness.js';

const REQUIRED = !!process.env.CI;
const SOFTWARE = 'burrow-interop';

function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const STUNCLIENT = which('turnutils_stunclient');
if (!STUNCLIENT && !REQUIRED) console.warn('stun-interop: turnutils_stunclient (coturn) is not installed; skipping its tests (apt-get install -y coturn)');

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startListener(config: Record<string, unknown>): Promise<StunTurnListener> {
  const listener = new StunTurnListener(StunConfigSchema.parse(config), { logger: silentLogger(), software: SOFTWARE });
  await listener.start();
  cleanup.push(() => listener.stop());
  return listener;
}

/** The two-IP RFC 5780 server (127.0.0.1 and 127.0.0.2), or undefined where 127.0.0.2 is not an address of this machine. */
function startTwoIpListener(): Promise<StunTurnListener | undefined> {
  return bindIfAddressExists(() => startListener({ listen: '127.0.0.1:0', alternate: { ip: '127.0.0.2' } }));
}

async function udpSocket(): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  cleanup.push(() => socket.close());
  return socket;
}

/** The OS's ephemeral port range, for "is this a port a client socket really got". */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [1024, 65535];
}

// ---------------------------------------------------------------------------------------------
// coturn turnutils_stunclient

/** Runs turnutils_stunclient (it blocks forever when an answer never comes, hence the timeout). */
function stunclient(args: string[], timeoutMs = 10_000): Promise<{ code: number | string; timedOut: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(STUNCLIENT ?? 'turnutils_stunclient', args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      resolve({ code: e ? (e.code ?? 1) : 0, timedOut: !!e?.killed, out: stdout + stderr });
    });
  });
}

interface Endpoint {
  address: string;
  port: number;
}

function endpoint(text: string | undefined): Endpoint | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text ?? '');
  return m ? { address: m[1]!, port: Number(m[2]) } : undefined;
}

/** "... UDP reflexive addr: 127.0.0.1:40000" and friends, from one block of stunclient's output. */
function field(block: string, name: string): Endpoint | undefined {
  const m = new RegExp(`${name}:?\\s*:\\s*(\\S+)`).exec(block);
  return endpoint(m?.[1]);
}

/** The "RFC 5780 response N" blocks, in order. */
function rfc5780Blocks(out: string): string[] {
  return out.split(/RFC 5780 response \d+/).slice(1);
}

const ERROR_LINES = /error|not a|Cannot|Wrong|unrecognized|well formed/i;

describe.skipIf(!STUNCLIENT && !REQUIRED)('coturn turnutils_stunclient against Burrow STUN', () => {
  it('is installed (CI must not skip these tests)', () => {
    expect(STUNCLIENT, 'turnutils_stunclient not found on PATH (apt-get install -y coturn)').toBeDefined();
  });

  it('plain Binding: prints the client’s own 127.0.0.1:port as its reflexive address, no RFC 5780 block', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().udp[0]!.port;
    const before = listener.stats().udp.responses;

    const { code, timedOut, out } = await stunclient(['-p', String(port), '127.0.0.1']);
    console.log(out);
    expect(timedOut).toBe(false);
    expect(code).toBe(0);
    const reflexive = field(out, 'UDP reflexive addr');
    expect(reflexive?.address).toBe('127.0.0.1');
    const [lo, hi] = ephemeralRange();
    expect(reflexive!.port).toBeGreaterThanOrEqual(lo);
    expect(reflexive!.port).toBeLessThanOrEqual(hi);
    expect(reflexive!.port).not.toBe(port);
    expect(out).not.toMatch(/RFC 5780 response/); // no OTHER-ADDRESS without `alternate`
    expect(out).not.toMatch(ERROR_LINES);
    expect(listener.stats().udp.responses - before).toBe(1);
  });

  it('RFC 5780 with two IPs: other address, changed-IP-and-port answers, RESPONSE-PORT, no errors', async (ctx) => {
    const listener = await startTwoIpListener();
    if (!listener) return ctx.skip('127.0.0.2 is not an address of this machine (EADDRNOTAVAIL; Linux has all of 127/8)');
    const udp = listener.addresses().udp;
    const primary = udp[0]!;
    const other = udp[3]!; // 127.0.0.2 on the alternate port: differs in IP and port
    expect(other.address).toBe('127.0.0.2');

    const { code, timedOut, out } = await stunclient(['-p', String(primary.port), '127.0.0.1']);
    console.log(out);
    expect(timedOut).toBe(false);
    expect(code).toBe(0);
    expect(out).not.toMatch(ERROR_LINES);
    const blocks = rfc5780Blocks(out);
    // 1: plain request; 2: CHANGE-REQUEST(ip, port) + RESPONSE-PORT(local port + 1); 3: CHANGE-REQUEST(ip, port) + PADDING,
    // sent from the RESPONSE-PORT socket.
    expect(blocks).toHaveLength(3);
    const [b1, b2, b3] = blocks as [string, string, string];

    expect(field(b1, 'Response origin')).toEqual({ address: '127.0.0.1', port: primary.port });
    for (const b of blocks) expect(field(b, 'Other addr')).toEqual({ address: other.address, port: other.port });
    const r1 = field(b1, 'UDP reflexive addr')!;
    expect(r1.address).toBe('127.0.0.1');

    // The changed answers came from the other IP and port (and reached the client, on the port it asked for in 2).
    expect(field(b2, 'Response origin')).toEqual({ address: other.address, port: other.port });
    expect(field(b3, 'Response origin')).toEqual({ address: other.address, port: other.port });
    // 2 was sent from the first socket: same mapping. 3 was sent from the RESPONSE-PORT socket (first port + 1).
    expect(field(b2, 'UDP reflexive addr')).toEqual(r1);
    expect(field(b3, 'UDP reflexive addr')).toEqual({ address: '127.0.0.1', port: r1.port + 1 });
  });

  it('RFC 5780 with one IP and two ports (`alternate: {}`): the first answer names the alternate port; change-IP is refused with 420 at RESPONSE-PORT', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const [p1, p2] = listener.addresses().udp;
    // turnutils_stunclient then asks for change-IP-and-port with RESPONSE-PORT; Burrow has no second IP and
    // answers 420, sent to RESPONSE-PORT where the client waits for it (RFC 5780 §7.5), so the client finishes.
    const { out, code, timedOut } = await stunclient(['-p', String(p1!.port), '127.0.0.1'], 10_000);
    console.log(out);
    expect(timedOut).toBe(false);
    expect(code).toBe(0);
    const blocks = rfc5780Blocks(out);
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    expect(field(blocks[0]!, 'Response origin')).toEqual({ address: '127.0.0.1', port: p1!.port });
    expect(field(blocks[0]!, 'Other addr')).toEqual({ address: '127.0.0.1', port: p2!.port });
    expect(field(blocks[0]!, 'UDP reflexive addr')?.address).toBe('127.0.0.1');
    expect(out).toMatch(/The response is an error 420 \(Cannot change IP\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// npm `stun` package (no type declarations: the part used here, typed by hand)

interface StunPkgAddress {
  address: string;
  port: number;
  family: string;
}
interface StunPkgAttribute {
  type: number;
  value: unknown;
}
interface StunPkgMessage extends Iterable<StunPkgAttribute> {
  readonly type: number;
  readonly transactionId: Buffer;
  getAttribute(type: number): StunPkgAttribute | undefined;
  getXorAddress(): StunPkgAddress | undefined;
  getAddress(): StunPkgAddress | undefined;
  getSoftware(): string | undefined;
  getError(): { code: number; reason: string } | undefined;
}
interface StunPkgRequest extends StunPkgMessage {
  addSoftware(software: string): unknown;
  addAttribute(type: number, value: number | string | Buffer): unknown;
  addFingerprint(): unknown;
  toBuffer(): Buffer;
}
interface StunPkg {
  createMessage(type: number, transaction?: Buffer): StunPkgRequest;
  request(url: string, options: { socket?: UdpSocket; message?: StunPkgRequest; timeout?: number; retries?: number }): Promise<StunPkgMessage>;
  encode(message: StunPkgMessage): Buffer;
  decode(bytes: Buffer): StunPkgMessage;
  validateFingerprint(message: StunPkgMessage): boolean;
  constants: Record<string, number>;
}

const stun = createRequire(import.meta.url)('stun') as StunPkg;
const C = stun.constants;

function pkgBindingRequest(extra: (m: StunPkgRequest) => void = () => {}): StunPkgRequest {
  const m = stun.createMessage(C.STUN_BINDING_REQUEST!);
  m.addSoftware('npm-stun-interop');
  extra(m);
  m.addFingerprint();
  return m;
}

/** Sends raw bytes and resolves with the first datagram answering `transactionId` (with its sender), or undefined after `ms`. */
function rawExchange(socket: UdpSocket, bytes: Buffer, port: number, transactionId: Buffer, ms = 1500): Promise<{ raw: Buffer; rinfo: RemoteInfo } | undefined> {
  return new Promise((resolve) => {
    const onMessage = (raw: Buffer, rinfo: RemoteInfo) => {
      if (raw.length >= 20 && raw.subarray(8, 20).equals(transactionId)) finish({ raw, rinfo });
    };
    const timer = setTimeout(() => finish(undefined), ms);
    const finish = (v: { raw: Buffer; rinfo: RemoteInfo } | undefined) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(v);
    };
    socket.on('message', onMessage);
    socket.send(bytes, port, '127.0.0.1');
  });
}

/** ERROR-CODE (0x0009) of a raw STUN message: class * 100 + number. */
function errorCodeOf(raw: Buffer): number | undefined {
  for (let o = 20; o + 4 <= raw.length; ) {
    const type = raw.readUInt16BE(o);
    const len = raw.readUInt16BE(o + 2);
    if (type === 0x0009 && len >= 4) return (raw[o + 6]! & 0x07) * 100 + raw[o + 7]!;
    o += 4 + Math.ceil(len / 4) * 4;
  }
  return undefined;
}

/** FINGERPRINT (RFC 8489 §14.7) checked with zlib's CRC-32, independent of Burrow's codec. */
function rawFingerprintOk(raw: Buffer): boolean {
  if (raw.length < 28 || raw.readUInt16BE(raw.length - 8) !== 0x8028 || raw.readUInt16BE(raw.length - 6) !== 4) return false;
  return ((crc32(raw.subarray(0, raw.length - 8)) ^ 0x5354554e) >>> 0) === raw.readUInt32BE(raw.length - 4);
}

describe('npm `stun` package against Burrow STUN', () => {
  it('UDP Binding: XOR-MAPPED-ADDRESS is the client socket, SOFTWARE and FINGERPRINT verify', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().udp[0]!.port;
    const socket = await udpSocket();
    const me = socket.address();

    const res = await stun.request(`127.0.0.1:${port}`, { socket, message: pkgBindingRequest(), timeout: 200, retries: 4 });
    expect(res.type).toBe(C.STUN_BINDING_RESPONSE);
    expect(res.getXorAddress()).toEqual({ family: 'IPv4', address: '127.0.0.1', port: me.port });
    expect(res.getAddress()).toEqual({ family: 'IPv4', address: '127.0.0.1', port: me.port });
    expect(res.getSoftware()).toBe(SOFTWARE);
    expect(res.getAttribute(C.STUN_ATTR_FINGERPRINT!)).toBeDefined();
    expect(stun.validateFingerprint(res)).toBe(true);
    // No RFC 5780 attributes without `alternate`.
    expect(res.getAttribute(C.STUN_ATTR_OTHER_ADDRESS!)).toBeUndefined();

    // The package's FINGERPRINT check does fail on a damaged response (so `true` above means something).
    const req = pkgBindingRequest();
    const answer = await rawExchange(socket, stun.encode(req), port, req.transactionId);
    expect(answer).toBeDefined();
    expect(stun.validateFingerprint(stun.decode(answer!.raw))).toBe(true);
    expect(rawFingerprintOk(answer!.raw)).toBe(true);
    const damaged = Buffer.from(answer!.raw);
    damaged[damaged.length - 1]! ^= 0x01; // last byte of FINGERPRINT
    expect(stun.validateFingerprint(stun.decode(damaged))).toBe(false);
    expect(rawFingerprintOk(damaged)).toBe(false);
  });

  it('a request with a FINGERPRINT the package computed is answered; one with a broken FINGERPRINT is dropped', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().udp[0]!.port;
    const socket = await udpSocket();

    const bad = pkgBindingRequest();
    const badBytes = stun.encode(bad);
    badBytes[badBytes.length - 1]! ^= 0xff;
    expect(await rawExchange(socket, badBytes, port, bad.transactionId, 500)).toBeUndefined();

    const good = pkgBindingRequest();
    const answer = await rawExchange(socket, stun.encode(good), port, good.transactionId);
    expect(answer).toBeDefined();
    expect(stun.decode(answer!.raw).getXorAddress()?.port).toBe(socket.address().port);
    expect(listener.stats().udp.dropped).toBeGreaterThanOrEqual(1);
  });

  it('RFC 5780 attributes, and CHANGE-REQUEST change-port answered from the alternate port', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0', alternate: {} });
    const [a1, a2] = listener.addresses().udp;
    const socket = await udpSocket();

    const plain = await stun.request(`127.0.0.1:${a1!.port}`, { socket, message: pkgBindingRequest(), timeout: 200, retries: 4 });
    expect(plain.getXorAddress()).toEqual({ family: 'IPv4', address: '127.0.0.1', port: socket.address().port });
    expect(plain.getAttribute(C.STUN_ATTR_RESPONSE_ORIGIN!)?.value).toEqual({ family: 'IPv4', address: '127.0.0.1', port: a1!.port });
    expect(plain.getAttribute(C.STUN_ATTR_OTHER_ADDRESS!)?.value).toEqual({ family: 'IPv4', address: '127.0.0.1', port: a2!.port });

    const change = pkgBindingRequest((m) => m.addAttribute(C.STUN_ATTR_CHANGE_REQUEST!, 0x02)); // change port
    const answer = await rawExchange(socket, stun.encode(change), a1!.port, change.transactionId);
    expect(answer).toBeDefined();
    expect(answer!.rinfo.port).toBe(a2!.port);
    const decoded = stun.decode(answer!.raw);
    expect(decoded.type).toBe(C.STUN_BINDING_RESPONSE);
    expect(stun.validateFingerprint(decoded)).toBe(true);
    expect(decoded.getAttribute(C.STUN_ATTR_RESPONSE_ORIGIN!)?.value).toEqual({ family: 'IPv4', address: '127.0.0.1', port: a2!.port });
    expect(decoded.getXorAddress()?.port).toBe(socket.address().port);

    // Change-IP on a one-IP server: an error response the package decodes as 420.
    const changeIp = pkgBindingRequest((m) => m.addAttribute(C.STUN_ATTR_CHANGE_REQUEST!, 0x04));
    const refused = await rawExchange(socket, stun.encode(changeIp), a1!.port, changeIp.transactionId);
    expect(refused).toBeDefined();
    const err = stun.decode(refused!.raw);
    expect(err.type).toBe(C.STUN_BINDING_ERROR_RESPONSE);
    // stun 2.1.0 decodes ERROR-CODE as class * (number + 100) (480 here), and so re-encodes it wrongly,
    // which breaks its validateFingerprint (it re-encodes the message): check both on the raw bytes.
    expect(errorCodeOf(refused!.raw)).toBe(420);
    expect(rawFingerprintOk(refused!.raw)).toBe(true);
  });

  it('TCP: the package’s encoded Binding over a TCP connection, its decoder reads the answer', async () => {
    const listener = await startListener({ listen: '127.0.0.1:0' });
    const port = listener.addresses().tcp[0]!.port;
    const sock = connect({ host: '127.0.0.1', port });
    cleanup.push(() => sock.destroy());
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    /** Reads whole STUN messages off the stream (20-byte header + its length field). */
    const nextMessage = async (): Promise<StunPkgMessage> => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const buf = Buffer.concat(chunks);
        if (buf.length >= 20 && buf.length >= 20 + buf.readUInt16BE(2)) {
          const total = 20 + buf.readUInt16BE(2);
          chunks.splice(0, chunks.length, buf.subarray(total));
          return stun.decode(buf.subarray(0, total));
        }
        if (Date.now() > deadline) throw new Error('no STUN answer on the TCP connection');
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    const req = pkgBindingRequest();
    sock.write(stun.encode(req));
    const res = await nextMessage();
    expect(res.transactionId.equals(req.transactionId)).toBe(true);
    expect(res.type).toBe(C.STUN_BINDING_RESPONSE);
    expect(res.getXorAddress()).toEqual({ family: 'IPv4', address: '127.0.0.1', port: sock.localPort });
    expect(res.getSoftware()).toBe(SOFTWARE);
    expect(stun.validateFingerprint(res)).toBe(true);

    // Two requests in one write, both answered in order on the same connection.
    const [a, b] = [pkgBindingRequest(), pkgBindingRequest()];
    sock.write(Buffer.concat([stun.encode(a), stun.encode(b)]));
    expect((await nextMessage()).transactionId.equals(a.transactionId)).toBe(true);
    expect((await nextMessage()).transactionId.equals(b.transactionId)).toBe(true);
    expect(listener.stats().tcp.responses).toBe(3);
  });
});
