#!/usr/bin/env node
// The NAT lab's helper processes (plain Node, no build step), run inside a lab namespace with
// `ip netns exec`, since the test process itself lives outside every lab namespace:
//
//   lab-tool.mjs echo PORT                   TCP echo on 127.0.0.1:PORT (half-close passed on);
//                                            prints {"event":"listening","port":N}
//   lab-tool.mjs transfer PORT BYTES [MS]    connects to 127.0.0.1:PORT, sends BYTES random bytes,
//                                            half-closes, reads the echo to its end; prints
//                                            {"sent","received","sentSha256","receivedSha256",
//                                             "firstByteMs","ms"} (exit 1 with "error" on failure
//                                            or after MS, default 60000)
//   lab-tool.mjs udpecho PORT                UDP echo on 127.0.0.1:PORT; prints {"event":"listening","port":N}
//   lab-tool.mjs udpping PORT COUNT          COUNT datagrams of 1..1200 bytes to 127.0.0.1:PORT, one at a
//                                            time (sent again after 2 s without its echo, 3 tries);
//                                            prints {"ok","bad","lost","ms"}: bad = a reply that is
//                                            not byte for byte a datagram sent
//   lab-tool.mjs watch HOST:PORT MS         polls a client's status endpoint (GET /status, what
//                                            `burrow status --json` prints) every MS ms and prints
//                                            each answer as one JSON line: one light process per
//                                            client instead of a `burrow status` per poll
//   lab-tool.mjs flood MS SESSIONHEX HOST:PORT...
//                                            an attacker who knows a punch session id but not the
//                                            secret: for MS ms sends forged punch probes of that
//                                            session (random MAC), forged udx packets (data, end and
//                                            destroy) for the session's control stream ids and the
//                                            low data stream ids, and garbage, to every target;
//                                            prints {"sent":N}
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function echo(port) {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(port, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }));
}

function udpEcho(port) {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(port, '127.0.0.1', () => out({ event: 'listening', port: s.address().port }));
}

async function udpPing(port, count) {
  const s = createSocket('udp4');
  const sent = new Set();
  let bad = 0;
  let current;
  let done = () => {};
  s.on('message', (m) => {
    const h = m.toString('hex');
    if (current && h === current) {
      current = undefined;
      done();
    } else if (!sent.has(h)) bad++;
  });
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  let ok = 0;
  let lost = 0;
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const d = randomBytes(1 + ((i * 389) % 1200));
    current = d.toString('hex');
    sent.add(current);
    let got = false;
    for (let attempt = 0; attempt < 3 && !got; attempt++) {
      got = await new Promise((r) => {
        const t = setTimeout(() => r(false), 2000);
        done = () => {
          clearTimeout(t);
          r(true);
        };
        s.send(d, port, '127.0.0.1');
      });
    }
    if (got) ok++;
    else lost++;
  }
  out({ ok, bad, lost, ms: Date.now() - t0 });
  s.close();
}

function transfer(port, bytes, timeoutMs) {
  const started = performance.now();
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let got = 0;
  let firstByteMs;
  const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms with ${got} of ${bytes} bytes back`), timeoutMs);
  const fail = (error) => {
    out({ error, received: got });
    process.exit(1);
  };
  const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const chunk = randomBytes(Math.min(left, 64 * 1024));
        left -= chunk.length;
        sent.update(chunk);
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  s.on('data', (d) => {
    firstByteMs ??= performance.now() - started;
    got += d.length;
    received.update(d);
  });
  s.on('error', (err) => fail(err.message));
  s.on('end', () => {
    clearTimeout(timer);
    out({ sent: bytes, received: got, sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), firstByteMs, ms: performance.now() - started });
    s.destroy();
  });
}

// udx-native's wire header (20 bytes): magic 0xff, version 1, type flags, data offset, then the
// receiving stream's id, the receive window, seq and ack, all u32 little-endian.
const UDX_DATA = 0b00001;
const UDX_END = 0b00010;
const UDX_DESTROY = 0b10000;
function udxPacket(type, streamId, seq, payload) {
  const h = Buffer.alloc(20);
  h[0] = 0xff;
  h[1] = 1;
  h[2] = type;
  h[3] = 0;
  h.writeUInt32LE(streamId >>> 0, 4);
  h.writeUInt32LE(0x100000, 8);
  h.writeUInt32LE(seq >>> 0, 12);
  h.writeUInt32LE(0, 16);
  return Buffer.concat([h, payload]);
}

// A punch probe (shared/p2p/probe.ts layout) of the session, with a MAC the sender cannot know.
function forgedProbe(session, kind, dir, nominate, seq) {
  const b = Buffer.alloc(44);
  b.set([0xc2, 0x42, 0x50, 1, kind, dir, nominate ? 1 : 0, 0], 0);
  session.copy(b, 8);
  b.writeUInt32BE(seq >>> 0, 24);
  randomBytes(16).copy(b, 28);
  return b;
}

async function flood(ms, sessionHex, targets) {
  const session = Buffer.from(sessionHex, 'hex');
  if (session.length !== 16) throw new Error('SESSIONHEX must be 32 hex digits');
  const v = session.readUInt32BE(0);
  const offerer = (0x8000_0000 | (v & 0x7fff_fffe)) >>> 0;
  const streamIds = [offerer, offerer + 1];
  for (let i = 1; i <= 32; i++) streamIds.push(i);
  const to = targets.map((t) => {
    const i = t.lastIndexOf(':');
    return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
  });
  const socket = createSocket('udp4');
  await new Promise((r) => socket.bind(0, r));
  let sent = 0;
  const send = (buf, t) =>
    new Promise((r) =>
      socket.send(buf, t.port, t.host, () => {
        sent++;
        r();
      }),
    );
  // FLOOD_KINDS (comma-separated) narrows the attack down, to find which packets hurt: probe,
  // control (udx to the control stream ids), data (udx to the low data stream ids), garbage
  const kinds = new Set((process.env.FLOOD_KINDS ?? 'probe,control,data,garbage').split(','));
  if (!kinds.has('control')) streamIds.splice(0, 2);
  if (!kinds.has('data')) streamIds.splice(kinds.has('control') ? 2 : 0);
  const end = Date.now() + ms;
  let round = 0;
  while (Date.now() < end) {
    round++;
    for (const t of to) {
      if (kinds.has('probe'))
        for (const [kind, dir, nominate] of [
        [1, 1, true],
        [1, 2, false],
        [2, 1, false],
        [2, 2, false],
      ])
        await send(forgedProbe(session, kind, dir, nominate, round), t);
      for (const id of streamIds) {
        // seq near the start of a stream, and random ones
        await send(udxPacket(UDX_DATA, id, round % 64, randomBytes(64)), t);
        await send(udxPacket(UDX_DATA, id, randomBytes(4).readUInt32LE(0), randomBytes(64)), t);
        await send(udxPacket(UDX_DATA | UDX_END, id, round % 64, randomBytes(16)), t);
        await send(udxPacket(UDX_DESTROY, id, round % 64, Buffer.alloc(0)), t);
      }
      if (kinds.has('garbage')) await send(randomBytes(1 + (round % 200)), t);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  socket.close();
  out({ sent });
}

async function watch(admin, intervalMs) {
  for (;;) {
    try {
      const res = await fetch(`http://${admin}/status`, { signal: AbortSignal.timeout(5000) });
      out(res.ok ? await res.json() : { error: `HTTP ${res.status}` });
    } catch (err) {
      out({ error: err.cause?.message ?? err.message });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

try {
  if (mode === 'watch') await watch(args[0], Number(args[1] ?? 250));
  else if (mode === 'echo') echo(Number(args[0] ?? 0));
  else if (mode === 'udpecho') udpEcho(Number(args[0] ?? 0));
  else if (mode === 'udpping') await udpPing(Number(args[0]), Number(args[1] ?? 50));
  else if (mode === 'transfer') transfer(Number(args[0]), Number(args[1]), Number(args[2] ?? 60_000));
  else if (mode === 'flood') await flood(Number(args[0]), args[1], args.slice(2));
  else throw new Error(`unknown mode ${mode}`);
} catch (err) {
  out({ error: err.message });
  process.exit(2);
}
