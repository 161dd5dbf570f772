/**
 * Memory of one Burrow path (TLS + mux unless told otherwise), focused: idle RSS, RSS with 1000
 * active connections, then a burst of 5000 connections moving 64 KiB each and RSS 60 s after it.
 * With `--malloc default` both processes run without the shebang's glibc settings, for comparison.
 *
 *   npm run build && node dist/bench/relay-memory.js [--plain] [--no-mux] [--malloc shebang|default|ENV=V,...]
 *                                                    [--count 5000] [--settle 60] [--active 1000]
 *                                                    [--node-flags '--flag …'] (added after the shebang's)
 *                                                    [--iperf SECONDS] (1 then 8 iperf3 streams first, as the relay bench does)
 *                                                    [--smaps] (C heap, anonymous and file-backed RSS at each step)
 */
import { readFileSync } from 'node:fs';
import { holdActive } from './lib/active-conns.js';
import { procTicks } from './lib/cpu-load.js';
import { runIperf } from './lib/iperf.js';
import { startBurrow, type BurrowLaunch } from './lib/burrow.js';
import { runBurst } from './lib/burst.js';
import { runBench } from './lib/lifecycle.js';
import { freePort } from './lib/ports.js';
import { maxSample, sampleMemory, type MemSample } from './lib/rss.js';
import { sleep } from './lib/stats.js';
import { startEchoServer, startIperfServer } from './lib/targets.js';

/** [heap] and the anonymous mappings (V8's heap, glibc's thread arenas, mmapped blocks) of a process, in MB. */
function smapsSummary(pid: number): string {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return 'gone';
  }
  let name = '';
  let heap = 0;
  let anon = 0;
  let file = 0;
  let bigAnon = 0;
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      name = m[1] ?? '';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (!r) continue;
    const kb = Number(r[1]);
    if (name === '[heap]') heap += kb;
    else if (name === '' ) {
      anon += kb;
      if (kb >= 32 * 1024) bigAnon += kb;
    } else file += kb;
  }
  const mb = (kb: number) => ((kb * 1024) / 1e6).toFixed(1);
  return `[heap] ${mb(heap)} MB, anonymous ${mb(anon)} MB (in mappings >= 32 MiB: ${mb(bigAnon)} MB), files ${mb(file)} MB`;
}

const log = (msg: string): void => {
  process.stderr.write(`[relay-memory ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const arg = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const tls = !argv.includes('--plain');
  const mux = !argv.includes('--no-mux');
  const count = Number(arg('--count') ?? 5000);
  const settle = Number(arg('--settle') ?? 60);
  const active = Number(arg('--active') ?? 1000);
  const malloc = arg('--malloc') ?? 'shebang';
  const iperfSeconds = Number(arg('--iperf') ?? 0);
  const launch: BurrowLaunch = {};
  const nodeFlags = arg('--node-flags');
  if (nodeFlags) launch.nodeFlags = nodeFlags.split(' ').filter((f) => f !== '');
  if (malloc === 'default') launch.replaceShebangEnv = true;
  else if (malloc !== 'shebang') {
    launch.replaceShebangEnv = true;
    launch.env = Object.fromEntries(malloc.split(',').map((kv) => kv.split('=') as [string, string]));
  }
  const echo = await startEchoServer();
  const iperfPort = await freePort();
  const iperf = await startIperfServer(iperfPort);
  const mb = (s: MemSample): string => s.rssMB.toFixed(1);
  try {
    const running = await startBurrow(tls, mux, { iperf: iperfPort, echo: echo.port }, launch);
    try {
      await sleep(2000);
      const probes = [
        { label: 'server', pid: running.server!.pid, includeChildren: false },
        { label: 'client', pid: running.client!.pid, includeChildren: false },
      ];
      const idle = probes.map((p) => sampleMemory(p.pid, false));
      // --signal-after: SIGUSR2 to both processes after iperf3 and at the end, for a probe loaded with
      // --node-flags '--import …' (e.g. one that reports the heap on SIGUSR2).
      const signalProbes = async (): Promise<void> => {
        if (!argv.includes('--signal-after')) return;
        for (const pr of probes) process.kill(pr.pid, 'SIGUSR2');
        await sleep(2000);
      };
      log(`burrow ${tls ? 'tls' : 'plain'}${mux ? '+mux' : ', mux off'}, malloc ${malloc}: idle RSS server ${mb(idle[0]!)} MB, client ${mb(idle[1]!)} MB`);
      // --smaps: where each process's RSS is (C heap, anonymous, files) at each step.
      const smaps = (when: string): void => {
        if (argv.includes('--smaps')) for (const pr of probes) log(`${pr.label} ${when}: ${smapsSummary(pr.pid)}`);
      };
      smaps('idle');
      let throughput: number[] = [];
      if (iperfSeconds > 0) {
        // CPU time per MB moved (server + client) is far steadier than MB/s on a shared machine.
        const ticks = () => procTicks(running.server!.pid, false) + procTicks(running.client!.pid, false);
        const cpuPerMB: number[] = [];
        for (const streams of [1, 8]) {
          const t0 = ticks();
          const r = await runIperf(running.iperfPort, streams, iperfSeconds);
          throughput.push(r.mbPerSec);
          cpuPerMB.push((((ticks() - t0) / 100) * 1e6) / (r.mbPerSec * iperfSeconds));
        }
        log(`iperf3 CPU (server + client) per MB: 1 stream ${cpuPerMB[0]!.toFixed(0)} us, 8 streams ${cpuPerMB[1]!.toFixed(0)} us`);
        const after = probes.map((p) => sampleMemory(p.pid, false));
        await signalProbes();
        log(`iperf3 ${iperfSeconds} s: 1 stream ${throughput[0]!.toFixed(0)} MB/s, 8 streams ${throughput[1]!.toFixed(0)} MB/s; RSS after server ${mb(after[0]!)} MB, client ${mb(after[1]!)} MB`);
        smaps('after iperf3');
        await sleep(2000);
      }
      let peaks: Array<MemSample | undefined> = [undefined, undefined];
      if (active > 0) {
        const r = await holdActive({
          port: running.echoPort,
          count: active,
          holdSeconds: 5,
          onSample: () => (peaks = probes.map((p, i) => maxSample(peaks[i], sampleMemory(p.pid, false)))),
        });
        log(`${active} active (${r.aliveAtHold} alive, echoed ${r.echoedPerSec.toFixed(0)}/s): peak RSS server ${mb(peaks[0]!)} MB, client ${mb(peaks[1]!)} MB`);
        smaps(`after ${active} active`);
        await sleep(3000);
      }
      const burst = await runBurst({ port: running.echoPort, count, bytes: 64 * 1024, settleSeconds: settle, probes, log });
      for (const m of burst.memory) {
        log(`burst ${count} x 64 KiB (${burst.completed} echoed): ${m.label} RSS before ${mb(m.before)}, peak ${mb(m.peak)}, ${settle} s after ${mb(m.after)} MB (after/before ${(m.after.rssMB / m.before.rssMB).toFixed(2)}x)`);
      }
      process.stdout.write(
        `${JSON.stringify({ tls, mux, malloc, nodeFlags: launch.nodeFlags, throughput, idle: idle.map((s) => s.rssMB), active: peaks.map((s) => s?.rssMB), burst: burst.memory.map((m) => ({ label: m.label, before: m.before.rssMB, peak: m.peak.rssMB, after: m.after.rssMB })), completed: burst.completed })}\n`,
      );
      smaps('after the burst');
      await signalProbes();
      const dead = running.health();
      if (dead) log(`a process died: ${dead}`);
    } finally {
      await running.stop();
    }
  } finally {
    await iperf.stop();
    await echo.stop();
  }
  return 0;
}

runBench('relay-memory', main, 5, log);
