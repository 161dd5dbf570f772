/** Turn per-path results into the comparison table (text and Markdown) and the target checks. */
import type { Phases } from './options.js';
import type { PathId } from './path.js';
import { phaseFailed, type Phase, type PathResult } from './results.js';

interface RowDef {
  metric: string;
  phase: Phase;
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
    { metric: 'throughput 1 stream (MB/s)', phase: 'iperf1', ratio: true, decimals: mbDecimals, get: (r) => r.tput1 },
    { metric: 'throughput 8 streams (MB/s)', phase: 'iperf8', ratio: true, decimals: mbDecimals, get: (r) => r.tput8 },
  ];
  for (const rate of phases.latencyRates) {
    const phase: Phase = `latency${rate}`;
    rows.push({ metric: `latency p50 @ ${rate}/s (ms)`, phase, ratio: true, decimals: msDecimals, get: (r) => r.latency.get(rate)?.p50Ms });
    rows.push({ metric: `latency p99 @ ${rate}/s (ms)`, phase, ratio: true, decimals: msDecimals, get: (r) => r.latency.get(rate)?.p99Ms });
  }
  rows.push({ metric: 'new connections/s', phase: 'connRate', ratio: true, decimals: () => 0, get: (r) => r.connRate?.perSec });
  rows.push({ metric: `server RSS @ ${n} conns (MB)`, phase: 'active', ratio: false, decimals: () => 1, get: (r) => r.server?.peak.rssMB });
  rows.push({ metric: `client RSS @ ${n} conns (MB)`, phase: 'active', ratio: false, decimals: () => 1, get: (r) => r.client?.peak.rssMB });
  rows.push({ metric: `server PSS @ ${n} conns (MB)`, phase: 'active', ratio: false, decimals: () => 1, get: (r) => r.server?.peak.pssMB });
  rows.push({ metric: `client PSS @ ${n} conns (MB)`, phase: 'active', ratio: false, decimals: () => 1, get: (r) => r.client?.peak.pssMB });
  rows.push({ metric: 'server RSS idle, after start (MB)', phase: 'start', ratio: false, decimals: () => 1, get: (r) => r.idleServer?.rssMB });
  rows.push({ metric: 'client RSS idle, after start (MB)', phase: 'start', ratio: false, decimals: () => 1, get: (r) => r.idleClient?.rssMB });
  if (phases.burstConnections > 0) {
    const k = phases.burstConnections;
    const s = phases.burstSettleSeconds;
    const mem = (r: PathResult, i: number) => r.burst?.memory[i];
    rows.push({ metric: `server RSS peak, ${k}-conn burst (MB)`, phase: 'burst', ratio: false, decimals: () => 0, get: (r) => mem(r, 0)?.peak.rssMB });
    rows.push({ metric: `client RSS peak, ${k}-conn burst (MB)`, phase: 'burst', ratio: false, decimals: () => 0, get: (r) => mem(r, 1)?.peak.rssMB });
    rows.push({ metric: `server RSS ${s} s after burst / before`, phase: 'burst', ratio: false, decimals: () => 2, get: (r) => afterOverBefore(mem(r, 0)) });
    rows.push({ metric: `client RSS ${s} s after burst / before`, phase: 'burst', ratio: false, decimals: () => 2, get: (r) => afterOverBefore(mem(r, 1)) });
  }
  rows.push({ metric: 'other processes CPU (% machine)', phase: 'start', ratio: false, decimals: () => 0, get: (r) => r.cpu?.otherPct });
  rows.push({ metric: 'hypervisor steal (% machine)', phase: 'start', ratio: false, decimals: () => 0, get: (r) => r.cpu?.stealPct });
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

export function buildTable(results: PathResult[], phases: Phases): Table {
  const base = results.find((r) => r.id === 'a');
  const header = ['metric', ...results.map(columnTitle)];
  const rows = rowDefs(phases).map((def) => {
    const cells = results.map((r) => {
      const v = def.get(r);
      if (v === undefined) {
        if (phaseFailed(r, def.phase)) return 'error';
        return 'n/a';
      }
      let cell = fmt(v, def.decimals(v));
      if (def.ratio) {
        const b = base ? def.get(base) : undefined;
        if (b !== undefined && Number.isFinite(b) && b > 0 && Number.isFinite(v)) cell += ` (${(v / b).toFixed(2)}x)`;
      }
      return cell;
    });
    return [def.metric, ...cells];
  });
  return { header, rows };
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

export function checkTargets(results: PathResult[], phases: Phases): TargetCheck[] {
  const by = (id: PathId): PathResult | undefined => results.find((r) => r.id === id);
  const out: TargetCheck[] = [];
  const cmp = (name: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string, why?: string): void => {
    if (value === undefined || Number.isNaN(value)) out.push({ name, verdict: 'not measured', detail: why ?? 'path not run or phase failed' });
    else out.push({ name, verdict: ok(value) ? 'met' : 'missed', detail: show(value) });
  };
  const ratio = (x: number | undefined, y: number | undefined): number | undefined => (x !== undefined && y !== undefined && y > 0 ? x / y : undefined);

  const a = by('a');
  const b = by('b');
  const c = by('c');
  const d = by('d');
  for (const [streams, get] of [
    ['1 stream', (r?: PathResult) => r?.tput1],
    ['8 streams', (r?: PathResult) => r?.tput8],
  ] as const) {
    cmp(`(b) throughput >= 50% of (a), ${streams}`, ratio(get(b), get(a)), (v) => v >= 0.5, (v) => `${(v * 100).toFixed(0)}% of direct`);
    cmp(`(c) throughput >= 2x (d), ${streams}`, ratio(get(c), get(d)), (v) => v >= 2, (v) => `${v.toFixed(2)}x ssh -R`);
  }
  const top = Math.max(...phases.latencyRates);
  const baseP99 = a?.latency.get(top)?.p99Ms;
  // If the baseline itself misses 2 ms, the machine (or generator) cannot resolve this target.
  const baseNote =
    baseP99 !== undefined && baseP99 >= 2 ? ` (direct itself: ${fmt(baseP99, msDecimals(baseP99))} ms, so this machine cannot resolve a 2 ms target)` : '';
  for (const r of [b, c]) {
    if (!r) continue;
    const lat = r.latency.get(top);
    cmp(
      `(${r.id}) p99 at ${top} req/s < 2 ms`,
      lat?.p99Ms,
      (v) => v < 2,
      (v) => `p99 ${Number.isFinite(v) ? `${fmt(v, msDecimals(v))} ms` : 'unbounded'}${lat && lat.lost > 0 ? `, ${lat.lost} replies missing` : ''}${baseNote}`,
    );
  }
  for (const r of [b, c]) {
    if (!r) continue;
    const baseRate = a?.connRate?.perSec;
    const rateNote = baseRate !== undefined && baseRate < 2000 ? ` (direct itself: ${baseRate.toFixed(0)}/s, so this machine cannot resolve the target)` : '';
    cmp(
      `(${r.id}) >= 2000 new connections/s`,
      r.connRate?.perSec,
      (v) => v >= 2000,
      (v) => `${v.toFixed(0)}/s${r.connRate?.errors ? `, ${r.connRate.errors} errors` : ''}${rateNote}`,
    );
  }
  for (const r of [b, c]) {
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
  // Issue 12's targets (relative to ssh -R in the same run, and memory).
  const vsSsh = (x: number | undefined, y: number | undefined) => ratio(x, y);
  cmp('(c) throughput >= 1.2x (d), 1 stream', vsSsh(c?.tput1, d?.tput1), (v) => v >= 1.2, (v) => `${v.toFixed(2)}x ssh -R`);
  cmp('(c) throughput >= 1.2x (d), 8 streams', vsSsh(c?.tput8, d?.tput8), (v) => v >= 1.2, (v) => `${v.toFixed(2)}x ssh -R`);
  cmp('(b) throughput >= 1.5x (d), 1 stream', vsSsh(b?.tput1, d?.tput1), (v) => v >= 1.5, (v) => `${v.toFixed(2)}x ssh -R`);
  cmp(`(c) p99 at ${top} req/s no worse than (d)`, vsSsh(c?.latency.get(top)?.p99Ms, d?.latency.get(top)?.p99Ms), (v) => v <= 1, (v) => `${v.toFixed(2)}x ssh -R's p99`);
  cmp('(c) new connections/s >= 3x (d)', vsSsh(c?.connRate?.perSec, d?.connRate?.perSec), (v) => v >= 3, (v) => `${v.toFixed(2)}x ssh -R`);
  cmp(`(c) client RSS <= 80 MB at ${phases.activeConnections} active connections`, c?.client?.peak.rssMB, (v) => v <= 80, (v) => `${v.toFixed(1)} MB`);
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
  if (!b && !c) out.push({ name: 'Burrow targets', verdict: 'not measured', detail: 'paths (b) and (c) not selected' });
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

/** Per-path notes: generator lag, missing replies, active-connection health, errors. */
export function pathNotes(results: PathResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    const p = `(${r.id}) ${r.label}`;
    for (const n of r.notes) out.push(`${p}: ${n}`);
    if (r.cpu) out.push(`${p}: while measuring, other processes used ${r.cpu.otherPct.toFixed(0)}% of the machine's CPU, steal ${r.cpu.stealPct.toFixed(0)}%`);
    for (const [rate, l] of r.latency) {
      out.push(
        `${p}: latency @ ${rate}/s: ${l.measured} requests, ${l.lost} missing, max ${fmt(l.maxMs, 2)} ms, generator send lag p99 ${fmt(l.sendLagP99Ms, 2)} ms`,
      );
    }
    if (r.connRate) out.push(`${p}: new connections: ${r.connRate.ok} ok, ${r.connRate.errors} errors${r.connRate.firstError ? ` (first: ${r.connRate.firstError})` : ''}`);
    if (r.active) {
      const a = r.active;
      out.push(
        `${p}: active connections: ${a.opened} opened, ${a.failed} failed to open, ${a.droppedBeforeHold} dropped before the hold, ${a.dropped} during it; messages sent ${a.sentPerSec.toFixed(0)}/s (nominal ${a.nominalPerSec.toFixed(0)}/s), echoed ${a.echoedPerSec.toFixed(0)}/s${a.firstError ? ` (first error: ${a.firstError})` : ''}`,
      );
    }
    if (r.burst) {
      const x = r.burst;
      out.push(
        `${p}: burst: ${x.opened}/${x.count} connections opened (${x.failed} failed), ${x.completed} echoed all ${x.bytes} B, ${x.seconds.toFixed(1)} s; ${x.memory.map((m) => `${m.label} RSS ${m.before.rssMB.toFixed(0)} -> peak ${m.peak.rssMB.toFixed(0)} -> ${m.after.rssMB.toFixed(0)} MB ${x.settleSeconds} s after`).join('; ')}${x.firstError ? ` (first error: ${x.firstError})` : ''}`,
      );
    }
    for (const m of [r.server, r.client]) if (m) out.push(`${p}: memory probe "${m.label}": ${m.peak.processes} process(es) at peak`);
    for (const e of r.errors) out.push(`${p}: ERROR in ${e.phase}: ${e.message}`);
  }
  return out;
}

/** Loud warning when unrelated load was high enough to distort the figures. */
export function loadWarning(results: PathResult[], thresholdPct = 10): string | undefined {
  const busy = results.filter((r) => r.cpu && (r.cpu.otherPct > thresholdPct || r.cpu.stealPct > thresholdPct));
  if (busy.length === 0) return undefined;
  const list = busy.map((r) => `(${r.id}) ${r.cpu!.otherPct.toFixed(0)}% other, ${r.cpu!.stealPct.toFixed(0)}% steal`).join('; ');
  return `WARNING: the machine was not idle (${list}); figures for those paths are distorted. Re-run on an idle machine.`;
}
