/**
 * Burrow's TURN server (StunTurnListener + TurnServer in-process on 127.0.0.1 port 0) keeps relaying
 * a coturn `turnutils_uclient` run without loss while it is flooded with garbage:
 *   - 10,000 UDP datagrams from several sockets: random bytes and mutations (bit flips, truncation,
 *     wrong length fields, broken attribute headers, appended junk, concatenations) of valid messages:
 *     Binding, unauthenticated and signed Allocate, signed Refresh / CreatePermission / ChannelBind,
 *     Send indications, ChannelData (bound and unbound channels); some sent unmodified. Some of the
 *     sockets hold real allocations (user "mallory", peer on the fuzz IP), so mutated ChannelData,
 *     Send and signed requests reach live allocation state, not only the decoder;
 *   - a few hundred TCP connections carrying random and mutated byte streams, some of which first
 *     make a real (signed) allocation and then send garbage, reset, or close.
 * The fuzz comes from 127.0.0.2 where that is a local address (from 127.0.0.1 otherwise) and its
 * mutations come from a seeded PRNG: the seed is printed; BURROW_FUZZ_SEED=<n> replays one.
 *
 * Skipped when turnutils_uclient is missing, except under CI (CI=1), where the tests fail instead.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { StunConfigSchema, TurnConfigSchema } from '../../shared/config/server-config.js';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { decodeStun, encodeChannelData, getAttribute, type DecodedStunMessage, type StunAttribute } from '../../shared/stun/message.js';
import { StunStreamDecoder } from '../../shared/stun/stream.js';
import { StunTurnListener } from '../stun/stun-listener.js';
import { build, type Credentials } from './test-helpers.js';
import { createTurnServer } from '../create-turn-server.js';
import type { TurnServer } from './turn-server.js';

const REQUIRED = !!process.env.CI;
function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const UCLIENT = which('turnutils_uclient');
if (!UCLIENT && !REQUIRED) console.warn('fuzz-during-relay: turnutils_uclient (coturn) is not installed; skipping (apt-get install -y coturn)');

const SEED = (process.env.BURROW_FUZZ_SEED ? Number(process.env.BURROW_FUZZ_SEED) : 0x5eed_2024) >>> 0;

const UDP_DATAGRAMS = 10_000;
const UDP_BATCH = 64; // datagrams between two sentinel Bindings (bounds what is queued at the server)
const UDP_FUZZ_SOCKETS = 8;
const UDP_ALLOCATED_SOCKETS = 4;
const TCP_CONNECTIONS = 300;
const TCP_AUTH_EVERY = 8; // every 8th TCP connection allocates for real first
const TCP_WORKERS = 12;
const FUZZ_SPAN_MS = 6_000; // spread the fuzz over this long, inside uclient's ~9 s run

const UCLIENT_MESSAGES = 200;
const UCLIENT_LENGTH = 170;
const UCLIENT_CLIENTS = 2; // -y: two clients talking to each other

const ALICE: Credentials = { username: 'alice', password: 'secret', realm: 'burrow' };
const MALLORY: Credentials = { username: 'mallory', password: 'mallory-pass', realm: 'burrow' };

/** mulberry32: small, fast, and the same on every platform. */
function prng(seed: number): { int(n: number): number; bytes(n: number): Buffer } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
type Rng = ReturnType<typeof prng>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(check: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function canBind(ip: string): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(0, ip, () => s.close(() => resolve(true)));
  });
}

async function udpSocket(ip: string): Promise<UdpSocket> {
  const s = createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.bind(0, ip, () => resolve()));
  cleanup.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

/** Sends `bytes` (retransmitting every 250 ms) and resolves with the STUN answer to its transaction. */
function udpTransaction(socket: UdpSocket, bytes: Uint8Array, port: number, timeoutMs = 3_000): Promise<DecodedStunMessage> {
  const tid = Buffer.from(bytes.subarray(8, 20));
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      if (data.length < 20 || !data.subarray(8, 20).equals(tid)) return;
      try {
        const m = decodeStun(data);
        done();
        resolve(m);
      } catch {
        // not for us
      }
    };
    const send = () => socket.send(bytes, port, '127.0.0.1');
    const retransmit = setInterval(send, 250);
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no answer to a STUN transaction from ${socket.address().port}`));
    }, timeoutMs);
    const done = () => {
      clearInterval(retransmit);
      clearTimeout(timer);
      socket.off('message', onMessage);
    };
    socket.on('message', onMessage);
    send();
  });
}

function uclient(args: string[]): Promise<{ code: number | string; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(UCLIENT ?? 'turnutils_uclient', args, { timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const e = err as NodeJS.ErrnoException | null;
      resolve({ code: e ? (e.code ?? 1) : 0, out: stdout + stderr });
    });
    cleanup.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // a test that failed early
    });
  });
}

/** The last "tot_send_X=..., tot_recv_X=..." pair uclient printed (its totals). */
function totals(out: string, what: 'msgs' | 'bytes'): { send: number; recv: number } | undefined {
  const re = what === 'msgs' ? /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g : /tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)/g;
  const all = [...out.matchAll(re)];
  const last = all[all.length - 1];
  return last ? { send: Number(last[1]), recv: Number(last[2]) } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Mutations

/** Offsets of the attribute headers of a STUN message (as far as they parse). */
function attributeOffsets(msg: Buffer): number[] {
  const offsets: number[] = [];
  for (let o = 20; o + 4 <= msg.length; ) {
    offsets.push(o);
    o += 4 + Math.ceil(msg.readUInt16BE(o + 2) / 4) * 4;
  }
  return offsets;
}

interface Seed {
  bytes: Buffer;
  stun: boolean;
  /** Sent unmodified now and then (harmless valid traffic: no allocation can come of it). */
  replayable: boolean;
}

/**
 * A fuzz datagram: random bytes, a mutation of a seed, or a replayable seed unchanged. A signed
 * Allocate must not survive as a valid one (sent from a fuzz socket it would make a real allocation):
 * a mutation can leave the seed as it was (two flips of one bit, a length set to its own value) or
 * touch only what follows MESSAGE-INTEGRITY (the FINGERPRINT's type turned into an unknown
 * attribute, which RFC 8489 §14.5 has receivers ignore). Those get their transaction ID damaged.
 */
function mutate(rng: Rng, seeds: readonly Seed[]): Buffer {
  const kind = rng.int(10);
  if (kind === 0 || kind === 9) return mutateOnce(rng, seeds, kind);
  const seed = seeds[rng.int(seeds.length)]!;
  const out = mutateOnce(rng, [seed], kind);
  if (out.equals(seed.bytes)) out[rng.int(out.length)]! ^= 1 << rng.int(8);
  if (isSignedAllocate(out)) out[8 + rng.int(12)]! ^= 1 << rng.int(8);
  return out;
}

function isSignedAllocate(bytes: Buffer): boolean {
  try {
    const m = decodeStun(bytes);
    return m.method === StunMethod.Allocate && m.cls === StunClass.Request && (m.integrityOffset !== undefined || m.integritySha256Offset !== undefined);
  } catch {
    return false;
  }
}

function mutateOnce(rng: Rng, seeds: readonly Seed[], kind: number): Buffer {
  if (kind === 0) {
    // Random bytes; half of them behind a plausible STUN header (magic cookie, random type and length).
    const body = rng.bytes(rng.int(300));
    if (rng.int(2) === 0) return body;
    const header = Buffer.alloc(20);
    header.writeUInt16BE(rng.int(0x4000), 0);
    header.writeUInt16BE(rng.int(2) === 0 ? body.length : rng.int(0x10000), 2);
    header.writeUInt32BE(0x2112a442, 4);
    rng.bytes(12).copy(header, 8);
    return Buffer.concat([header, body]);
  }
  const seed = seeds[rng.int(seeds.length)]!;
  const d = Buffer.from(seed.bytes);
  switch (kind) {
    case 1:
    case 2: {
      for (let k = 0, n = 1 + rng.int(4); k < n; k++) d[rng.int(d.length)]! ^= 1 << rng.int(8); // bit flips
      return d;
    }
    case 3:
      return d.subarray(0, rng.int(d.length)); // truncation
    case 4: {
      // Wrong length field (STUN header, or ChannelData header).
      d.writeUInt16BE(rng.int(3) === 0 ? rng.int(0x10000) : Math.max(0, d.readUInt16BE(2) + (rng.int(17) - 8) * 4 + rng.int(2)), 2);
      return d;
    }
    case 5: {
      // A broken attribute header: random type or length.
      const offsets = seed.stun ? attributeOffsets(d) : [];
      if (offsets.length === 0) return rng.bytes(1 + rng.int(64));
      const at = offsets[rng.int(offsets.length)]!;
      if (rng.int(2) === 0) d.writeUInt16BE(rng.int(0x10000), at);
      else d.writeUInt16BE(rng.int(2) === 0 ? rng.int(0x10000) : rng.int(64), at + 2);
      return d;
    }
    case 6: {
      // Junk appended, sometimes with the header length "fixed" to cover it.
      const junk = rng.bytes(1 + rng.int(40));
      const out = Buffer.concat([d, junk]);
      if (seed.stun && rng.int(2) === 0) out.writeUInt16BE(out.length - 20 > 0xffff ? 0xffff : out.length - 20, 2);
      return out;
    }
    case 7:
      return Buffer.concat([d, d.subarray(0, 20 + rng.int(Math.max(1, d.length - 20)))]); // a message and part of it again
    case 8: {
      // The magic cookie or the transaction ID damaged.
      if (d.length >= 20) d[4 + rng.int(16)] = rng.int(256);
      return d;
    }
    default: {
      // Valid traffic mixed in, unmodified.
      const replayable = seeds.filter((s) => s.replayable);
      return Buffer.from(replayable[rng.int(replayable.length)]!.bytes);
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface Server {
  listener: StunTurnListener;
  turn: TurnServer;
  port: number;
}

async function startServer(): Promise<Server> {
  const turn = createTurnServer(
    TurnConfigSchema.parse({
      users: { [ALICE.username]: ALICE.password, [MALLORY.username]: MALLORY.password },
      relayIps: ['127.0.0.1'],
      allowPeers: ['127.0.0.0/8'],
      userQuota: 200,
      // The 401 limiter is per source IP; it is not under test here and would silence most of the fuzz.
      unauthorizedPerMinute: 1_000_000,
    }),
    { logger: silentLogger(), crypto: nodeStunCrypto, software: 'burrow-fuzz', serverAddresses: [] },
  );
  const listener = new StunTurnListener(StunConfigSchema.parse({ listen: '127.0.0.1:0' }), { logger: silentLogger(), software: 'burrow-fuzz', turn });
  await listener.start();
  cleanup.push(async () => {
    await listener.stop();
    await turn.close();
  });
  return { listener, turn, port: listener.addresses().udp[0]!.port };
}

describe.skipIf(!UCLIENT && !REQUIRED)('TURN relaying survives a fuzz flood (coturn turnutils_uclient)', () => {
  for (const [name, flags] of [
    ['UDP', []],
    ['TCP', ['-t']],
  ] as const) {
    it(`uclient over ${name} loses nothing while 10,000 datagrams and ${TCP_CONNECTIONS} TCP connections of garbage arrive`, async () => {
      expect(UCLIENT, 'turnutils_uclient not found on PATH (apt-get install -y coturn)').toBeDefined();
      console.log(`fuzz-during-relay (${name}): PRNG seed ${SEED} (BURROW_FUZZ_SEED=${SEED} reproduces these mutations)`);
      const rng = prng(SEED);
      const { listener, turn, port } = await startServer();
      const fuzzIp = (await canBind('127.0.0.2')) ? '127.0.0.2' : '127.0.0.1';

      // A peer for mallory's allocations, on the fuzz IP, echoing what it gets. Permissions are per IP, and
      // uclient's relayed addresses are on 127.0.0.1: mutated peer addresses cannot reach uclient unless the
      // fuzz itself has to run from 127.0.0.1 (then no allocations are made by the fuzz).
      const withAllocations = fuzzIp !== '127.0.0.1';
      const sink = await udpSocket(fuzzIp);
      let sinkReceived = 0;
      sink.on('message', (data: Buffer, rinfo: RemoteInfo) => {
        sinkReceived++;
        sink.send(data, rinfo.port, rinfo.address);
      });
      const peer = { family: 'IPv4' as const, address: fuzzIp, port: sink.address().port };

      // Fuzz sockets; the first UDP_ALLOCATED_SOCKETS get a real allocation, permission and channel 0x4000.
      const sockets: UdpSocket[] = [];
      for (let i = 0; i < UDP_FUZZ_SOCKETS + UDP_ALLOCATED_SOCKETS; i++) {
        const s = await udpSocket(fuzzIp);
        s.on('message', () => {}); // answers to the fuzz: read and ignored
        sockets.push(s);
      }
      const tid = () => new Uint8Array(rng.bytes(12));
      const challenge = await udpTransaction(sockets[0]!, build(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], { transactionId: tid() }).raw, port);
      expect(getAttribute(challenge, 'ERROR-CODE')?.code).toBe(401);
      const nonce = getAttribute(challenge, 'NONCE')!.value;
      const realm = getAttribute(challenge, 'REALM')!.value;
      expect(realm).toBe(MALLORY.realm);
      const signed = (method: number, attributes: StunAttribute[], credentials = MALLORY) =>
        Buffer.from(build(method, attributes, { transactionId: tid(), auth: { credentials, nonce } }).raw);

      const allocated = withAllocations ? sockets.slice(0, UDP_ALLOCATED_SOCKETS) : [];
      for (const s of allocated) {
        const steps: Array<[number, StunAttribute[]]> = [
          [StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }]],
          [StunMethod.CreatePermission, [{ type: 'XOR-PEER-ADDRESS', address: peer }]],
          [StunMethod.ChannelBind, [{ type: 'CHANNEL-NUMBER', channel: 0x4000 }, { type: 'XOR-PEER-ADDRESS', address: peer }]],
        ];
        for (const [method, attributes] of steps) {
          const answer = await udpTransaction(s, signed(method, attributes), port);
          expect(answer.cls, `fuzz setup: method ${method} → ${getAttribute(answer, 'ERROR-CODE')?.code}`).toBe(StunClass.SuccessResponse);
        }
      }
      expect(turn.allocationsInfo().filter((a) => a.username === MALLORY.username)).toHaveLength(allocated.length);

      const payload = rng.bytes(48);
      const seeds: Seed[] = [
        { bytes: Buffer.from(build(StunMethod.Binding, [], { transactionId: tid() }).raw), stun: true, replayable: true },
        { bytes: Buffer.from(build(StunMethod.Binding, [{ type: 'SOFTWARE', value: 'fuzz' }, { type: 'CHANGE-REQUEST', changeIp: false, changePort: false }], { transactionId: tid() }).raw), stun: true, replayable: true },
        { bytes: Buffer.from(build(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], { transactionId: tid() }).raw), stun: true, replayable: true },
        { bytes: signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'LIFETIME', seconds: 600 }]), stun: true, replayable: false },
        { bytes: signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], ALICE), stun: true, replayable: false },
        { bytes: signed(StunMethod.Refresh, [{ type: 'LIFETIME', seconds: 600 }]), stun: true, replayable: withAllocations },
        { bytes: signed(StunMethod.CreatePermission, [{ type: 'XOR-PEER-ADDRESS', address: peer }]), stun: true, replayable: withAllocations },
        { bytes: signed(StunMethod.ChannelBind, [{ type: 'CHANNEL-NUMBER', channel: 0x4000 }, { type: 'XOR-PEER-ADDRESS', address: peer }]), stun: true, replayable: withAllocations },
        { bytes: Buffer.from(build(StunMethod.Send, [{ type: 'XOR-PEER-ADDRESS', address: peer }, { type: 'DATA', data: payload }], { cls: StunClass.Indication, transactionId: tid() }).raw), stun: true, replayable: true },
        { bytes: Buffer.from(encodeChannelData(0x4000, payload)), stun: false, replayable: true },
        { bytes: Buffer.from(encodeChannelData(0x4001, payload)), stun: false, replayable: true },
        { bytes: Buffer.from(encodeChannelData(0x7fff, payload.subarray(0, 5))), stun: false, replayable: true },
        // A response and a Data indication from a client: never valid in this direction.
        { bytes: Buffer.from(build(StunMethod.Binding, [{ type: 'XOR-MAPPED-ADDRESS', address: peer }], { cls: StunClass.SuccessResponse, transactionId: tid() }).raw), stun: true, replayable: true },
        { bytes: Buffer.from(build(StunMethod.Data, [{ type: 'XOR-PEER-ADDRESS', address: peer }, { type: 'DATA', data: payload }], { cls: StunClass.Indication, transactionId: tid() }).raw), stun: true, replayable: true },
      ];
      // Every datagram and its socket, decided up front from the seed.
      const datagrams = Array.from({ length: UDP_DATAGRAMS }, () => ({ bytes: mutate(rng, seeds), socket: sockets[rng.int(sockets.length)]! }));
      const tcpPlans = Array.from({ length: TCP_CONNECTIONS }, (_, i) => ({
        auth: withAllocations && i % TCP_AUTH_EVERY === 0,
        after: rng.int(3), // 0: garbage, 1: reset, 2: close (auth connections)
        bytes: rng.int(4) === 0 ? rng.bytes(1 + rng.int(400)) : Buffer.concat(Array.from({ length: 1 + rng.int(3) }, () => mutate(rng, seeds))),
      }));

      const udpBefore = listener.stats().udp;
      const fuzzPorts = new Set(sockets.map((s) => s.address().port));

      // --- the run ---
      const run = uclient([
        '-y', '-c', '-n', String(UCLIENT_MESSAGES), '-l', String(UCLIENT_LENGTH),
        '-u', ALICE.username, '-w', ALICE.password, '-p', String(port), ...flags, '127.0.0.1',
      ]); // prettier-ignore

      // UDP: batches separated by a sentinel Binding that must be answered (so the server keeps answering,
      // and never has more than a batch of fuzz queued ahead of uclient's datagrams).
      const sentinel = await udpSocket(fuzzIp);
      let sentinels = 0;
      let slowestSentinelMs = 0;
      const timings: Record<string, number> = {};
      const t0Run = Date.now();
      void run.then(() => (timings.uclient = Date.now() - t0Run));
      const udpFuzz = (async () => {
        const pause = FUZZ_SPAN_MS / (UDP_DATAGRAMS / UDP_BATCH);
        for (let i = 0; i < datagrams.length; i += UDP_BATCH) {
          for (const d of datagrams.slice(i, i + UDP_BATCH)) d.socket.send(d.bytes, port, '127.0.0.1');
          const t0 = Date.now();
          const answer = await udpTransaction(sentinel, build(StunMethod.Binding, []).raw, port, 3_000);
          slowestSentinelMs = Math.max(slowestSentinelMs, Date.now() - t0);
          expect(getAttribute(answer, 'XOR-MAPPED-ADDRESS')?.address.port).toBe(sentinel.address().port);
          sentinels++;
          await sleep(pause);
        }
        timings.udpFuzz = Date.now() - t0Run;
      })();

      // TCP: a few hundred connections, TCP_WORKERS at a time.
      let tcpAllocations = 0;
      let tcpClosedByServer = 0;
      const tcpOne = async (plan: (typeof tcpPlans)[number]): Promise<void> => {
        const sock: Socket = connect({ host: '127.0.0.1', port, localAddress: fuzzIp });
        sock.on('error', () => {});
        let closedByServer = false;
        sock.on('end', () => (closedByServer = true));
        const closed = new Promise<void>((r) => sock.once('close', () => r()));
        try {
          await new Promise<void>((resolve, reject) => {
            sock.once('connect', resolve);
            sock.once('error', reject);
          });
          if (plan.auth) {
            const decoder = new StunStreamDecoder();
            const messages: DecodedStunMessage[] = [];
            sock.on('data', (chunk: Buffer) => {
              try {
                for (const item of decoder.push(chunk)) if (item.kind === 'stun') messages.push(decodeStun(item.bytes));
              } catch {
                // garbage from the server would fail the check below
              }
            });
            const req = signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }]);
            sock.write(req);
            const answer = await waitUntil(() => messages.find((m) => Buffer.from(m.transactionId).equals(req.subarray(8, 20))), 'a TCP Allocate answer', 5_000);
            expect(answer.cls).toBe(StunClass.SuccessResponse);
            tcpAllocations++;
            if (plan.after === 0) sock.write(plan.bytes);
            else if (plan.after === 1) sock.resetAndDestroy();
            else sock.end();
          } else {
            sock.write(plan.bytes);
          }
          // Garbage makes the server close; a partial or valid message leaves it waiting: then we close.
          await Promise.race([closed, sleep(300)]);
          if (closedByServer) tcpClosedByServer++;
          sock.end();
          await Promise.race([closed, sleep(2_000)]);
        } finally {
          sock.destroy();
          await closed;
        }
      };
      const tcpFuzz = (async () => {
        const queue = [...tcpPlans];
        // A connection takes ~250 ms (the server closing it, or our 300 ms wait for a partial message).
        const pause = Math.max(0, (FUZZ_SPAN_MS * TCP_WORKERS) / TCP_CONNECTIONS - 250);
        await Promise.all(
          Array.from({ length: TCP_WORKERS }, async () => {
            for (let plan = queue.shift(); plan; plan = queue.shift()) {
              await tcpOne(plan);
              await sleep(pause);
            }
          }),
        );
        timings.tcpFuzz = Date.now() - t0Run;
      })();

      const [{ code, out }] = await Promise.all([run, udpFuzz, tcpFuzz]);
      console.log(out.split('\n').slice(-8).join('\n'));
      console.log(
        `fuzz: ${UDP_DATAGRAMS} datagrams, ${sentinels} sentinel Bindings answered (slowest ${slowestSentinelMs} ms), ` +
          `${TCP_CONNECTIONS} TCP connections (${tcpAllocations} allocated first, ${tcpClosedByServer} closed by the server), ` +
          `${sinkReceived} datagrams relayed to the fuzz peer; ms: ${JSON.stringify(timings)}`,
      );

      // What the uclient user sees: nothing lost, everything sent came back.
      expect(code).toBe(0);
      expect(out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      const total = UCLIENT_CLIENTS * UCLIENT_MESSAGES;
      expect(totals(out, 'msgs')).toEqual({ send: total, recv: total });
      expect(totals(out, 'bytes')).toEqual({ send: total * UCLIENT_LENGTH, recv: total * UCLIENT_LENGTH });

      // The fuzz did arrive, and did reach the allocation paths.
      expect(sentinels).toBe(Math.ceil(UDP_DATAGRAMS / UDP_BATCH));
      expect(listener.stats().udp.dropped - udpBefore.dropped).toBeGreaterThan(1_000);
      if (withAllocations) {
        expect(tcpAllocations).toBe(Math.ceil(TCP_CONNECTIONS / TCP_AUTH_EVERY));
        expect(sinkReceived).toBeGreaterThan(0);
      }

      // The server still answers Binding, over UDP and TCP.
      const probe = await udpSocket('127.0.0.1');
      const binding = await udpTransaction(probe, build(StunMethod.Binding, []).raw, port);
      expect(getAttribute(binding, 'XOR-MAPPED-ADDRESS')?.address).toEqual({ family: 'IPv4', address: '127.0.0.1', port: probe.address().port });
      const tcpProbe = connect({ host: '127.0.0.1', port });
      cleanup.push(() => tcpProbe.destroy());
      const tcpDecoder = new StunStreamDecoder();
      const tcpAnswers: DecodedStunMessage[] = [];
      tcpProbe.on('data', (chunk: Buffer) => {
        for (const item of tcpDecoder.push(chunk)) if (item.kind === 'stun') tcpAnswers.push(decodeStun(item.bytes));
      });
      tcpProbe.write(build(StunMethod.Binding, []).raw);
      const tcpBinding = await waitUntil(() => tcpAnswers[0], 'a Binding answer over TCP');
      expect(getAttribute(tcpBinding, 'XOR-MAPPED-ADDRESS')?.address.port).toBe(tcpProbe.localPort);
      tcpProbe.destroy();

      // Mallory's UDP allocations still work after the flood: a signed Refresh(0) deletes each.
      for (const s of allocated) {
        const answer = await udpTransaction(s, signed(StunMethod.Refresh, [{ type: 'LIFETIME', seconds: 0 }]), port);
        expect(answer.cls).toBe(StunClass.SuccessResponse);
      }

      // No allocation or connection left behind by the fuzz. uclient's UDP run leaves its probe allocation
      // (it never deletes it; it expires after the 777 s uclient asks for); a TCP run leaves none.
      const leftover = await waitUntil(
        () => {
          const all = turn.allocationsInfo();
          const settled = !all.some((a) => a.username === MALLORY.username) && listener.stats().connections.tcp === 0;
          return settled ? all : undefined;
        },
        `mallory's allocations and every TCP connection to go (now: ${JSON.stringify(turn.allocationsInfo())}, ${listener.stats().connections.tcp} TCP)`,
        5_000,
      ).catch(() => turn.allocationsInfo());
      expect(leftover.filter((a) => a.username === MALLORY.username)).toEqual([]);
      expect(listener.stats().connections.tcp).toBe(0);
      expect(leftover.length).toBeLessThanOrEqual(name === 'UDP' ? 1 : 0);
      for (const a of leftover) {
        expect(a.username).toBe(ALICE.username);
        expect(a.client).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
        expect(fuzzPorts.has(Number(a.client.split(':').pop()))).toBe(false);
        expect(a.permissions + a.channels).toBe(0); // the idle probe, not one of the two relaying clients
      }
      expect(turn.stats().allocations).toBe(leftover.length);
    }, 40_000);
  }
});
