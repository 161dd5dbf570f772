/**
 * TURN benchmark: coturn's turnserver vs Burrow's TURN server, driven by coturn's own load
 * generator (turnutils_uclient), on loopback.
 *
 *   npm run bench:turn [-- --quick] [-- --profile] [-- --only udp,flood,tcp] [-- --docs | --no-docs]
 *
 * Each server runs pinned to core 1 (coturn with one relay thread), uclient pinned to core 0.
 * See docs/BENCHMARKS.md ("TURN benchmark") for what is measured and how to read it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarizeCpuProfile, renderProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { procTicks, watchCpu } from './lib/cpu-load.js';
import { writeMarkedSection, type SectionMarkers } from './lib/docs.js';
import { describeMachine, toolVersion } from './lib/env.js';
import { runBench } from './lib/lifecycle.js';
import { HOST } from './lib/ports.js';
import { runToEnd } from './lib/proc.js';
import { repoRoot, distBench } from './lib/root.js';
import { maxSample, sampleMemory, type MemSample } from './lib/rss.js';
import { sleep } from './lib/stats.js';
import { makeTempDir } from './lib/tempdir.js';
import {
  buildTurnTable,
  checkTurnTargets,
  renderMarkdownTable,
  renderTextTable,
  renderTurnTargets,
  turnLoadWarning,
  turnNotes,
  type Scenario,
  type ScenarioId,
  type ScenarioResult,
  type ServerRun,
} from './lib/turn-report.js';
import {
  findCpuProfile,
  startBurrowTurn,
  startCoturn,
  TURN_PASS,
  TURN_USER,
  type RunningTurnServer,
  type TurnServerOptions,
} from './lib/turn-servers.js';
import { runUclient, uclientHelp, type UclientResult } from './lib/uclient.js';
import { UdpDropWatcher } from './lib/udp-drops.js';
import { sendBurst } from './lib/turn-burst.js';

const SCENARIO_IDS: readonly ScenarioId[] = ['udp', 'flood', 'tcp'];
/** --burst: spread over this long, starting this long after uclient's connect phase ended. */
const BURST_SPREAD_MS = 600;
const BURST_DELAY_MS = 3000;

const USAGE = `usage: npm run bench:turn -- [--quick] [--profile] [--only udp,flood,tcp] [--burrow PATH] [--burst N] [--docs | --no-docs]
  --quick    smaller runs (smoke test); does not write docs unless --docs
  --profile  also run Burrow's server under node --cpu-prof for the (1) UDP scenario and print
             where its time goes (top self-time functions, by category and by file)
  --only     run only these scenarios (does not write docs unless --docs)
  --burrow   PATH of another build's bin/burrow.js to measure instead of this repository's
             (A/B runs, e.g. a git worktree; does not write docs unless --docs)
  --burst N  also send N STUN Binding requests at the server's listening port, spread over
             ${BURST_SPREAD_MS} ms, ${BURST_DELAY_MS / 1000} s after uclient's connect phase (issue 12's burst: 22000);
             the listening socket's drops are in the table (does not write docs unless --docs)
  --docs     write docs/BENCHMARKS.md even for --quick / --only runs
  --no-docs  never write docs/BENCHMARKS.md`;

interface Options {
  quick: boolean;
  profile: boolean;
  only: ScenarioId[];
  /** Another bin/burrow.js to measure. */
  burrow?: string;
  /** Binding requests to burst at the listening port during each run. */
  burst?: number;
  writeDocs: boolean;
}

function parseArgs(argv: string[]): Options {
  let quick = false;
  let profile = false;
  let docs: boolean | undefined;
  let only: ScenarioId[] = [...SCENARIO_IDS];
  let burrow: string | undefined;
  let burst: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--burst' || a.startsWith('--burst=')) {
      const v = a === '--burst' ? argv[++i] : a.slice('--burst='.length);
      burst = Number(v);
      if (!Number.isInteger(burst) || burst < 1 || burst > 1_000_000) throw new Error(`--burst needs a count of datagrams (1..1000000), got ${String(v)}\n${USAGE}`);
    }
    else if (a === '--burrow' || a.startsWith('--burrow=')) {
      burrow = a === '--burrow' ? argv[++i] : a.slice('--burrow='.length);
      if (!burrow) throw new Error(`--burrow needs the path of a bin/burrow.js\n${USAGE}`);
      burrow = path.resolve(burrow);
    }
    else if (a === '--profile') profile = true;
    else if (a === '--docs') docs = true;
    else if (a === '--no-docs') docs = false;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const ids = (list ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
      const bad = ids.filter((s) => !(SCENARIO_IDS as readonly string[]).includes(s));
      if (ids.length === 0 || bad.length > 0) throw new Error(`--only: unknown scenario(s) ${bad.join(',')}\n${USAGE}`);
      only = SCENARIO_IDS.filter((s) => ids.includes(s));
    } else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  const full = !quick && only.length === SCENARIO_IDS.length && burrow === undefined && burst === undefined;
  return { quick, profile, only, ...(burrow ? { burrow } : {}), ...(burst ? { burst } : {}), writeDocs: docs ?? full };
}

const log = (msg: string): void => {
  process.stderr.write(`[bench:turn ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Sizes {
  clients: number;
  messages: number;
  floodMessages: number;
  /** Per uclient run. */
  timeoutMs: number;
}

const FULL: Sizes = { clients: 10, messages: 2000, floodMessages: 20_000, timeoutMs: 50_000 };
const QUICK: Sizes = { clients: 4, messages: 500, floodMessages: 4000, timeoutMs: 40_000 };

/** uclient flags shared by every scenario: -y client-to-client, -c no RTCP, -z 0 no pacing, 170-byte payloads. */
function baseArgs(clients: number, messages: number, port: number): string[] {
  return ['-m', String(clients), '-n', String(messages), '-l', '170', '-z', '0', '-y', '-c', '-u', TURN_USER, '-w', TURN_PASS, '-p', String(port)];
}

function scenarios(sizes: Sizes, hasY: boolean): Scenario[] {
  const { clients, messages, floodMessages } = sizes;
  const base = `-m ${clients} -n ${messages} -l 170 -z 0 -y -c`;
  return [
    {
      id: 'udp',
      title: '(1) UDP',
      description: `uclient ${base} (UDP to the server, UDP relay, ChannelData).`,
      args: (port) => [...baseArgs(clients, messages, port), HOST],
    },
    hasY
      ? {
          id: 'flood',
          title: '(2) flood',
          description: `uclient ${base} -Y packet (this uclient's packet flood mode).`,
          args: (port) => [...baseArgs(clients, messages, port), '-Y', 'packet', HOST],
        }
      : {
          id: 'flood',
          title: '(2) flood',
          description: `uclient -m ${clients} -n ${floodMessages} -l 170 -z 0 -y -c: the installed uclient has no -Y (packet flood) option, so the flood is ${floodMessages / messages}x the messages of (1) at -z 0 (bursts of 50 messages per client per 1 ms tick), bounded by the per-run time limit.`,
          args: (port) => [...baseArgs(clients, floodMessages, port), HOST],
        },
    {
      id: 'tcp',
      title: '(3) TCP',
      description: `uclient ${base} -t (TCP between uclient and the server; the relay leg stays UDP).`,
      args: (port) => ['-t', ...baseArgs(clients, messages, port), HOST],
    },
  ];
}

// ---------------------------------------------------------------------------------------------

interface Pinning {
  server?: number;
  client?: number;
  note: string;
}

async function choosePinning(): Promise<Pinning> {
  const cores = os.cpus().length;
  const taskset = await runToEnd('taskset', 'taskset', ['-c', '0', 'true'], 5000).catch(() => undefined);
  if (!taskset || taskset.code !== 0) return { note: 'taskset unavailable: nothing pinned' };
  if (cores < 2) return { note: 'one core only: nothing pinned (server and load generator share it)' };
  // This harness (which samples memory and parses uclient's output) stays off the server's core too.
  const self = await runToEnd('taskset', 'taskset', ['-a', '-p', '-c', '0', String(process.pid)], 5000).catch(() => undefined);
  const selfNote = self?.code === 0 ? ', this harness to core 0' : '';
  return { server: 1, client: 0, note: `servers pinned to core 1 (taskset -c 1), uclient to core 0${selfNote}; ${cores} cores` };
}

let clkTck = 100;
/** --burrow: the bin/burrow.js to measure (default: this repository's). */
let burrowCliOverride: string | undefined;
/** --burst N. */
let burstCount: number | undefined;

/** Start one server, run one scenario against it, stop it. Never throws. */
async function measure(
  id: 'coturn' | 'burrow',
  scenario: Scenario,
  sizes: Sizes,
  pin: Pinning,
  extra: TurnServerOptions = {},
): Promise<ServerRun> {
  const label = id === 'coturn' ? 'coturn' : 'Burrow';
  const run: ServerRun = { server: id, label };
  let srv: RunningTurnServer | undefined;
  try {
    const opts: TurnServerOptions = { core: pin.server, ...(burrowCliOverride ? { cli: burrowCliOverride } : {}), ...extra };
    srv = id === 'coturn' ? await startCoturn(opts) : await startBurrowTurn(opts);
    const server = srv;
    run.command = server.command;
    let peak: MemSample | undefined;
    const drops = new UdpDropWatcher(server.pid, server.port);
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    let fromUs = nowUs();
    // Server CPU is counted from the end of uclient's connect phase (allocations, permissions and
    // channel binds done), so it is the cost of relaying.
    let cpu0 = procTicks(server.pid, false);
    let burst: Promise<void> | undefined;
    log(`  ${scenario.title} ${label} (pid ${server.pid}, :${server.port}, relay ${server.relayPorts.join('-')})`);
    const uc: UclientResult = await runUclient({
      args: scenario.args(server.port),
      core: pin.client,
      timeoutMs: sizes.timeoutMs,
      sampleMs: 100,
      onLine: (text) => {
        if (/Total connect time is/.test(text)) {
          cpu0 = procTicks(server.pid, false);
          fromUs = nowUs();
          if (burstCount !== undefined && !burst) {
            const count = burstCount;
            burst = sleep(BURST_DELAY_MS)
              .then(() => sendBurst({ host: HOST, port: server.port, count, spreadMs: BURST_SPREAD_MS }))
              .then((b) => {
                run.burst = b;
              })
              .catch((err: unknown) => log(`    burst failed: ${message(err)}`));
          }
        }
      },
      onTick: (uclientPid) => {
        const s = sampleMemory(server.pid, false);
        if (s.processes > 0) peak = maxSample(peak, s);
        drops.sample(uclientPid);
      },
    });
    const cpu1 = procTicks(server.pid, false);
    await burst;
    drops.sample();
    run.window = { fromUs, toUs: nowUs() };
    run.drops = drops.counts();
    run.uc = uc;
    run.peak = peak;
    run.cpuSeconds = (cpu1 - cpu0) / clkTck;
    const dead = server.health();
    if (dead) run.error = `server died during the run: ${dead}`;
    log(
      `    sent ${uc.sentMsgs ?? '?'}, received ${uc.recvMsgs ?? '?'}, loss ${uc.lossPct?.toFixed(2) ?? '?'}%, ` +
        `${uc.pktPerSec?.toFixed(0) ?? '?'} packets/s (peak ${uc.peakPktPerSec?.toFixed(0) ?? '?'}), RTT ${uc.rttAvgMs?.toFixed(2) ?? '?'} ms` +
        `${uc.timedOut ? ' [TIMED OUT]' : uc.complete ? '' : ' [INCOMPLETE]'}`,
    );
    if (run.burst) log(`    burst: ${run.burst.sent} Binding requests in ${(run.burst.sendMs / 1000).toFixed(2)} s, ${run.burst.answered} answered; listening socket dropped ${run.drops.listen}, relay sockets ${run.drops.relay}, uclient ${run.drops.client}`);
  } catch (err) {
    run.error = message(err).split('\n').slice(0, 6).join(' | ').slice(0, 800);
    log(`  ${scenario.title} ${label} failed: ${message(err).split('\n')[0]}`);
  } finally {
    await srv?.stop().catch((err: unknown) => log(`  stop failed: ${message(err)}`));
  }
  return run;
}

interface ProfileOutcome {
  summary?: ProfileSummary;
  run?: ServerRun;
  savedAs?: string;
  error?: string;
}

async function profileBurrow(scenario: Scenario, sizes: Sizes, pin: Pinning): Promise<ProfileOutcome> {
  const dir = makeTempDir('turn-bench-prof-');
  log(`profile: Burrow under node --cpu-prof, ${scenario.title}`);
  const run = await measure('burrow', scenario, sizes, pin, { cpuProfDir: dir });
  const file = findCpuProfile(dir);
  if (!file) return { run, error: `no .cpuprofile written${run.error ? ` (${run.error})` : ''}` };
  try {
    const summary = summarizeCpuProfile(file, repoRoot, 15, run.window);
    const outDir = path.join(distBench, 'turn-profiles');
    mkdirSync(outDir, { recursive: true });
    const savedAs = path.join(outDir, `burrow-turn-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    copyFileSync(file, savedAs);
    return { summary, run, savedAs };
  } catch (err) {
    return { run, error: `could not read the profile: ${message(err)}` };
  }
}

// ---------------------------------------------------------------------------------------------
// docs/BENCHMARKS.md

const TURN_SECTIONS = '<!-- turn-bench:sections (newest first; written by `npm run bench:turn`) -->';
const TURN_HOWTO = `## TURN benchmark

\`\`\`sh
npm run bench:turn                      # full run, about 2 minutes; writes a section below
npm run bench:turn -- --profile         # the same plus a CPU profile of Burrow ("where the time goes")
npm run bench:turn -- --quick           # smoke run with small loads (no docs unless --docs)
npm run bench:turn -- --only udp        # some scenarios: udp, flood, tcp (no docs unless --docs)
npm run bench:turn -- --burrow ../wt/bin/burrow.js  # A/B: measure another build (no docs unless --docs)
npm run bench:turn -- --only flood --burst 22000  # plus 22,000 Binding requests in 0.6 s at the listening port during the run (no docs unless --docs)
\`\`\`

Compares Burrow's TURN server (\`burrow server\` with \`stun:\` and \`turn:\` sections, \`tls: false\`)
with coturn's \`turnserver\` (no config file, \`--relay-threads 1\`). Both listen on 127.0.0.1 on
free ports and are pinned to core 1 with \`taskset\`; coturn's load generator \`turnutils_uclient\`
(and this harness) run on core 0. The same uclient flags go to both servers, one after the other,
each started fresh:

- **(1) UDP** \`-m 10 -n 2000 -l 170 -z 0 -y -c\`: 10 clients in client-to-client pairs, 170-byte
  messages over channels, no pacing (uclient then sends bursts of 50 messages per client per 1 ms tick);
- **(2) flood**: \`-Y packet\` where uclient has it; coturn 4.6.1's uclient has no \`-Y\`, so 10x the messages;
- **(3) TCP**: \`-t\`, TCP between uclient and the server (the relay leg stays UDP).

Columns: *packets/s* is received messages over the transmit time (timed here from uclient's
"connect time" line to its summary; uclient's own figure is in whole seconds). uclient starts each
client at a random 1-6 s after connecting and, when messages are missing at the end, waits 10 s for
them, so *packets/s* mostly shows the generator's schedule plus a heavy penalty for any loss.
*peak 1 s packets/s* is the best one-second window of uclient's per-second counters: relay capacity
when the server is the bottleneck (the flood), otherwise it depends on how the random starts overlap.
*server CPU µs/packet* is the server's user+system CPU (all threads) from the end of uclient's
connect phase to its exit, over received messages: the cost of relaying, the steadiest figure.
*UDP drops* are the kernel's per-socket receive-buffer drop counters (\`/proc/net/udp\`) on the
server's listening socket(s), its relay sockets and uclient's sockets: where lost packets were lost.
*peak RSS* is the server's VmRSS, sampled every 100 ms. The target is Burrow at >= 1.0x coturn's
packets/s with 0% loss. With \`--profile\`, Burrow's server runs (1) once more under
\`node --cpu-prof\`, and the top self-time functions of the relay phase (mapped to the TypeScript
sources) are listed; that run is slower and not in the table. Each run also reports how much CPU
other processes used meanwhile; on a busy machine the figures are distorted, and the run says so.

${TURN_SECTIONS}
`;

const TURN_MARKERS: SectionMarkers = {
  sections: TURN_SECTIONS,
  start: (key) => `<!-- turn-bench:start ${key} -->`,
  end: '<!-- turn-bench:end -->',
  intro: `# Burrow benchmarks\n\n${TURN_HOWTO}`,
  block: TURN_HOWTO,
};

/** Keep the how-to above the TURN sections in step with this script (it is written once otherwise). */
function refreshHowTo(file: string): void {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const marker = text.indexOf(TURN_SECTIONS);
  const heading = text.lastIndexOf('## TURN benchmark\n', marker);
  if (marker < 0 || heading < 0) return;
  const updated = text.slice(0, heading) + TURN_HOWTO.slice(0, TURN_HOWTO.indexOf(TURN_SECTIONS)) + text.slice(marker);
  if (updated !== text) writeFileSync(file, updated);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    const text = message(err);
    process.stderr.write(`${text}\n`);
    return text === USAGE ? 0 : 2;
  }
  const started = new Date();
  const sizes = opts.quick ? QUICK : FULL;
  burrowCliOverride = opts.burrow;
  burstCount = opts.burst;
  const pin = await choosePinning();
  const tck = await runToEnd('getconf', 'getconf', ['CLK_TCK'], 5000).catch(() => undefined);
  if (tck && Number(tck.stdout.trim()) > 0) clkTck = Number(tck.stdout.trim());

  const help = await uclientHelp();
  if (!/Usage: uclient/.test(help)) throw new Error(`turnutils_uclient not usable: ${help.slice(0, 300)}`);
  const hasY = /^\s*-Y\b/m.test(help) && /packet/i.test(help);
  const coturnVersion = await toolVersion('turnserver', ['--version'], /^\s*(\d+\.\d+\S*)/m);
  const env = [...describeMachine(), `coturn ${coturnVersion}`].join(', ');
  const all = scenarios(sizes, hasY).filter((s) => opts.only.includes(s.id));
  log(`TURN benchmark${opts.quick ? ' (quick)' : ''}: ${all.map((s) => s.id).join(', ')}${opts.profile ? ' + profile' : ''}; ${pin.note}`);
  if (!hasY) log('this turnutils_uclient has no -Y option: the flood scenario uses 10x the messages instead');

  const results: ScenarioResult[] = [];
  for (const scenario of all) {
    log(`${scenario.title}: ${scenario.description}`);
    const load = watchCpu([]);
    const res: ScenarioResult = { scenario };
    res.coturn = await measure('coturn', scenario, sizes, pin);
    await sleep(500);
    res.burrow = await measure('burrow', scenario, sizes, pin);
    res.load = load();
    results.push(res);
    await sleep(500);
  }

  let prof: ProfileOutcome | undefined;
  if (opts.profile) {
    const main = scenarios(sizes, hasY).find((s) => s.id === 'udp')!;
    prof = await profileBurrow(main, sizes, pin);
    if (prof.error) log(`profile: ${prof.error}`);
  }

  const table = buildTurnTable(results);
  const targets = checkTurnTargets(results);
  const notes = turnNotes(results);
  notes.push(`Pinning: ${pin.note}.`);
  for (const r of [results[0]?.coturn, results[0]?.burrow]) if (r?.command) notes.push(`${r.label} started as: \`${r.command}\``);
  if (prof?.run?.uc) {
    const u = prof.run.uc;
    notes.push(
      `Profiled run (Burrow under --cpu-prof, ${all.find((s) => s.id === 'udp')?.title ?? '(1) UDP'}; not in the table): ${u.pktPerSec?.toFixed(0) ?? '?'} packets/s, peak ${u.peakPktPerSec?.toFixed(0) ?? '?'}, loss ${u.lossPct?.toFixed(2) ?? '?'}%, RTT ${u.rttAvgMs?.toFixed(2) ?? '?'} ms.`,
    );
  }
  if (prof?.savedAs) notes.push(`CPU profile saved as ${path.relative(repoRoot, prof.savedAs)} (open it in Chrome DevTools > Performance, or VS Code).`);
  if (prof?.error) notes.push(`Profile: ERROR: ${prof.error}`);
  const warning = turnLoadWarning(results);
  const mode = `${opts.quick ? 'quick' : 'full'}${opts.only.length < SCENARIO_IDS.length ? ` --only ${opts.only.join(',')}` : ''}${opts.profile ? ' --profile' : ''}${opts.burrow ? ` --burrow ${opts.burrow}` : ''}${opts.burst ? ` --burst ${opts.burst}` : ''}`;

  const out = [
    '',
    `TURN benchmark, ${started.toISOString()} (${mode})`,
    env,
    ...(warning ? ['', warning] : []),
    '',
    renderTextTable(table),
    '',
    'Ratios are Burrow / coturn (packets/s: higher is better; RTT, CPU and RSS: lower is better); loss is compared in percentage points (pp). MB = 10^6 bytes.',
    '',
    'Target:',
    renderTurnTargets(targets, false),
    '',
    ...(prof?.summary ? ['Where the time goes (Burrow, --cpu-prof):', renderProfile(prof.summary), ''] : []),
    'Notes:',
    ...notes.map((n) => `  - ${n}`),
    '',
  ].join('\n');
  process.stdout.write(out);

  if (opts.writeDocs) {
    const date = started.toISOString().slice(0, 10);
    const key = `${date} ${mode}`;
    const body = [
      `### TURN benchmark — ${date}${mode === 'full' ? '' : ` (${mode})`}`,
      '',
      `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${env}.`,
      `uclient runs bounded to ${sizes.timeoutMs / 1000} s each; ${pin.note}.`,
      ...(warning ? ['', `> **${warning}**`] : []),
      '',
      renderMarkdownTable(table),
      '',
      'Ratios are Burrow / coturn (packets/s: higher is better; RTT, CPU and RSS: lower is better); loss is compared in percentage points (pp). MB = 10^6 bytes.',
      '',
      '#### Target',
      '',
      renderTurnTargets(targets, true),
      ...(prof?.summary ? ['', '#### Where the time goes (Burrow, `--cpu-prof`, (1) UDP)', '', renderProfile(prof.summary)] : []),
      '',
      '#### Notes',
      '',
      ...notes.map((n) => `- ${n}`),
    ].join('\n');
    const file = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
    refreshHowTo(file);
    writeMarkedSection(file, TURN_MARKERS, key, body);
    log(`wrote section "${key}" to ${file}`);
  } else {
    log('docs/BENCHMARKS.md not written (quick or partial run; pass --docs to write)');
  }
  return 0;
}

runBench('bench:turn', main, process.argv.includes('--quick') ? 4 : 8, log);
