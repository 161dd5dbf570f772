/**
 * UDP socket micro-benchmark (issue 12): what one received + sent datagram costs the server in CPU
 * (process.cpuUsage), per socket implementation, on loopback. The server (bench/lib/udp-io-server.ts)
 * echoes every datagram; this process generates the load with node:dgram, so the offered load is the
 * same for every implementation.
 *
 *   node dist/bench/udp-io.js [--runs 5] [--messages 200000] [--window 64] [--size 174]
 *                             [--burst 22000] [--burst-ms 0] [--impl dgram,batch,udx,dgram-batch,udx-batch]
 *
 * flood: `messages` datagrams of `size` bytes (174 = a 170-byte ChannelData payload + its header,
 *        as the flood scenario of bench:turn), at most `window` unanswered at once (closed loop).
 *        Figure: the server's user+system CPU over the run / datagrams it received.
 * burst: `burst` datagrams sent from 2 sockets (open loop), back to back or spread evenly over
 *        `burst-ms` (issue 12's burst: 22,000 in 600 ms), then 1 s to drain.
 *        Figure: datagrams the server's socket dropped (its /proc/net/udp "drops" column).
 * Runs alternate between the implementations (a, b, c, a, b, c, ...), each with a fresh server;
 * medians are printed. The server is pinned to core 1 and this process to core 0 (taskset).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { literalLookup } from '../io/literal-lookup.js';
import { procNetPort, procNetRows } from './lib/proc-net.js';
import { distBench } from './lib/root.js';
import { sleep } from './lib/stats.js';

interface Options {
  runs: number;
  messages: number;
  window: number;
  size: number;
  burst: number;
  /** Spread the burst over this many ms (0: back to back). */
  burstMs: number;
  impls: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 5, messages: 200_000, window: 64, size: 174, burst: 22_000, burstMs: 0, impls: ['dgram', 'batch', 'udx', 'dgram-batch', 'udx-batch'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--impl') o.impls = v.split(',');
    else if (a === '--burst-ms') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a}: not a whole number: ${v}`);
      o.burstMs = n;
    } else if (a === '--runs' || a === '--messages' || a === '--window' || a === '--size' || a === '--burst') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a}: not a positive integer: ${v}`);
      o[a.slice(2) as 'runs' | 'messages' | 'window' | 'size' | 'burst'] = n;
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

interface Mark {
  user: number;
  system: number;
  received: number;
}

class Server {
  private waiting: ((m: Record<string, unknown>) => void) | undefined;
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly rcvbuf: number,
  ) {
    child.on('message', (m) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m as Record<string, unknown>);
    });
  }

  static async start(impl: string): Promise<Server> {
    const script = path.join(distBench, 'lib', 'udp-io-server.js');
    const child = spawn('taskset', ['-c', '1', process.execPath, script, impl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`server ${impl} exited (${String(code)})`)));
    });
    if (!ready.ready) throw new Error(String(ready.error));
    return new Server(child, Number(ready.port), Number(ready.rcvbuf));
  }

  mark(): Promise<Mark> {
    return new Promise((resolve) => {
      this.waiting = (m) => resolve({ user: Number(m.user), system: Number(m.system), received: Number(m.received) });
      this.child.send('mark');
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send('exit');
    await exited;
  }
}

/** The kernel's drop counter of the UDP socket bound to 127.0.0.1:port. */
function socketDrops(port: number): number {
  for (const cols of procNetRows(['udp'])) {
    if (procNetPort(cols[1]!) === port && cols[1]!.startsWith('0100007F')) return Number(cols[12]);
  }
  return NaN;
}

async function bindClient(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', lookup: literalLookup, recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

interface FloodResult {
  usPerDatagram: number;
  pps: number;
  received: number;
  lost: number;
  drops: number;
}

async function flood(server: Server, o: Options): Promise<FloodResult> {
  const client = await bindClient();
  const payload = Buffer.alloc(o.size, 0x40);
  let sent = 0;
  let echoed = 0;
  let lastEcho = performance.now();
  const drops0 = socketDrops(server.port);
  const before = await server.mark();
  const t0 = performance.now();
  let stall: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    const send = (): void => {
      sent++;
      client.send(payload, server.port, '127.0.0.1');
    };
    client.on('message', () => {
      echoed++;
      lastEcho = performance.now();
      if (sent < o.messages) send();
      else if (echoed >= sent) resolve();
    });
    // Lost datagrams shrink the window: refill it when nothing came back for 20 ms.
    stall = setInterval(() => {
      if (performance.now() - lastEcho < 20) return;
      if (sent >= o.messages) {
        resolve();
        return;
      }
      lastEcho = performance.now();
      for (let i = 0; i < o.window && sent < o.messages; i++) send();
    }, 10);
    for (let i = 0; i < o.window; i++) send();
  });
  await done;
  clearInterval(stall);
  const seconds = (performance.now() - t0) / 1000;
  const after = await server.mark();
  client.close();
  const received = after.received - before.received;
  const cpu = after.user + after.system - before.user - before.system;
  return { usPerDatagram: cpu / received, pps: echoed / seconds, received, lost: sent - echoed, drops: socketDrops(server.port) - drops0 };
}

interface BurstResult {
  drops: number;
  received: number;
  sendSeconds: number;
}

async function burst(server: Server, o: Options): Promise<BurstResult> {
  const senders = [await bindClient(), await bindClient()];
  const payload = Buffer.alloc(o.size, 0x40);
  const drops0 = socketDrops(server.port);
  const before = await server.mark();
  const t0 = performance.now();
  if (o.burstMs === 0) {
    for (let i = 0; i < o.burst; i++) senders[i & 1]!.send(payload, server.port, '127.0.0.1');
  } else {
    // Paced: every ms, as many as keep the burst on schedule.
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(o.burst, Math.ceil(((performance.now() - t0) / o.burstMs) * o.burst));
        for (; i < due; i++) senders[i & 1]!.send(payload, server.port, '127.0.0.1');
        if (i >= o.burst) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
  }
  // Sends that did not go out at once are queued in libuv: wait for them too.
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (senders.every((s) => s.getSendQueueCount() === 0)) resolve();
      else setImmediate(check);
    };
    check();
  });
  const sendSeconds = (performance.now() - t0) / 1000;
  await sleep(1000);
  const after = await server.mark();
  for (const s of senders) s.close();
  return { drops: socketDrops(server.port) - drops0, received: after.received - before.received, sendSeconds };
}

/** Echoes of one datagram each of these sizes: an implementation that truncates shows it here. */
const INTEGRITY_SIZES = [1500, 2049, 4000, 9000, 65_000];

async function integrity(server: Server): Promise<string> {
  const client = await bindClient();
  const got: number[] = [];
  client.on('message', (m) => got.push(m.length));
  for (const n of INTEGRITY_SIZES) {
    client.send(Buffer.alloc(n, 0x40), server.port, '127.0.0.1');
    await sleep(20);
  }
  await sleep(100);
  client.close();
  const bad = INTEGRITY_SIZES.filter((n, i) => got[i] !== n).map((n) => `${n} B came back as ${got[INTEGRITY_SIZES.indexOf(n)] ?? 'nothing'}`);
  return bad.length === 0 ? 'intact' : bad.join(', ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  spawnSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  console.log(`udp-io: ${o.runs} runs x [${o.impls.join(', ')}], flood ${o.messages} x ${o.size} B window ${o.window}, burst ${o.burst} in ${o.burstMs || 'no'} ms; node ${process.version}`);
  const floods = new Map<string, FloodResult[]>(o.impls.map((i) => [i, []]));
  const bursts = new Map<string, BurstResult[]>(o.impls.map((i) => [i, []]));
  const rcvbuf = new Map<string, number>();
  const intact = new Map<string, string>();
  for (let r = 1; r <= o.runs; r++) {
    for (const impl of o.impls) {
      const server = await Server.start(impl);
      rcvbuf.set(impl, server.rcvbuf);
      try {
        if (r === 1) intact.set(impl, await integrity(server));
        const f = await flood(server, o);
        floods.get(impl)!.push(f);
        const b = await burst(server, o);
        bursts.get(impl)!.push(b);
        console.log(
          `run ${r} ${impl.padEnd(9)} flood ${f.usPerDatagram.toFixed(2)} µs/datagram, ${Math.round(f.pps)} datagrams/s, lost ${f.lost}, dropped ${f.drops}` +
            ` | burst: sent in ${b.sendSeconds.toFixed(3)} s, received ${b.received}, dropped ${b.drops}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  console.log('\nmedians:');
  console.log(`| implementation | server CPU µs/datagram (flood) | datagrams/s (flood) | burst drops (runs) | SO_RCVBUF granted | datagrams of ${INTEGRITY_SIZES.join('/')} B |`);
  console.log('| --- | ---: | ---: | --- | ---: | --- |');
  for (const impl of o.impls) {
    const f = floods.get(impl)!;
    const b = bursts.get(impl)!;
    console.log(
      `| ${impl} | ${median(f.map((x) => x.usPerDatagram)).toFixed(2)} (${f.map((x) => x.usPerDatagram.toFixed(1)).join(', ')}) | ${Math.round(median(f.map((x) => x.pps)))} | ${b.map((x) => x.drops).join(', ')} | ${rcvbuf.get(impl) || "not reported"} | ${intact.get(impl)} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
