/**
 * A connection burst and what memory it leaves behind: `count` connections open at once through a
 * path, each sends `bytes` and reads its echo back, then all close. The relay processes' RSS is
 * sampled before (idle), at the peak and for `settleSeconds` after the last connection closed;
 * the figure of merit is RSS `settleSeconds` after the burst / RSS before it (memory given back).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { HOST } from './ports.js';
import { maxSample, sampleMemory, type MemSample } from './rss.js';
import { sleep } from './stats.js';

export interface BurstProbe {
  label: string;
  pid: number;
  includeChildren: boolean;
}

export interface BurstOptions {
  port: number;
  count: number;
  bytes: number;
  settleSeconds: number;
  /** Connects in flight at once while ramping up. */
  rampConcurrency?: number;
  probes: BurstProbe[];
  log?: (msg: string) => void;
}

export interface BurstMemory {
  label: string;
  before: MemSample;
  peak: MemSample;
  /** RSS `settleSeconds` after the burst ended. */
  after: MemSample;
}

export interface BurstResult {
  count: number;
  bytes: number;
  settleSeconds: number;
  opened: number;
  failed: number;
  /** Connections whose whole echo came back. */
  completed: number;
  /** From the first connect to the last close, in s. */
  seconds: number;
  memory: BurstMemory[];
  firstError?: string;
}

export async function runBurst(opts: BurstOptions): Promise<BurstResult> {
  const ramp = opts.rampConcurrency ?? 200;
  const sampleAll = (): MemSample[] => opts.probes.map((p) => sampleMemory(p.pid, p.includeChildren));
  const before = sampleAll();
  let peak = before.slice();
  const samplePeak = (): void => {
    const now = sampleAll();
    peak = peak.map((p, i) => maxSample(p, now[i]!));
  };
  const sampler = setInterval(samplePeak, 250);
  const payload = Buffer.alloc(opts.bytes, 0x5a);
  const socks: net.Socket[] = [];
  let opened = 0;
  let failed = 0;
  let completed = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  let allEchoed: () => void = () => undefined;
  const echoedAll = new Promise<void>((r) => (allEchoed = r));
  let settled = 0;
  const settle = (): void => {
    if (++settled === opts.count) allEchoed();
  };
  const openOne = (): Promise<void> =>
    new Promise((resolve) => {
      const sock = net.connect({ host: HOST, port: opts.port, noDelay: true });
      socks.push(sock);
      let got = 0;
      let done = false;
      const finish = (ok: boolean): void => {
        if (done) return;
        done = true;
        if (ok) completed++;
        settle();
      };
      const timer = setTimeout(() => {
        firstError ??= 'connect timed out';
        failed++;
        sock.destroy();
        finish(false);
        resolve();
      }, 20_000);
      sock.once('connect', () => {
        clearTimeout(timer);
        opened++;
        resolve();
      });
      sock.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= opts.bytes) finish(true);
      });
      sock.on('error', (err) => {
        firstError ??= err.message;
        clearTimeout(timer);
        finish(false);
        resolve();
      });
      sock.on('close', () => finish(false));
    });
  try {
    // All connections are opened (and held) first; only then does every one send its bytes.
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < opts.count) {
        started++;
        await openOne();
      }
    };
    await Promise.all(Array.from({ length: ramp }, worker));
    opts.log?.(`    burst: ${opened} open (${failed} failed), sending ${opts.bytes} B on each`);
    for (const s of socks) if (!s.destroyed) s.write(payload);
    await Promise.race([echoedAll, sleep(60_000)]);
    samplePeak();
  } finally {
    for (const s of socks) s.destroy();
    await sleep(200);
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  opts.log?.(`    burst: ${completed}/${opts.count} echoed in ${seconds.toFixed(1)} s; waiting ${opts.settleSeconds} s for memory to come back`);
  await sleep(opts.settleSeconds * 1000);
  const after = sampleAll();
  return {
    count: opts.count,
    bytes: opts.bytes,
    settleSeconds: opts.settleSeconds,
    opened,
    failed,
    completed,
    seconds,
    memory: opts.probes.map((p, i) => ({ label: p.label, before: before[i]!, peak: peak[i]!, after: after[i]! })),
    firstError,
  };
}
