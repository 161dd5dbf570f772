/**
 * Turn the rounds' per-path results into the comparison table (text and Markdown) and the
 * target checks. Rate figures (throughput, latency, new connections) are the median over the
 * rounds with their min–max; their ratios are medians of per-round ratios (see rounds.ts).
 * Memory figures come from the last round, the only one that runs the memory phases.
 */
import type { Phases } from './options.js';
import type { PathId } from './path.js';
import { phaseFailed, type Phase, type PathResult } from './results.js';
import { pairedRatios, pathIn, perRound, roundList, spread, verdictOverRounds, type Rounds } from './rounds.js';

/** rate: measured every round (median, ratio, spread); memory: last round only; cpu: worst round. */
type RowKind = 'rate' | 'memory' | 'cpu';

interface RowDef {
  metric: string;
  phase: Phase;
  kind: RowKind;
  /** Ratio to (a) is printed when true. */
  ratio: boolean;
  decimals: (v: number) => number;
  get(r: PathResult): number | undefined;
}

export interface Table {
  header: string[];
  rows: string[][];
}

const mbDecimals = (v: number): number => (v >= 100 ? 0 : 1);
const msDecimals = (v: number): number => (v >= 10 ? 1 : v >= 0.1 ? 2 : 3);

function rowDefs(phases: Phases): RowDef[] {
  const n = phases.activeConnections;
  const rows: RowDef[] = [
    { metric: 'throughput 1 stream (MB/s)', phase: 'iperf1', kind: 'rate', ratio: true, decimals: mbDecimals, get: (r) => r.tput1 },
    { metric: 'throughput 8 streams (MB/s)', phase: 'iperf8', kind: 'rate', ratio: true, decimals: mbDecimals, get: (r) => r.tput8 },
  ];
  for (const rate of phases.latencyRates) {
    const phase: Phase = `latency${rate}`;
    rows.push({ metric: `latency p50 @ ${rate}/s (ms)`, phase, kind: 'rate', ratio: true, decimals: msDecimals, get: (r) => r.latency.get(rate)?.p50Ms });
    rows.push({ metric: `latency p99 @ ${rate}/s (ms)`, phase, kind: 'rate', ratio: true, decimals: msDecimals, get: (r) => r.latency.get(rate)?.p99Ms });
  }
  rows.push({ metric: 'new connections/s', phase: 'connRate', kind: 'rate', ratio: true, decimals: () => 0, get: (r) => r.connRate?.perSec });
  rows.push({ metric: `server RSS @ ${n} conns (MB)`, phase: 'active', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.server?.peak.rssMB });
  rows.push({ metric: `client RSS @ ${n} conns (MB)`, phase: 'active', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.client?.peak.rssMB });
  rows.push({ metric: `server RSS @ ${n} conns, end of hold (MB)`, phase: 'active', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.server?.end?.rssMB });
  rows.push({ metric: `client RSS @ ${n} conns, end of hold (MB)`, phase: 'active', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.client?.end?.rssMB });
  rows.push({ metric: `server PSS @ ${n} conns (MB)`, phase: 'active', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.server?.peak.pssMB });
  rows.push({ metric: `client PSS @ ${n} conns (MB)`, phase: 'active', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.client?.peak.pssMB });
  rows.push({ metric: 'server RSS idle, after start (MB)', phase: 'start', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.idleServer?.rssMB });
  rows.push({ metric: 'client RSS idle, after start (MB)', phase: 'start', kind: 'memory', ratio: false, decimals: () => 1, get: (r) => r.idleClient?.rssMB });
  if (phases.burstConnections > 0) {
    const k = phases.burstConnections;
    const s = phases.burstSettleSeconds;
    const mem = (r: PathResult, i: number) => r.burst?.memory[i];
    rows.push({ metric: `server RSS peak, ${k}-conn burst (MB)`, phase: 'burst', kind: 'memory', ratio: false, decimals: () => 0, get: (r) => mem(r, 0)?.peak.rssMB });
    rows.push({ metric: `client RSS peak, ${k}-conn burst (MB)`, phase: 'burst', kind: 'memory', ratio: false, decimals: () => 0, get: (r) => mem(r, 1)?.peak.rssMB });
    rows.push({ metric: `server RSS ${s} s after burst / before`, phase: 'burst', kind: 'memory', ratio: false, decimals: () => 2, get: (r) => afterOverBefore(mem(r, 0)) });
    rows.push({ metric: `client RSS ${s} s after burst / before`, phase: 'burst', kind: 'memory', ratio: false, decimals: () => 2, get: (r) => afterOverBefore(mem(r, 1)) });
  }
  rows.push({ metric: 'other processes CPU (% machine)', phase: 'start', kind: 'cpu', ratio: false, decimals: () => 0, get: (r) => r.cpu?.otherPct });
  rows.push({ metric: 'hypervisor steal (% machine)', phase: 'start', kind: 'cpu', ratio: false, decimals: () => 0, get: (r) => r.cpu?.stealPct });
  return rows;
}

function afterOverBefore(m: { before: { rssMB: number }; after: { rssMB: number } } | undefined): number | undefined {
  return m && m.before.rssMB > 0 ? m.after.rssMB / m.before.rssMB : undefined;
}

function fmt(v: number, decimals: number): string {
  if (v === Number.POSITIVE_INFINITY) return 'timeout';
  if (Number.isNaN(v)) return 'n/a';
  return v.toFixed(decimals);
}

export function columnTitle(r: Pick<PathResult, 'id' | 'label'>): string {
  return `(${r.id}) ${r.label}`;
}

/** Every path of the run, in selection order (a path appears in every round, failed or not). */
export function runPaths(rounds: Rounds): PathResult[] {
  const seen = new Map<PathId, PathResult>();
  for (const round of rounds) for (const r of round) if (!seen.has(r.id)) seen.set(r.id, r);
  return [...seen.values()];
}

const lastRound = (rounds: Rounds): readonly PathResult[] => rounds[rounds.length - 1] ?? [];

/** Missing value: 'error' when the phase failed (in any round considered), else 'n/a'. */
function missingCell(results: readonly (PathResult | undefined)[], phase: Phase): string {
  return results.some((r) => r && phaseFailed(r, phase)) ? 'error' : 'n/a';
}

/** A rate figure: "median ratio× (min–max)", with ", k/N rounds" when some rounds gave no sample. */
function rateCell(rounds: Rounds, id: PathId, def: RowDef, hasBase: boolean): string {
  const samples = perRound(rounds, id, def.get);
  const s = spread(samples);
  if (!s) return missingCell(rounds.map((round) => pathIn(round, id)), def.phase);
  let cell = fmt(s.median, def.decimals(s.median));
  if (def.ratio && hasBase) {
    const q = spread(pairedRatios(rounds, id, 'a', def.get));
    if (q && Number.isFinite(q.median)) cell += ` ${q.median.toFixed(2)}×`;
  }
  if (rounds.length > 1) {
    const range = s.n > 1 ? `${fmt(s.min, def.decimals(s.min))}–${fmt(s.max, def.decimals(s.max))}` : '';
    const count = s.n < rounds.length ? `${s.n}/${rounds.length} rounds` : '';
    cell += ` (${[range, count].filter(Boolean).join(', ')})`;
  }
  return cell;
}

export function buildTable(rounds: Rounds, phases: Phases): Table {
  const paths = runPaths(rounds);
  const hasBase = paths.some((r) => r.id === 'a');
  const many = rounds.length > 1;
  const header = ['metric', ...paths.map(columnTitle)];
  const rows = rowDefs(phases).map((def) => {
    const cells = paths.map((p) => {
      if (def.kind === 'rate') return rateCell(rounds, p.id, def, hasBase);
      if (def.kind === 'cpu') {
        // The noisiest round is the one that matters for trusting the figures.
        const s = spread(perRound(rounds, p.id, def.get));
        return s ? fmt(s.max, def.decimals(s.max)) : missingCell(rounds.map((round) => pathIn(round, p.id)), def.phase);
      }
      const r = pathIn(lastRound(rounds), p.id);
      const v = r ? def.get(r) : undefined;
      return v === undefined ? missingCell([r], def.phase) : fmt(v, def.decimals(v));
    });
    const metric = many && def.kind === 'cpu' ? def.metric.replace(/\)$/, ', worst round)') : def.metric;
    return [metric, ...cells];
  });
  return { header, rows };
}

/** The line under the table that says what the figures are. */
export function roundsLine(rounds: number): string {
  return rounds > 1
    ? `${rounds} rounds, paths in rotating order, each started fresh per round: throughput, latency and new-connection figures are medians, min–max in brackets; a ratio is the median of the per-round ratios. Memory rows are from the last round; CPU rows are the worst round.`
    : '1 round: every figure is a single measurement (run with --rounds 3 or more for medians and spread).';
}

export function renderText(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(t.header), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

export function renderMarkdown(t: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(t.header), `|${t.header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...t.rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Targets

export type Verdict = 'met' | 'missed' | 'not measured';

export interface TargetCheck {
  name: string;
  verdict: Verdict;
  detail: string;
}

export function checkTargets(rounds: Rounds, phases: Phases): TargetCheck[] {
  const last = lastRound(rounds);
  const by = (id: PathId): PathResult | undefined => pathIn(last, id) ?? runPaths(rounds).find((r) => r.id === id);
  const has = (id: PathId): boolean => runPaths(rounds).some((r) => r.id === id);
  const many = rounds.length > 1;
  const out: TargetCheck[] = [];
  /** A single value (memory phases, measured in the last round only). */
  const cmp = (name: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string, why?: string): void => {
    if (value === undefined || Number.isNaN(value)) out.push({ name, verdict: 'not measured', detail: why ?? 'path not run or phase failed' });
    else out.push({ name, verdict: ok(value) ? 'met' : 'missed', detail: show(value) });
  };
  /** One sample per round: judged on the median; says how many rounds met it and which had no sample. */
  const cmpRounds = (name: string, samples: (number | undefined)[], ok: (v: number) => boolean, show: (v: number) => string, num: (v: number) => string, extra = ''): void => {
    const v = verdictOverRounds(samples, ok);
    const gap = v.missing.length > 0 ? `; no sample in ${roundList(v.missing)}, left out` : '';
    if (!v.spread) {
      // Every target's name spells the paths it compares as "(x)".
      const absent = [...name.matchAll(/\(([a-g])\)/g)].map((m) => m[1] as PathId).filter((id) => !has(id));
      const detail = absent.length > 0 ? `path ${absent.map((id) => `(${id})`).join(', ')} not run` : `phase failed${many ? ' in every round' : ''}`;
      out.push({ name, verdict: 'not measured', detail });
      return;
    }
    const s = v.spread;
    const detail = many
      ? `median ${show(s.median)}, ${v.met}/${v.of} rounds met (${num(s.min)}–${num(s.max)})${gap}${extra}`
      : `${show(s.median)}${extra}`;
    out.push({ name, verdict: v.verdict, detail });
  };
  const x2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'inf');
  const pct = (v: number): string => (v * 100).toFixed(0);
  const ms = (v: number): string => (Number.isFinite(v) ? fmt(v, msDecimals(v)) : 'timeout');

  const tput1 = (r: PathResult): number | undefined => r.tput1;
  const tput8 = (r: PathResult): number | undefined => r.tput8;
  for (const [streams, get] of [
    ['1 stream', tput1],
    ['8 streams', tput8],
  ] as const) {
    cmpRounds(`(b) throughput >= 50% of (a), ${streams}`, pairedRatios(rounds, 'b', 'a', get), (v) => v >= 0.5, (v) => `${pct(v)}% of direct`, (v) => `${pct(v)}%`);
    cmpRounds(`(c) throughput >= 2x (d), ${streams}`, pairedRatios(rounds, 'c', 'd', get), (v) => v >= 2, (v) => `${x2(v)}x ssh -R`, x2);
  }
  const top = Math.max(...phases.latencyRates);
  const p99Top = (r: PathResult): number | undefined => r.latency.get(top)?.p99Ms;
  const baseP99 = spread(perRound(rounds, 'a', p99Top))?.median;
  // If the baseline itself misses 2 ms, the machine (or generator) cannot resolve this target.
  const baseNote =
    baseP99 !== undefined && baseP99 >= 2 ? ` (direct itself: ${ms(baseP99)} ms${many ? ' median' : ''}, so this machine cannot resolve a 2 ms target)` : '';
  for (const id of ['b', 'c'] as const) {
    if (!has(id)) continue;
    const lost = rounds.reduce((sum, round) => sum + (pathIn(round, id)?.latency.get(top)?.lost ?? 0), 0);
    cmpRounds(
      `(${id}) p99 at ${top} req/s < 2 ms`,
      perRound(rounds, id, p99Top),
      (v) => v < 2,
      (v) => `p99 ${Number.isFinite(v) ? `${ms(v)} ms` : 'unbounded'}`,
      ms,
      `${lost > 0 ? `, ${lost} replies missing${many ? ' over the rounds' : ''}` : ''}${baseNote}`,
    );
  }
  const rate = (r: PathResult): number | undefined => r.connRate?.perSec;
  for (const id of ['b', 'c'] as const) {
    if (!has(id)) continue;
    const baseRate = spread(perRound(rounds, 'a', rate))?.median;
    const rateNote = baseRate !== undefined && baseRate < 2000 ? ` (direct itself: ${baseRate.toFixed(0)}/s, so this machine cannot resolve the target)` : '';
    const errors = rounds.reduce((sum, round) => sum + (pathIn(round, id)?.connRate?.errors ?? 0), 0);
    cmpRounds(`(${id}) >= 2000 new connections/s`, perRound(rounds, id, rate), (v) => v >= 2000, (v) => `${v.toFixed(0)}/s`, (v) => v.toFixed(0), `${errors ? `, ${errors} errors` : ''}${rateNote}`);
  }
  for (const r of [by('b'), by('c')]) {
    if (!r) continue;
    const name = `(${r.id}) server RSS <= 80 MB at ${phases.activeConnections} active connections`;
    const act = r.active;
    if (act && act.aliveAtHold < phases.activeConnections) {
      out.push({ name, verdict: 'missed', detail: `only ${act.aliveAtHold}/${phases.activeConnections} connections open${act.firstError ? ` (${act.firstError})` : ''}` });
    } else {
      const flow = act && act.sentPerSec > 0 ? act.echoedPerSec / act.sentPerSec : 1;
      const caveat = flow < 0.9 ? ` (but only ${(flow * 100).toFixed(0)}% of the messages sent were echoed back during the hold)` : '';
      cmp(name, r.server?.peak.rssMB, (v) => v <= 80, (v) => `${v.toFixed(1)} MB${caveat}`);
    }
  }
  // Issue 12's targets (relative to ssh -R in the same round, and memory).
  const vsSsh = (get: (r: PathResult) => number | undefined, id: PathId = 'c') => pairedRatios(rounds, id, 'd', get);
  const xSsh = (v: number): string => `${x2(v)}x ssh -R`;
  cmpRounds('(c) throughput >= 1.2x (d), 1 stream', vsSsh(tput1), (v) => v >= 1.2, xSsh, x2);
  cmpRounds('(c) throughput >= 1.2x (d), 8 streams', vsSsh(tput8), (v) => v >= 1.2, xSsh, x2);
  cmpRounds('(b) throughput >= 1.5x (d), 1 stream', vsSsh(tput1, 'b'), (v) => v >= 1.5, xSsh, x2);
  cmpRounds(`(c) p99 at ${top} req/s no worse than (d)`, vsSsh(p99Top), (v) => v <= 1, (v) => `${x2(v)}x ssh -R's p99`, x2);
  cmpRounds('(c) new connections/s >= 3x (d)', vsSsh(rate), (v) => v >= 3, xSsh, x2);
  const c = by('c');
  cmp(`(c) client RSS <= 80 MB at ${phases.activeConnections} active connections`, c?.client?.peak.rssMB, (v) => v <= 80, (v) => `${v.toFixed(1)} MB`);
  // The peak includes what the new-connections phase just before left behind; the end of the hold
  // is what the processes settled at with the connections still open.
  for (const side of ['server', 'client'] as const) {
    const end = c?.[side]?.end?.rssMB;
    if (end !== undefined) cmp(`(c) ${side} RSS <= 80 MB at the end of the ${phases.activeHoldSeconds} s hold of ${phases.activeConnections} connections`, end, (v) => v <= 80, (v) => `${v.toFixed(1)} MB`);
  }
  cmp('(c) idle server RSS <= 50 MB', c?.idleServer?.rssMB, (v) => v <= 50, (v) => `${v.toFixed(1)} MB (PSS ${c?.idleServer?.pssMB.toFixed(1) ?? '?'} MB)`);
  if (phases.burstConnections > 0) {
    for (const r of [c, by('g')]) {
      if (!r) continue;
      for (const i of [0, 1]) {
        const m = r.burst?.memory[i];
        cmp(
          `(${r.id}) ${i === 0 ? 'server' : 'client'} RSS ${phases.burstSettleSeconds} s after the ${phases.burstConnections}-connection burst <= 1.5x before`,
          afterOverBefore(m),
          (v) => v <= 1.5,
          (v) => `${v.toFixed(2)}x (${m!.before.rssMB.toFixed(0)} -> peak ${m!.peak.rssMB.toFixed(0)} -> ${m!.after.rssMB.toFixed(0)} MB)`,
        );
      }
    }
  }
  if (!has('b') && !has('c')) out.push({ name: 'Burrow targets', verdict: 'not measured', detail: 'paths (b) and (c) not selected' });
  return out;
}

export function renderTargets(checks: TargetCheck[], markdown: boolean): string {
  return checks
    .map((t) => {
      const verdict = t.verdict.toUpperCase();
      return markdown ? `- **${verdict}** — ${t.name}: ${t.detail}` : `  [${verdict.padEnd(12)}] ${t.name}: ${t.detail}`;
    })
    .join('\n');
}

/** Per-path notes: generator lag, missing replies, active-connection health, errors (with their round). */
export function pathNotes(rounds: Rounds): string[] {
  const out: string[] = [];
  const many = rounds.length > 1;
  const tag = (r: PathResult): string => (many ? `r${r.round + 1} ` : '');
  for (const path of runPaths(rounds)) {
    const p = `(${path.id}) ${path.label}`;
    const all = rounds.flatMap((round) => pathIn(round, path.id) ?? []);
    const last = pathIn(lastRound(rounds), path.id);
    for (const n of new Set(all.flatMap((r) => r.notes))) out.push(`${p}: ${n}`);
    const cpus = all.filter((r) => r.cpu);
    if (cpus.length > 0) {
      const list = (get: (r: PathResult) => number): string => cpus.map((r) => get(r).toFixed(0)).join('/');
      out.push(
        `${p}: while throughput, latency and new connections were measured, other processes used ${list((r) => r.cpu!.otherPct)}% of the machine's CPU, steal ${list((r) => r.cpu!.stealPct)}%${many ? ` (${roundList(cpus.map((r) => r.round))})` : ''}`,
      );
    }
    const rates = [...new Set(all.flatMap((r) => [...r.latency.keys()]))];
    for (const rate of rates) {
      const parts = all.flatMap((r) => {
        const l = r.latency.get(rate);
        return l ? [`${tag(r)}${l.measured} requests, ${l.lost} missing, max ${fmt(l.maxMs, 2)} ms, generator send lag p99 ${fmt(l.sendLagP99Ms, 2)} ms`] : [];
      });
      out.push(`${p}: latency @ ${rate}/s: ${parts.join('; ')}`);
    }
    const conns = all.flatMap((r) =>
      r.connRate ? [`${tag(r)}${r.connRate.ok} ok, ${r.connRate.errors} errors${r.connRate.firstError ? ` (first: ${r.connRate.firstError})` : ''}`] : [],
    );
    if (conns.length > 0) out.push(`${p}: new connections: ${conns.join('; ')}`);
    if (last?.active) {
      const a = last.active;
      out.push(
        `${p}: active connections: ${a.opened} opened, ${a.failed} failed to open, ${a.droppedBeforeHold} dropped before the hold, ${a.dropped} during it; messages sent ${a.sentPerSec.toFixed(0)}/s (nominal ${a.nominalPerSec.toFixed(0)}/s), echoed ${a.echoedPerSec.toFixed(0)}/s${a.firstError ? ` (first error: ${a.firstError})` : ''}`,
      );
    }
    if (last?.burst) {
      const x = last.burst;
      out.push(
        `${p}: burst: ${x.opened}/${x.count} connections opened (${x.failed} failed), ${x.completed} echoed all ${x.bytes} B, ${x.seconds.toFixed(1)} s; ${x.memory.map((m) => `${m.label} RSS ${m.before.rssMB.toFixed(0)} -> peak ${m.peak.rssMB.toFixed(0)} -> ${m.after.rssMB.toFixed(0)} MB ${x.settleSeconds} s after`).join('; ')}${x.firstError ? ` (first error: ${x.firstError})` : ''}`,
      );
    }
    for (const m of [last?.server, last?.client]) if (m) out.push(`${p}: memory probe "${m.label}": ${m.peak.processes} process(es) at peak`);
    for (const r of all) {
      for (const e of r.errors) {
        const left = many && e.phase !== 'start' && e.phase !== 'health' && e.phase !== 'active' && e.phase !== 'burst' ? '; that round is left out of the median' : '';
        out.push(`${p}: ERROR in ${e.phase}${many ? ` (round ${r.round + 1})` : ''}: ${e.message}${left}`);
      }
    }
  }
  return out;
}

/** Loud warning when unrelated load was high enough to distort the figures (names the rounds). */
export function loadWarning(rounds: Rounds, thresholdPct = 10): string | undefined {
  const many = rounds.length > 1;
  const busy = rounds.flatMap((round) => round.filter((r) => r.cpu && (r.cpu.otherPct > thresholdPct || r.cpu.stealPct > thresholdPct)));
  if (busy.length === 0) return undefined;
  const list = busy.map((r) => `(${r.id})${many ? ` round ${r.round + 1}` : ''} ${r.cpu!.otherPct.toFixed(0)}% other, ${r.cpu!.stealPct.toFixed(0)}% steal`).join('; ');
  return `WARNING: the machine was not idle (${list}); figures for those paths are distorted. Re-run on an idle machine.`;
}
