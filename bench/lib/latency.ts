/**
 * Open-loop request/response latency: fixed-size requests are sent on a fixed schedule
 * (rate per second, round-robin over persistent connections, pipelined if a reply is late)
 * and each reply's latency is measured from the request's *scheduled* send time, so stalls
 * are not hidden (no coordinated omission). Replies that never arrive count as infinite.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { HOST } from './ports.js';
import { percentile, sortedCopy } from './stats.js';

export interface LatencyOptions {
  port: number;
  /** Requests per second across all connections. */
  rate: number;
  /** Measured duration (after warm-up). */
  seconds: number;
  warmupSeconds: number;
  connections?: number;
  size?: number;
  /** How long to wait for stragglers after the last scheduled send. */
  drainMs?: number;
  /** Busy-poll with setImmediate instead of 1 ms timers (tighter sends, but burns a core). */
  spin?: boolean;
}

export interface LatencyResult {
  rate: number;
  measured: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of (actual send time - scheduled time): the generator's own timer slack, included in the figures above. */
  sendLagP99Ms: number;
}

interface Conn {
  sock: net.Socket;
  queue: number[];
  head: number;
  pending: number;
  broken: boolean;
}

function connect(port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port, noDelay: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect to :${port} timed out`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function runLatency(opts: LatencyOptions): Promise<LatencyResult> {
  const n = opts.connections ?? 16;
  const size = opts.size ?? 64;
  const drainMs = opts.drainMs ?? 2000;
  const interval = 1000 / opts.rate;
  const total = Math.max(1, Math.round(opts.rate * (opts.warmupSeconds + opts.seconds)));
  const warm = Math.min(total - 1, Math.round(opts.rate * opts.warmupSeconds));
  const payload = Buffer.alloc(size, 0x61);

  const settled = await Promise.allSettled(Array.from({ length: n }, () => connect(opts.port, 5000)));
  const socks = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    for (const s of socks) s.destroy();
    throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
  }
  const conns: Conn[] = socks.map((sock) => ({ sock, queue: [], head: 0, pending: 0, broken: false }));

  const latency = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  const lag = new Float64Array(total);
  let received = 0;
  let start = 0;
  let onAllReceived: (() => void) | undefined;

  for (const c of conns) {
    c.sock.on('data', (chunk: Buffer) => {
      const now = performance.now();
      c.pending += chunk.length;
      while (c.pending >= size && c.head < c.queue.length) {
        c.pending -= size;
        const idx = c.queue[c.head++]!;
        latency[idx] = now - (start + idx * interval);
        received++;
      }
      if (received === total) onAllReceived?.();
    });
    c.sock.on('error', () => {
      c.broken = true;
    });
    c.sock.on('close', () => {
      c.broken = true;
    });
  }

  const allReceived = new Promise<void>((resolve) => (onAllReceived = resolve));
  start = performance.now() + 5;
  let next = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const c = conns[next % n]!;
        lag[next] = now - (start + next * interval);
        if (!c.broken) {
          c.queue.push(next);
          c.sock.write(payload);
        }
        next++;
      }
      if (next < total) {
        if (opts.spin) setImmediate(pump);
        else setTimeout(pump, 0);
      }
      else resolve();
    };
    setTimeout(pump, 5);
  });

  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([allReceived, new Promise<void>((r) => (drainTimer = setTimeout(r, drainMs)))]);
  clearTimeout(drainTimer);
  for (const c of conns) c.sock.destroy();

  const measured = sortedCopy(latency.subarray(warm));
  const lags = sortedCopy(lag.subarray(warm));
  let lost = 0;
  let maxMs = 0;
  for (const v of measured) {
    if (v === Number.POSITIVE_INFINITY) lost++;
    else if (v > maxMs) maxMs = v;
  }
  return {
    rate: opts.rate,
    measured: measured.length,
    lost,
    p50Ms: percentile(measured, 50),
    p99Ms: percentile(measured, 99),
    maxMs,
    sendLagP99Ms: percentile(lags, 99),
  };
}
