/**
 * Where the relay's time goes: Burrow's server and client (TLS + mux unless told otherwise) under
 * `node --cpu-prof` while one iperf3 stream runs through them; prints both processes' top
 * self-time functions for the iperf3 phase only.
 *
 *   npm run build && node dist/bench/relay-profile.js [--seconds 5] [--plain] [--no-mux] [--streams 1]
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startBurrow } from './lib/burrow.js';
import { renderProfile, summarizeCpuProfile } from './lib/cpuprofile.js';
import { runIperf } from './lib/iperf.js';
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
      log(`iperf3 ${streams} stream(s), ${seconds} s, burrow ${tls ? 'tls' : 'plain'}${mux ? '+mux' : ', mux off'}`);
      const from = nowUs();
      const r = await runIperf(running.iperfPort, streams, seconds);
      window = { fromUs: from, toUs: nowUs() };
      log(`  ${r.mbPerSec.toFixed(0)} MB/s (under the profiler)`);
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
    process.stdout.write(`\n### burrow ${role} (${saved})\n\n${renderProfile(summary).replace(/^Relay phase only \(from the end of uclient's connect phase to its exit\)/, 'iperf3 phase only')}\n`);
  }
  return 0;
}

runBench('relay-profile', main, 3, log);
