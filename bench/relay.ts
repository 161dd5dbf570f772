/**
 * Relay benchmark: direct vs Burrow (plain / TLS) vs ssh -R vs socat, all on loopback.
 *
 *   npm run bench:relay [-- --quick] [-- --only a,b,e] [-- --rounds 3] [-- --docs | --no-docs]
 *
 * The rate phases (throughput, latency, new connections) run in --rounds interleaved rounds: every
 * round starts each path fresh and runs them in a rotated order; the memory phases (active
 * connections, burst) run once, in the last round. The report gives medians, min–max and medians
 * of per-round ratios (bench/lib/rounds.ts).
 *
 * See docs/BENCHMARKS.md for what is measured and how to read it.
 */
import path from 'node:path';
import { holdActive } from './lib/active-conns.js';
import { runBurst } from './lib/burst.js';
import { runBench } from './lib/lifecycle.js';
import { burrowPlainPath, burrowPlainPoolPath, burrowTlsPath, burrowTlsPoolPath } from './lib/burrow.js';
import { runConnRate } from './lib/conn-rate.js';
import { directPath } from './lib/direct.js';
import { writeBenchSection } from './lib/docs.js';
import { watchCpu, watchTreeCpu } from './lib/cpu-load.js';
import { describeEnvironment } from './lib/env.js';
import { runIperf } from './lib/iperf.js';
import { runLatency } from './lib/latency.js';
import { parseArgs, timeLimitMinutes, USAGE, type Options } from './lib/options.js';
import type { PathSpec, RunningPath } from './lib/path.js';
import { freePort } from './lib/ports.js';
import { buildTable, checkTargets, loadWarning, pathNotes, renderMarkdown, renderTargets, renderText, roundsLine } from './lib/report.js';
import { emptyResult, type Phase, type PathResult } from './lib/results.js';
import { repoRoot } from './lib/root.js';
import { roundOrder } from './lib/rounds.js';
import { maxSample, sampleMemory, type MemSample } from './lib/rss.js';
import { socatPath } from './lib/socat.js';
import { sshPath } from './lib/ssh.js';
import { sleep } from './lib/stats.js';
import { startEchoServer, startIperfServer, type Target } from './lib/targets.js';

const ALL_PATHS: PathSpec[] = [directPath, burrowPlainPath, burrowTlsPath, sshPath, socatPath, burrowPlainPoolPath, burrowTlsPoolPath];

/** Paths that run the burst phase (socat forks a process per connection: 5000 at once is not its use). */
const BURST_PATHS = ['b', 'c', 'd', 'f', 'g'];

const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Run one phase; on failure record it and carry on with the next phase. */
async function phase<T>(result: PathResult, name: Phase, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    result.errors.push({ phase: name, message: message(err).split('\n').slice(0, 6).join(' | ') });
    log(`  (${result.id}, round ${result.round + 1}) ${name} failed: ${message(err).split('\n')[0]}`);
    return undefined;
  }
}

/**
 * Start one path, run the rate phases (and, when `memory`, the memory phases), stop it.
 * `round` is 0-based.
 */
async function benchPath(spec: PathSpec, opts: Options, echo: Target, iperfTargetPort: number, round: number, memory: boolean): Promise<PathResult> {
  const p = opts.phases;
  const result = emptyResult(spec.id, spec.label, round);
  // A fresh iperf3 server per path, so a test wedged by a broken path cannot block the next.
  let iperf: Target | undefined;
  let running: RunningPath | undefined;
  const cpu = watchCpu([echo.proc.pid]);
  try {
    log(`(${spec.id}) ${spec.label}: starting (round ${round + 1}/${opts.rounds}${memory ? ', with the memory phases' : ''})`);
    try {
      iperf = await startIperfServer(iperfTargetPort);
      running = await spec.start({ iperf: iperfTargetPort, echo: echo.port });
    } catch (err) {
      result.errors.push({ phase: 'start', message: message(err).split('\n').slice(0, 8).join(' | ') });
      log(`  (${spec.id}) could not start: ${message(err).split('\n')[0]}`);
      return result;
    }
    const path = running;
    result.notes.push(...path.notes);
    // Other processes' CPU while the rate figures are measured (the memory phases come after and
    // are left out: ssh -R's failing burst keeps its sshd children busy, which is no outside load).
    const rateCpu = watchTreeCpu();
    if (path.server) result.idleServer = sampleMemory(path.server.pid, path.server.includeChildren);
    if (path.client) result.idleClient = sampleMemory(path.client.pid, path.client.includeChildren);

    log(`  (${spec.id}) iperf3 1 stream, ${p.iperfSeconds} s`);
    result.tput1 = (await phase(result, 'iperf1', () => runIperf(path.iperfPort, 1, p.iperfSeconds)))?.mbPerSec;
    await sleep(500);
    log(`  (${spec.id}) iperf3 8 streams, ${p.iperfSeconds} s`);
    result.tput8 = (await phase(result, 'iperf8', () => runIperf(path.iperfPort, 8, p.iperfSeconds)))?.mbPerSec;
    await sleep(500);

    for (const rate of p.latencyRates) {
      log(`  (${spec.id}) latency at ${rate} req/s, ${p.latencySeconds} s`);
      const lat = await phase(result, `latency${rate}`, () =>
        runLatency({ port: path.echoPort, rate, seconds: p.latencySeconds, warmupSeconds: p.latencyWarmupSeconds, connections: p.latencyConnections, spin: opts.spin }),
      );
      if (lat) result.latency.set(rate, lat);
      await sleep(300);
    }

    log(`  (${spec.id}) new connections, ${p.connRateWorkers} workers, ${p.connRateSeconds} s`);
    result.connRate = await phase(result, 'connRate', () => runConnRate({ port: path.echoPort, seconds: p.connRateSeconds, workers: p.connRateWorkers }));
    result.cpu = rateCpu();
    await sleep(500);

    if (!memory) {
      const dead = path.health();
      if (dead) result.errors.push({ phase: 'health', message: `a process of this path died during the run: ${dead}` });
      return result;
    }

    log(`  (${spec.id}) ${p.activeConnections} active connections, hold ${p.activeHoldSeconds} s`);
    let serverPeak: MemSample | undefined;
    let clientPeak: MemSample | undefined;
    let serverEnd: MemSample | undefined;
    let clientEnd: MemSample | undefined;
    result.active = await phase(result, 'active', () =>
      holdActive({
        port: path.echoPort,
        count: p.activeConnections,
        holdSeconds: p.activeHoldSeconds,
        onSample: () => {
          if (path.server) serverPeak = maxSample(serverPeak, (serverEnd = sampleMemory(path.server.pid, path.server.includeChildren)));
          if (path.client) clientPeak = maxSample(clientPeak, (clientEnd = sampleMemory(path.client.pid, path.client.includeChildren)));
        },
      }),
    );
    if (p.burstConnections > 0 && BURST_PATHS.includes(spec.id) && path.server) {
      await sleep(1000);
      log(`  (${spec.id}) burst: ${p.burstConnections} connections x ${p.burstBytes} B at once, then ${p.burstSettleSeconds} s for memory to come back`);
      const probes = [
        { label: path.server.label, pid: path.server.pid, includeChildren: path.server.includeChildren },
        ...(path.client ? [{ label: path.client.label, pid: path.client.pid, includeChildren: path.client.includeChildren }] : []),
      ];
      result.burst = await phase(result, 'burst', () =>
        runBurst({ port: path.echoPort, count: p.burstConnections, bytes: p.burstBytes, settleSeconds: p.burstSettleSeconds, probes, log }),
      );
    }
    const dead = path.health();
    if (dead) result.errors.push({ phase: 'health', message: `a process of this path died during the run: ${dead}` });
    if (result.active) {
      if (path.server && serverPeak) result.server = { label: path.server.label, peak: serverPeak, end: serverEnd };
      if (path.client && clientPeak) result.client = { label: path.client.label, peak: clientPeak, end: clientEnd };
    }
    return result;
  } finally {
    log(`  (${spec.id}) stopping`);
    await running?.stop().catch((err: unknown) => log(`  (${spec.id}) stop failed: ${message(err)}`));
    await iperf?.stop();
    // A path that failed before its rate phases ended is judged over all it ran.
    result.cpu ??= cpu();
    await sleep(1000);
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    const text = message(err);
    process.stderr.write(`${text}\n`);
    return text === USAGE ? 0 : 2;
  }
  const specs = ALL_PATHS.filter((s) => opts.only.includes(s.id));
  const started = new Date();
  log(`relay benchmark${opts.quick ? ' (quick)' : ''}: paths ${specs.map((s) => s.id).join(',')}, ${opts.rounds} round${opts.rounds === 1 ? '' : 's'}`);

  const env = await describeEnvironment();
  const echo = await startEchoServer();
  const iperfTargetPort = await freePort();
  log(`echo server :${echo.port} (pid ${echo.proc.pid}), iperf3 target :${iperfTargetPort}`);

  // Warm the JIT of the load generators and the echo server before (a) is measured, so the
  // baseline is not the only path paying for it. Results are discarded.
  log('warm-up against the echo server (discarded)');
  await runLatency({ port: echo.port, rate: 4000, seconds: opts.quick ? 0.5 : 1.5, warmupSeconds: 0, spin: opts.spin }).catch(() => undefined);
  await runConnRate({ port: echo.port, seconds: opts.quick ? 0.3 : 1 }).catch(() => undefined);
  await sleep(500);

  // rounds[r] lists the paths in selection order, whatever order they ran in.
  const rounds: PathResult[][] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      const order = roundOrder(specs, r);
      const memory = r === opts.rounds - 1;
      log(`round ${r + 1}/${opts.rounds}: ${order.map((s) => s.id).join(',')}${memory ? ' (with the memory phases)' : ''}`);
      const got = new Map<string, PathResult>();
      for (const spec of order) got.set(spec.id, await benchPath(spec, opts, echo, iperfTargetPort, r, memory));
      rounds.push(specs.map((s) => got.get(s.id)!));
    }
  } finally {
    await echo.stop();
  }

  const table = buildTable(rounds, opts.phases);
  const checks = checkTargets(rounds, opts.phases);
  const notes = pathNotes(rounds);
  const warning = loadWarning(rounds);
  const defaultRounds = opts.quick ? 1 : 3;
  const mode = `${opts.quick ? 'quick' : 'full'}${opts.only.length < ALL_PATHS.length ? ` --only ${opts.only.join(',')}` : ''}${opts.spin ? ' --spin' : ''}${opts.rounds !== defaultRounds ? ` --rounds ${opts.rounds}` : ''}`;

  const out = [
    '',
    `Relay benchmark, ${started.toISOString()} (${mode})`,
    env,
    ...(warning ? ['', warning] : []),
    '',
    renderText(table),
    '',
    'Ratios are path / (a) direct (for latency, lower is better). MB = 10^6 bytes. RSS sums children for sshd and socat.',
    roundsLine(opts.rounds),
    '',
    'Targets:',
    renderTargets(checks, false),
    '',
    'Notes:',
    ...notes.map((n) => `  - ${n}`),
    '',
  ].join('\n');
  process.stdout.write(out);

  if (opts.writeDocs) {
    const date = started.toISOString().slice(0, 10);
    const key = `${date} ${mode}`;
    const body = [
      `## Relay benchmark — ${date}${mode === 'full' ? '' : ` (${mode})`}`,
      '',
      `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${env}.`,
      `Phases, in ${opts.rounds} round${opts.rounds === 1 ? '' : 's'} (every path started fresh each round, order rotated; memory phases in the last round only): iperf3 ${opts.phases.iperfSeconds} s per test; latency ${opts.phases.latencySeconds} s per rate (after ${opts.phases.latencyWarmupSeconds} s warm-up) over ${opts.phases.latencyConnections} connections (${opts.spin ? 'busy-polling' : '1 ms timer'} generator); new connections ${opts.phases.connRateSeconds} s with ${opts.phases.connRateWorkers} workers; ${opts.phases.activeConnections} active connections held ${opts.phases.activeHoldSeconds} s (peak memory of samples every 0.5 s)${opts.phases.burstConnections > 0 ? `; a burst of ${opts.phases.burstConnections} connections opened at once, each sending ${opts.phases.burstBytes / 1024} KiB and reading its echo, on (b), (c), (d), (f), (g), with RSS read before, at the peak and ${opts.phases.burstSettleSeconds} s after the last connection closed` : ''}.`,
      ...(warning ? ['', `> **${warning}**`] : []),
      '',
      renderMarkdown(table),
      '',
      'Ratios are path / (a) direct, measured in the same round (for latency, lower is better). MB = 10^6 bytes. RSS and PSS include children for sshd and socat (socat forks one process per connection; RSS counts shared pages once per process, PSS splits them).',
      roundsLine(opts.rounds),
      '',
      '### Targets',
      '',
      renderTargets(checks, true),
      '',
      '### Notes',
      '',
      ...notes.map((n) => `- ${n}`),
    ].join('\n');
    const file = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
    writeBenchSection(file, key, body);
    log(`wrote section "${key}" to ${file}`);
  } else {
    log('docs/BENCHMARKS.md not written (quick or partial run; pass --docs to write)');
  }
  return 0;
}

let limit: number;
try {
  limit = timeLimitMinutes(parseArgs(process.argv.slice(2)));
} catch {
  limit = 5; // main() reports the bad flag and exits at once
}
runBench('bench', main, limit, log);
