/** Results, comparison table and target check of `npm run bench:turn` (coturn vs Burrow). */
import type { CpuLoad } from './cpu-load.js';
import type { MemSample } from './rss.js';
import type { TurnServerId } from './turn-servers.js';
import type { DropCounts } from './udp-drops.js';
import type { UclientResult } from './uclient.js';

export type ScenarioId = 'udp' | 'flood' | 'tcp';

export interface Scenario {
  id: ScenarioId;
  /** "(1) UDP", … */
  title: string;
  /** What is different about it, for the notes. */
  description: string;
  /** uclient arguments, given the server's port. */
  args(port: number): string[];
}

export interface ServerRun {
  server: TurnServerId;
  label: string;
  uc?: UclientResult;
  peak?: MemSample;
  /** Server CPU (user+system, all threads) from the end of uclient's connect phase to its exit, in seconds. */
  cpuSeconds?: number;
  /** How the server was started (temp paths included). */
  command?: string;
  /** Kernel UDP receive-buffer drops on the server's and uclient's sockets. */
  drops?: DropCounts;
  /** `--burst`: the Binding burst sent at the listening port during the run. */
  burst?: { sent: number; answered: number; sendMs: number };
  /** The relay phase, CLOCK_MONOTONIC µs (to cut a CPU profile to it). */
  window?: { fromUs: number; toUs: number };
  error?: string;
}

export interface ScenarioResult {
  scenario: Scenario;
  coturn?: ServerRun;
  burrow?: ServerRun;
  /** CPU used by unrelated processes meanwhile. */
  load?: CpuLoad;
}

export interface Table {
  header: string[];
  rows: string[][];
}

const usPerPkt = (r: ServerRun | undefined): number | undefined =>
  r?.cpuSeconds !== undefined && r.uc?.recvMsgs ? (r.cpuSeconds * 1e6) / r.uc.recvMsgs : undefined;

interface Col {
  title: string;
  get(r: ServerRun | undefined): number | undefined;
  fmt(v: number): string;
  /** Compare as a difference (percentage points) instead of a ratio. */
  diff?: boolean;
}

const COLS: Col[] = [
  { title: 'packets/s', get: (r) => r?.uc?.pktPerSec, fmt: (v) => v.toFixed(0) },
  { title: 'peak 1 s packets/s', get: (r) => r?.uc?.peakPktPerSec, fmt: (v) => v.toFixed(0) },
  { title: 'loss %', get: (r) => r?.uc?.lossPct, fmt: (v) => (v === 0 ? '0' : v < 0.1 ? v.toFixed(3) : v.toFixed(2)), diff: true },
  { title: 'avg RTT (ms)', get: (r) => r?.uc?.rttAvgMs, fmt: (v) => (v >= 10 ? v.toFixed(1) : v.toFixed(2)) },
  { title: 'server CPU µs/packet', get: usPerPkt, fmt: (v) => v.toFixed(1) },
  { title: 'peak RSS (MB)', get: (r) => r?.peak?.rssMB, fmt: (v) => v.toFixed(1) },
];

function cell(r: ServerRun | undefined, c: Col): string {
  if (!r) return 'n/a';
  const v = c.get(r);
  if (v === undefined || Number.isNaN(v)) return r.error || r.uc?.timedOut ? 'error' : 'n/a';
  return c.fmt(v);
}

function ratioCell(a: ServerRun | undefined, b: ServerRun | undefined, c: Col): string {
  const x = c.get(b);
  const y = c.get(a);
  if (x === undefined || y === undefined || Number.isNaN(x) || Number.isNaN(y)) return '—';
  if (c.diff) return x === y ? '=' : `${x > y ? '+' : ''}${(x - y).toFixed(2)} pp`;
  if (y === 0) return x === 0 ? '=' : '—';
  return `${(x / y).toFixed(2)}x`;
}

const dropsCell = (r: ServerRun | undefined): string => (r?.drops ? `${r.drops.listen} / ${r.drops.relay} / ${r.drops.client}` : 'n/a');

export function buildTurnTable(results: ScenarioResult[]): Table {
  const header = ['scenario', 'server', ...COLS.map((c) => c.title), 'UDP drops listen / relay / uclient'];
  const rows: string[][] = [];
  for (const res of results) {
    rows.push([res.scenario.title, 'coturn', ...COLS.map((c) => cell(res.coturn, c)), dropsCell(res.coturn)]);
    rows.push(['', 'Burrow', ...COLS.map((c) => cell(res.burrow, c)), dropsCell(res.burrow)]);
    rows.push(['', '**Burrow/coturn**', ...COLS.map((c) => ratioCell(res.coturn, res.burrow, c)), '']);
  }
  return { header, rows };
}

export function renderTextTable(t: Table): string {
  const plain = (s: string): string => s.replace(/\*\*/g, '');
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => plain(r[i]!).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? plain(c).padEnd(widths[i]!) : plain(c).padStart(widths[i]!))).join('  ');
  return [line(t.header), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

export function renderMarkdownTable(t: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(t.header), `|${t.header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`, ...t.rows.map(line)].join('\n');
}

export interface TurnTarget {
  name: string;
  verdict: 'MET' | 'MISSED' | 'NOT MEASURED';
  detail: string;
}

/** Target: Burrow relays at least as many packets per second as coturn, with 0% loss. */
export function checkTurnTargets(results: ScenarioResult[]): TurnTarget[] {
  return results.map((res) => {
    const name = `${res.scenario.title}: Burrow packets/s >= 1.0x coturn at 0% loss`;
    const b = res.burrow?.uc;
    const c = res.coturn?.uc;
    if (!b?.complete || b.pktPerSec === undefined || !c?.complete || c.pktPerSec === undefined) {
      const why = [res.coturn?.error ?? (c && !c.complete ? 'coturn run incomplete' : ''), res.burrow?.error ?? (b && !b.complete ? 'Burrow run incomplete' : '')]
        .filter(Boolean)
        .join('; ');
      return { name, verdict: 'NOT MEASURED', detail: why || 'a run failed' };
    }
    const ratio = b.pktPerSec / c.pktPerSec;
    const loss = b.lossPct ?? Number.NaN;
    const ok = ratio >= 1 && loss === 0;
    const coturnLoss = c.lossPct ? ` (coturn itself lost ${c.lossPct.toFixed(2)}%)` : '';
    return {
      name,
      verdict: ok ? 'MET' : 'MISSED',
      detail: `${ratio.toFixed(2)}x (${b.pktPerSec.toFixed(0)} vs ${c.pktPerSec.toFixed(0)} packets/s), Burrow loss ${Number.isNaN(loss) ? '?' : `${loss.toFixed(2)}%`}${coturnLoss}`,
    };
  });
}

export function renderTurnTargets(t: TurnTarget[], markdown: boolean): string {
  return t.map((x) => (markdown ? `- **${x.verdict}** — ${x.name}: ${x.detail}` : `  [${x.verdict.padEnd(12)}] ${x.name}: ${x.detail}`)).join('\n');
}

/** Per-run facts: counts, uclient's own transmit time, errors, load. */
export function turnNotes(results: ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const res of results) {
    const s = res.scenario;
    out.push(`${s.title}: ${s.description}`);
    for (const r of [res.coturn, res.burrow]) {
      if (!r) continue;
      const p = `${s.title} ${r.label}`;
      const uc = r.uc;
      if (uc) {
        const parts = [
          `sent ${uc.sentMsgs ?? '?'} / received ${uc.recvMsgs ?? '?'} messages`,
          `${uc.sentBytes ?? '?'} / ${uc.recvBytes ?? '?'} bytes`,
          `transmit time ${uc.transmitMs !== undefined ? `${(uc.transmitMs / 1000).toFixed(2)} s` : '?'} (uclient says ${uc.transmitSecondsReported ?? '?'} s)`,
          `RTT min/max ${uc.rttMinMs ?? '?'}/${uc.rttMaxMs ?? '?'} ms`,
          `server CPU ${r.cpuSeconds !== undefined ? `${r.cpuSeconds.toFixed(2)} s` : '?'}`,
        ];
        out.push(`${p}: ${parts.join(', ')}`);
        if (uc.timedOut) out.push(`${p}: ERROR: uclient did not finish in time and was killed; last output: ${uc.tail}`);
        else if (!uc.complete) out.push(`${p}: ERROR: uclient exited (${uc.exit}) without a summary; last output: ${uc.tail}`);
      }
      if (r.burst) {
        const b = r.burst;
        out.push(`${p}: burst of ${b.sent} Binding requests in ${(b.sendMs / 1000).toFixed(2)} s during the run: ${b.answered} answered; the listening socket dropped ${r.drops?.listen ?? '?'} datagrams in the run`);
      }
      if (r.error) out.push(`${p}: ERROR: ${r.error}`);
    }
    if (res.load) out.push(`${s.title}: while measuring, other processes used ${res.load.otherPct.toFixed(0)}% of the machine's CPU, steal ${res.load.stealPct.toFixed(0)}%`);
  }
  return out;
}

export function turnLoadWarning(results: ScenarioResult[], thresholdPct = 10): string | undefined {
  const busy = results.filter((r) => r.load && (r.load.otherPct > thresholdPct || r.load.stealPct > thresholdPct));
  if (busy.length === 0) return undefined;
  const list = busy.map((r) => `${r.scenario.title}: ${r.load!.otherPct.toFixed(0)}% other, ${r.load!.stealPct.toFixed(0)}% steal`).join('; ');
  return `WARNING: the machine was not idle (${list}); those figures are distorted. Re-run on an idle machine.`;
}
