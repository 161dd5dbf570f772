/**
 * yamux micro-benchmark: MuxSession (io/mux/session.ts) against plain sockets, on loopback.
 *
 *   npm run build && node dist/bench/mux.js [--seconds N]
 *
 * The accepting side runs in a child process (this same file with `--peer`), so the two ends do
 * not share an event loop, as the relay's server and client do not. Each measurement runs N
 * seconds (default 3):
 *
 * 1. single-stream throughput: one stream (or one socket) written as fast as backpressure allows;
 *    the peer counts what it received and answers with the count once it sees the end. Rate =
 *    bytes / time until that answer.
 * 2. open + 1-byte echo + close per second, 32 at a time: a new stream on one long-lived session,
 *    against a new connection each time. Close = end() both ways, waiting for 'close'.
 *
 * Both over plain TCP and over TLS (self-signed, created in memory by the peer).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { MuxSession } from '../io/mux/session.js';

const HOST = '127.0.0.1';
const WORKERS = 32;
const CHUNK = 64 * 1024;
const MODE_SINK = 0x53; // 'S'
const MODE_ECHO = 0x45; // 'E'

interface PeerPorts {
  tcp: number;
  tcpMux: number;
  tls: number;
  tlsMux: number;
}

// ---- the peer (child process) -------------------------------------------------------------------

/**
 * One connection or stream: the first byte picks the mode. 'E': echo everything (that byte
 * included) and end when the other side ends. 'S': count the rest and answer the count on end.
 */
function serve(d: Duplex): void {
  d.on('error', () => d.destroy());
  let received = -1;
  const onData = (chunk: Buffer): void => {
    if (received < 0 && chunk[0] === MODE_ECHO) {
      d.off('data', onData);
      d.write(chunk);
      d.pipe(d);
      return;
    }
    received += chunk.length;
  };
  d.on('data', onData);
  d.on('end', () => {
    if (received >= 0) d.end(String(received));
  });
}

function serveMux(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
  const session = new MuxSession(socket, { client: false, keepAliveMs: 0, maxStreams: 4096 });
  session.on('error', () => {});
  session.on('stream', serve);
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, backlog: 4096 }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

async function runPeer(): Promise<void> {
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'burrow-bench' }], {
    keyType: 'ec',
    algorithm: 'sha256',
  } as Parameters<typeof generate>[1]);
  const tlsOptions = { cert: pems.cert, key: pems.private };
  const ports: PeerPorts = {
    tcp: await listen(net.createServer({ noDelay: true }, serve)),
    tcpMux: await listen(net.createServer({ noDelay: true }, serveMux)),
    tls: await listen(tls.createServer(tlsOptions, serve)),
    tlsMux: await listen(tls.createServer(tlsOptions, serveMux)),
  };
  process.send!(ports);
  process.on('disconnect', () => process.exit(0));
}

// ---- the measuring side -------------------------------------------------------------------------

type Opener = () => Promise<Duplex>;

const connectTcp = (port: number): Opener => async () => {
  const s = net.connect({ host: HOST, port, noDelay: true });
  await once(s, 'connect');
  return s;
};

const connectTls = (port: number): Opener => async () => {
  const s = tls.connect({ host: HOST, port, rejectUnauthorized: false });
  s.setNoDelay(true);
  await once(s, 'secureConnect');
  return s;
};

async function muxOver(open: Opener): Promise<{ open: Opener; session: MuxSession }> {
  const session = new MuxSession(await open(), { client: true, keepAliveMs: 0, maxStreams: 4096 });
  session.on('error', (err) => process.stderr.write(`mux session error: ${err.message}\n`));
  return { session, open: async () => session.openStream() };
}

/** MB/s (10^6 bytes) through one stream for `seconds`. */
async function throughput(open: Opener, seconds: number): Promise<number> {
  const d = await open();
  const reply = new Promise<number>((resolve, reject) => {
    let text = '';
    d.on('data', (c: Buffer) => (text += c.toString()));
    d.on('end', () => resolve(Number(text)));
    d.on('error', reject);
  });
  const buf = Buffer.alloc(CHUNK, 0x61);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  d.write(Buffer.from([MODE_SINK]));
  while (performance.now() < end) {
    // Write until backpressure, then wait for drain (checking the clock every 1 MiB or so).
    for (let i = 0; i < 16; i++) {
      sent += buf.length;
      if (!d.write(buf)) {
        await once(d, 'drain');
        break;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  d.end();
  const received = await reply;
  const elapsed = (performance.now() - t0) / 1000;
  if (received !== sent) throw new Error(`peer received ${received} of ${sent} bytes`);
  d.destroy();
  return received / elapsed / 1e6;
}

/** One open + 1-byte echo + clean close (end both ways, 'close' seen). */
async function roundTrip(open: Opener): Promise<void> {
  const d = await open();
  await new Promise<void>((resolve, reject) => {
    let echoed = false;
    d.on('error', reject);
    d.on('data', () => {
      if (!echoed) {
        echoed = true;
        d.end();
      }
    });
    d.on('close', () => (echoed ? resolve() : reject(new Error('closed before the echo'))));
    d.write(Buffer.from([MODE_ECHO]));
  });
}

/** Round trips per second, WORKERS at a time, for `seconds`. */
async function rate(open: Opener, seconds: number): Promise<number> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let ok = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await roundTrip(open);
      ok++;
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  return ok / ((performance.now() - t0) / 1000);
}

interface Row {
  name: string;
  unit: string;
  base: number;
  mux: number;
}

function renderTable(rows: Row[]): string {
  const head = ['measurement', 'plain', 'mux', 'mux / plain'];
  const body = rows.map((r) => [
    `${r.name} (${r.unit})`,
    r.base.toFixed(r.base < 100 ? 1 : 0),
    r.mux.toFixed(r.mux < 100 ? 1 : 0),
    `${(r.mux / r.base).toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const log = (msg: string): void => {
  process.stderr.write(`[bench mux] ${msg}\n`);
};

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i >= 0 ? Number(process.argv[i + 1]) : 3;
  if (!(seconds > 0)) throw new Error('--seconds needs a positive number');

  const peer: ChildProcess = fork(fileURLToPath(import.meta.url), ['--peer'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [ports] = (await once(peer, 'message')) as [PeerPorts];
    const rows: Row[] = [];
    for (const [label, connect, port, muxPort] of [
      ['TCP', connectTcp, ports.tcp, ports.tcpMux],
      ['TLS', connectTls, ports.tls, ports.tlsMux],
    ] as const) {
      const plain = connect(port);
      const mux = await muxOver(connect(muxPort));
      // Warm up both paths (JIT, TLS session state) before measuring.
      await rate(plain, 0.3);
      await rate(mux.open, 0.3);

      log(`${label}: single-stream throughput, plain socket, ${seconds} s`);
      const tBase = await throughput(plain, seconds);
      log(`${label}: single-stream throughput, mux stream, ${seconds} s`);
      const tMux = await throughput(mux.open, seconds);
      rows.push({ name: `${label} single-stream throughput`, unit: 'MB/s', base: tBase, mux: tMux });

      log(`${label}: new connection + 1-byte echo + close, ${WORKERS} at a time, ${seconds} s`);
      const rBase = await rate(plain, seconds);
      log(`${label}: new mux stream + 1-byte echo + close, ${WORKERS} at a time, ${seconds} s`);
      const rMux = await rate(mux.open, seconds);
      rows.push({ name: `${label} open+echo+close`, unit: '/s', base: rBase, mux: rMux });
      mux.session.close();
    }
    process.stdout.write(`\nyamux over loopback, ${seconds} s per measurement (plain = raw socket / new connection each time)\n\n`);
    process.stdout.write(`${renderTable(rows)}\n`);
  } finally {
    peer.disconnect();
  }
}

if (process.argv.includes('--peer')) {
  runPeer().catch((err: unknown) => {
    process.stderr.write(`bench peer: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`bench mux: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
