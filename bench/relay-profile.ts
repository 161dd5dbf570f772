/**
 * Where the relay's time goes: Burrow's server and client (TLS + mux unless told otherwise) under
 * `node --cpu-prof` while one phase of the relay benchmark runs through them; prints both
 * processes' top self-time functions for that phase only.
 *
 *   npm run build && node dist/bench/relay-profile.js [--phase iperf|connrate|latency] [--seconds 5]
 *     [--plain] [--no-mux] [--streams 1] [--rate 4000] [--no-prof]
 *
 * --phase iperf (default): iperf3 with --streams streams; connrate: new connections (32 workers,
 * connect, 1 byte echoed, close); latency: open-loop requests at --rate per second over 16
 * connections (prints p50/p99/max). --no-prof runs the same without the profiler.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startBurrow } from './lib/burrow.js';
import { renderProfile, summarizeCpuProfile } from './lib/cpuprofile.js';
import { runConnRate } from './lib/conn-rate.js';
import { runIperf } from './lib/iperf.js';
import { runLatency } from './lib/latency.js';
import { runBench } from './lib/lifecycle.js';
import { freePort } from './lib/ports.js';
import { distBench, repoRoot } from './lib/root.js';
import { sleep } from './lib/stats.js';
import { startEchoServer, startIperfServer } from './lib/targets.js';
import { makeTempDir } from './lib/tempdir.js';
import { findCpuProfile } from './lib/turn-servers.js';

const log = (msg: string): void => {
  process.stderr.write(`[relay-profile ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const num = (flag: string, dflt: number): number => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const seconds = num('--seconds', 5);
  const streams = num('--streams', 1);
  const rate = num('--rate', 4000);
  const pi = argv.indexOf('--phase');
  const phase = pi >= 0 ? argv[pi + 1] : 'iperf';
  if (phase !== 'iperf' && phase !== 'connrate' && phase !== 'latency') throw new Error(`--phase must be iperf, connrate or latency, got ${phase}`);
  const tls = !argv.includes('--plain');
  const mux = !argv.includes('--no-mux');
  const dir = makeTempDir('relay-prof-');
  const echo = await startEchoServer();
  const iperfPort = await freePort();
  const iperf = await startIperfServer(iperfPort);
  let window: { fromUs: number; toUs: number } | undefined;
  try {
    const running = await startBurrow(tls, mux, { iperf: iperfPort, echo: echo.port }, {
      cpuProfDir: argv.includes('--no-prof') ? undefined : dir,
      nodeFlags: process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : undefined,
      // BENCH_MALLOC=K=V,K=V replaces the shebang's glibc settings ('default': none).
      ...(process.env.BENCH_MALLOC
        ? { replaceShebangEnv: true, env: process.env.BENCH_MALLOC === 'default' ? {} : Object.fromEntries(process.env.BENCH_MALLOC.split(',').map((kv) => kv.split('=') as [string, string])) }
        : {}),
    });
    try {
      await sleep(500);
      const what = `burrow ${tls ? 'tls' : 'plain'}${mux ? '+mux' : ', mux off'}`;
      const from = nowUs();
      if (phase === 'iperf') {
        log(`iperf3 ${streams} stream(s), ${seconds} s, ${what}`);
        const r = await runIperf(running.iperfPort, streams, seconds);
        log(`  ${r.mbPerSec.toFixed(0)} MB/s`);
      } else if (phase === 'connrate') {
        log(`new connections, 32 workers, ${seconds} s, ${what}`);
        const r = await runConnRate({ port: running.echoPort, seconds, workers: 32 });
        log(`  ${r.perSec.toFixed(0)} connections/s (${r.ok} ok, ${r.errors} errors${r.firstError ? `, first: ${r.firstError}` : ''})`);
      } else {
        log(`latency at ${rate} req/s, ${seconds} s over 16 connections, ${what}`);
        const r = await runLatency({ port: running.echoPort, rate, seconds, warmupSeconds: 1, connections: 16 });
        log(`  p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(2)} ms, ${r.lost} lost, send lag p99 ${r.sendLagP99Ms.toFixed(2)} ms`);
      }
      window = { fromUs: from, toUs: nowUs() };
    } finally {
      await running.stop();
    }
  } finally {
    await iperf.stop();
    await echo.stop();
  }
  const outDir = path.join(distBench, 'relay-profiles');
  mkdirSync(outDir, { recursive: true });
  for (const role of ['server', 'client']) {
    const file = findCpuProfile(path.join(dir, role));
    if (!file) {
      log(`no profile written for the ${role}`);
      continue;
    }
    const saved = path.join(outDir, `burrow-${role}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    copyFileSync(file, saved);
    const summary = summarizeCpuProfile(file, repoRoot, 15, window);
    process.stdout.write(`\n### burrow ${role} (${saved})\n\n${renderProfile(summary).replace(/^Relay phase only \(from the end of uclient's connect phase to its exit\)/, `${phase} phase only`)}\n`);
  }
  return 0;
}

runBench('relay-profile', main, 3, log);
