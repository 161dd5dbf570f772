/** Results of `npm run bench:p2p` and their rendering (terminal text and docs/BENCHMARKS.md). */
import { renderProfile, type ProfileSummary } from './cpuprofile.js';
import type { SectionMarkers } from './docs.js';
import type { P2pOptions } from './p2p-options.js';
import { median, percentile, sortedCopy } from './stats.js';

export interface PathRuns {
  /** MB/s (10^6 bytes) per iperf3 run. */
  runs: number[];
  /** Per run: CPU of Burrow's processes (% of one core) and of everything else (% of the machine). */
  cpu?: RunCpu[];
  error?: string;
}

export interface RunCpu {
  visiting: number;
  serving: number;
  server: number;
  otherPct: number;
  stealPct: number;
  /** Machine-wide irq + softirq (the kernel's network stack, charged to no process), % of the machine. */
  softirqPct?: number;
  /** UDP datagrams both hosts' kernels dropped for a full socket receive buffer during the run. */
  udpRcvbufDrops?: number;
  /** Packets the shaping qdiscs dropped during the run (shaped link only). */
  tbfDrops?: number;
}

export interface LinkThroughput {
  link: string;
  kernel: PathRuns;
  direct: PathRuns;
  relay: PathRuns;
}

export type PunchSample =
  | { ok: true; punchMs: number; totalMs?: number; rttMs?: number }
  | { ok: false; reason: string };

export type FallbackSample = { ok: true; ms: number } | { ok: false; reason: string };

export interface P2pResults {
  throughput: LinkThroughput[];
  profile?: { mbPerSec: number; profiles: Array<{ role: 'visiting' | 'serving'; saved: string; summary: ProfileSummary }> };
  punch: Array<{ pair: string; samples: PunchSample[] }>;
  fallback: FallbackSample[];
  notes: string[];
  errors: string[];
}

export interface P2pMeta {
  started: Date;
  env: string;
  mode: string;
  opts: P2pOptions;
}

export { median };

const f0 = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '—');
const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');
const pctOf = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${((100 * a) / b).toFixed(0)} %` : '—');
const mbit = (mb: number): string => (Number.isFinite(mb) ? `${(mb * 8).toFixed(0)}` : '—');

function cell(p: PathRuns): string {
  if (p.runs.length === 0) return p.error ? `failed (${p.error.slice(0, 60)})` : '—';
  return `${f1(median(p.runs))} (${mbit(median(p.runs))} Mbit/s)`;
}

interface Row {
  cells: string[];
}

function table(head: string[], rows: Row[], md: boolean): string {
  if (md) return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.cells.join(' | ')} |`)].join('\n');
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(r.cells))].join('\n');
}

export function throughputTable(results: P2pResults, md: boolean): string {
  const rows = results.throughput.map((t) => {
    const k = median(t.kernel.runs);
    const d = median(t.direct.runs);
    const r = median(t.relay.runs);
    return { cells: [t.link, cell(t.kernel), cell(t.direct), pctOf(d, k), cell(t.relay), pctOf(r, k), pctOf(d, r), String(Math.max(t.kernel.runs.length, t.direct.runs.length, t.relay.runs.length))] };
  });
  return table(['link', 'kernel TCP MB/s', 'direct (udx + Noise) MB/s', 'direct / kernel', 'relay (TLS) MB/s', 'relay / kernel', 'direct / relay', 'runs'], rows, md);
}

export interface PunchStats {
  pair: string;
  attempts: number;
  direct: number;
  punchP50: number;
  punchP95: number;
  totalP50: number;
  totalP95: number;
  rttP50: number;
  failures: string[];
}

export function punchStats(p: P2pResults['punch'][number]): PunchStats {
  const ok = p.samples.filter((s): s is Extract<PunchSample, { ok: true }> => s.ok);
  const punch = sortedCopy(ok.map((s) => s.punchMs));
  const total = sortedCopy(ok.flatMap((s) => (s.totalMs !== undefined ? [s.totalMs] : [])));
  const rtt = sortedCopy(ok.flatMap((s) => (s.rttMs !== undefined ? [s.rttMs] : [])));
  return {
    pair: p.pair,
    attempts: p.samples.length,
    direct: ok.length,
    punchP50: percentile(punch, 50),
    punchP95: percentile(punch, 95),
    totalP50: percentile(total, 50),
    totalP95: percentile(total, 95),
    rttP50: percentile(rtt, 50),
    failures: p.samples.flatMap((s) => (s.ok ? [] : [s.reason])),
  };
}

export function punchTable(results: P2pResults, md: boolean): string {
  const rows = results.punch.map(punchStats).map((s) => ({
    cells: [s.pair, `${s.direct}/${s.attempts}`, f0(s.punchP50), f0(s.punchP95), f0(s.totalP50), f0(s.totalP95), f1(s.rttP50)],
  }));
  return table(['NAT pair', 'direct', 'punch p50 ms', 'punch p95 ms', 'attempt start → direct p50 ms', 'p95 ms', 'probe RTT p50 ms'], rows, md);
}

export interface FallbackStats {
  attempts: number;
  ok: number;
  p50: number;
  p95: number;
  max: number;
  failures: string[];
}

export function fallbackStats(samples: readonly FallbackSample[]): FallbackStats {
  const ms = sortedCopy(samples.flatMap((s) => (s.ok ? [s.ms] : [])));
  return { attempts: samples.length, ok: ms.length, p50: percentile(ms, 50), p95: percentile(ms, 95), max: ms.length ? ms[ms.length - 1]! : Number.NaN, failures: samples.flatMap((s) => (s.ok ? [] : [s.reason])) };
}

export function fallbackTable(results: P2pResults, md: boolean): string {
  const s = fallbackStats(results.fallback);
  return table(['case', 'worked via relay', 'p50 ms', 'p95 ms', 'max ms'], [{ cells: ['full cone × full cone, UDP between the routers dropped', `${s.ok}/${s.attempts}`, f0(s.p50), f0(s.p95), f0(s.max)] }], md);
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** The issue's targets: ≥ 90 % of kernel TCP on the shaped link; punch p50 < 200 ms; fallback ≤ 1 s. */
export function checkP2pTargets(results: P2pResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const shaped = results.throughput.find((t) => t.link.startsWith('tbf'));
  if (shaped) {
    const ratio = median(shaped.direct.runs) / median(shaped.kernel.runs);
    out.push({ target: `direct ≥ 90 % of kernel TCP on the shaped link (${shaped.link})`, measured: Number.isFinite(ratio) ? `${(100 * ratio).toFixed(0)} %` : 'not measured', met: Number.isFinite(ratio) ? ratio >= 0.9 : undefined });
  }
  for (const p of results.punch.map(punchStats)) {
    out.push({ target: `punch p50 < 200 ms (${p.pair})`, measured: p.direct > 0 ? `${f0(p.punchP50)} ms punch, ${f0(p.totalP50)} ms from attempt start; ${p.direct}/${p.attempts} direct` : `no direct path in ${p.attempts}`, met: p.direct > 0 ? p.punchP50 < 200 : false });
  }
  if (results.fallback.length > 0) {
    const f = fallbackStats(results.fallback);
    out.push({ target: 'fallback ≤ 1 s (every attempt)', measured: f.ok > 0 ? `p50 ${f0(f.p50)} ms, max ${f0(f.max)} ms; ${f.ok}/${f.attempts} worked` : 'none worked', met: f.ok === f.attempts && f.max <= 1000 });
  }
  return out;
}

function targetsText(results: P2pResults, md: boolean): string {
  return checkP2pTargets(results)
    .map((c) => `${md ? '- ' : '  '}${c.met === undefined ? '?' : c.met ? 'met' : 'NOT met'}: ${c.target}: ${c.measured}`)
    .join('\n');
}

/** A warning when processes outside the benchmark used more than `thresholdPct` of the machine during a throughput run. */
export function p2pLoadWarning(results: P2pResults, thresholdPct = 10): string | undefined {
  const busy: string[] = [];
  for (const t of results.throughput) {
    for (const p of ['kernel', 'direct', 'relay'] as const) {
      const worst = Math.max(0, ...(t[p].cpu ?? []).map((c) => Math.max(c.otherPct, c.stealPct)));
      if (worst > thresholdPct) busy.push(`${t.link} ${p} up to ${worst.toFixed(0)} %`);
    }
  }
  if (busy.length === 0) return undefined;
  return `WARNING: the machine was not idle: other processes (or steal) took ${busy.join(', ')} of the machine during throughput runs; the unshaped (CPU-bound) figures are the most distorted. Re-run on an idle machine.`;
}

function failureNotes(results: P2pResults): string[] {
  const out: string[] = [];
  for (const p of results.punch.map(punchStats)) {
    const counts = new Map<string, number>();
    for (const f of p.failures) counts.set(f, (counts.get(f) ?? 0) + 1);
    for (const [f, n] of counts) out.push(`${p.pair}: ${n} attempt(s) without a direct path: ${f}`);
  }
  const fb = fallbackStats(results.fallback);
  for (const f of new Set(fb.failures)) out.push(`fallback: ${fb.failures.filter((x) => x === f).length} attempt(s) failed: ${f}`);
  for (const t of results.throughput) {
    const runs = (['kernel', 'direct', 'relay'] as const).map((p) => `${p} ${t[p].runs.map((r) => r.toFixed(1)).join(' / ') || '—'}`);
    out.push(`every iperf3 run, ${t.link} (MB/s, in run order): ${runs.join('; ')}`);
  }
  return [...out, ...results.notes, ...results.errors.map((e) => `phase failed: ${e}`)];
}

function runLine(meta: P2pMeta): string {
  const o = meta.opts;
  return `iperf3 ${o.iperfSeconds} s × ${o.iperfRepeats} per path and link (median), one stream, visitor → service; ${o.punchAttempts} punches per pair; ${o.fallbackAttempts} fallbacks`;
}

function warningLines(results: P2pResults, md: boolean): string[] {
  const w = p2pLoadWarning(results);
  return w ? ['', md ? `> **${w}**` : w] : [];
}

function profileText(results: P2pResults, md: boolean): string[] {
  const p = results.profile;
  if (!p) return [];
  const out = ['', `${md ? '#### ' : ''}Where the time goes: both clients under \`--cpu-prof\`, one direct iperf3 run on the unshaped link (${f1(p.mbPerSec)} MB/s under the profiler)`];
  for (const x of p.profiles) {
    const full = renderProfile(x.summary).replace(/^Relay phase only \([^)]*\)/, 'iperf3 phase only');
    // in the docs: the top frames and the categories (the per-file table is in the terminal output)
    const text = md ? full.split('\n\n').slice(0, 3).join('\n\n') : full;
    out.push('', `${md ? '##### ' : ''}${x.role === 'visiting' ? 'Visiting client (iperf3 client side: encrypts and sends)' : 'Serving client (iperf3 server side: receives and decrypts)'} — \`${x.saved}\``, '', text);
  }
  return out;
}

export function cpuTable(results: P2pResults, md: boolean): string {
  const avg = (xs: number[]): string => (xs.length ? `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0)} %` : '—');
  const rows = results.throughput.flatMap((t) =>
    (['kernel', 'direct', 'relay'] as const).map((p) => {
      const c = t[p].cpu ?? [];
      return { cells: [t.link, p, avg(c.map((x) => x.visiting)), avg(c.map((x) => x.serving)), avg(c.map((x) => x.server)), avg(c.flatMap((x) => (x.softirqPct !== undefined ? [x.softirqPct] : []))), c.some((x) => x.udpRcvbufDrops !== undefined) ? c.map((x) => String(x.udpRcvbufDrops ?? '?')).join(' / ') : '—', c.some((x) => x.tbfDrops !== undefined) ? c.map((x) => String(x.tbfDrops ?? '?')).join(' / ') : '—', avg(c.map((x) => x.otherPct))] };
    }),
  );
  return table(['link', 'path', 'visiting client CPU', 'serving client CPU', 'server CPU', 'softirq (% of machine)', 'UDP rcvbuf drops per run', 'tbf drops per run', 'other processes (% of machine)'], rows, md);
}

export function renderP2pText(results: P2pResults, meta: P2pMeta): string {
  const notes = failureNotes(results);
  return [
    `Peer-to-peer benchmark, ${meta.started.toISOString()} (${meta.mode})`,
    meta.env,
    runLine(meta),
    ...warningLines(results, false),
    '',
    'Throughput between two public lab hosts (MB = 10^6 bytes; ratios in the same run):',
    throughputTable(results, false),
    '',
    'CPU during those runs (Burrow processes: % of one core; softirq, where the kernel\'s TCP and UDP work mostly lands, is charged to no process):',
    cpuTable(results, false),
    '',
    'Punch time (fresh visiting client per attempt; "punch" = the puncher\'s own duration from the scheduled start):',
    punchTable(results, false),
    '',
    'Fallback (first connection, made as soon as the visitor is online, answered through the relay):',
    fallbackTable(results, false),
    '',
    'Targets:',
    targetsText(results, false),
    ...profileText(results, false),
    ...(notes.length ? ['', 'Notes:', ...notes.map((n) => `  - ${n}`)] : []),
    '',
  ].join('\n');
}

export function renderP2pMarkdown(results: P2pResults, meta: P2pMeta): string {
  const notes = failureNotes(results);
  return [
    `### Peer-to-peer benchmark — ${meta.started.toISOString().slice(0, 16).replace('T', ' ')} UTC${meta.mode === 'full' ? '' : ` (${meta.mode})`}`,
    '',
    `Run ${meta.started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${meta.env}. ${runLine(meta)}.`,
    ...warningLines(results, true),
    '',
    '#### Throughput (two public lab hosts; MB = 10^6 bytes)',
    '',
    throughputTable(results, true),
    '',
    'CPU during those runs (Burrow processes: % of one core, averaged over the runs; softirq, where the kernel\'s TCP and UDP work mostly lands, is charged to no process and is machine-wide; "other" is every process outside this benchmark):',
    '',
    cpuTable(results, true),
    '',
    '#### Punch time',
    '',
    punchTable(results, true),
    '',
    '#### Fallback time',
    '',
    fallbackTable(results, true),
    '',
    '#### Targets',
    '',
    targetsText(results, true),
    ...profileText(results, true),
    ...(notes.length ? ['', '#### Notes', '', ...notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}

const P2P_SECTIONS = '<!-- p2p-bench:sections (newest first; written by `npm run bench:p2p`) -->';
const P2P_HOWTO = `## Peer-to-peer

\`\`\`sh
npm run bench:p2p                  # full run, about 10 minutes, as root; writes a section below
npm run bench:p2p -- --quick       # smoke run (5 punches per pair, 5 fallbacks, short iperf3 runs)
npm run bench:p2p -- --help        # all flags
\`\`\`

It needs root, iproute2 (\`ip netns\`, \`tc\`), nftables and iperf3, and builds its own lab of network
namespaces with \`e2e/natlab/natlab.sh\` (\`none none full full port-restricted port-restricted\`,
under a prefix of its own; torn down at the end, on failure and on Ctrl-C). A Burrow server with
RFC 5780 STUN runs in the server namespace; the clients are \`burrow client\` processes in the hosts'
namespaces, with TLS to the server (the default).

- **Throughput**: between the two public hosts (kind \`none\`), one iperf3 stream from the visiting
  host to an iperf3 server on the serving host, three ways in the same run: **kernel TCP** straight
  to the other host; the **direct** path (a \`p2p\` visitor: udx streams over the punched UDP socket,
  Noise-encrypted by @hyperswarm/secret-stream); the **relay** (a \`secret\` visitor of the same
  tunnel, through the server). Once on the unshaped veth link and once with a \`tbf\` qdisc on both
  ends of both hosts' veths (the lab has no \`tc netem\`). The runs are interleaved; the median is
  reported. On the unshaped link the user-space transport is CPU-bound: a \`--cpu-prof\` of the
  visiting client during one more direct run says where the time goes.
- **Punch time**: a fresh visiting client per attempt (full cone × full cone, then port-restricted ×
  port-restricted). "Punch" is the attempt's \`durationMs\` in \`burrow status --json\` (from the
  start time both sides were given to the first authenticated probe exchange); "attempt start →
  direct" adds gathering candidates (a STUN binding) and the offer/answer through the server (from
  the attempt's \`startedAt\` to the client's "p2p direct path up" log line). Each attempt then
  carries one connection over the path.
- **Fallback time**: UDP between the two full-cone routers dropped (nft); a fresh visiting client per
  attempt; the first connection is made as soon as the visitor is online and timed from its connect
  to the last byte of a 4 KiB echo, which comes back through the relay after \`fallbackTimeout\`
  (default 1 s).

${P2P_SECTIONS}
`;

export const P2P_MARKERS: SectionMarkers = {
  sections: P2P_SECTIONS,
  start: (key) => `<!-- p2p-bench:start ${key} -->`,
  end: '<!-- p2p-bench:end -->',
  intro: `# Burrow benchmarks\n\n${P2P_HOWTO}`,
  block: P2P_HOWTO,
};
