import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBenchSection } from './docs.js';
import type { LatencyResult } from './latency.js';
import { parseArgs } from './options.js';
import type { PathId } from './path.js';
import { buildTable, checkTargets, loadWarning, pathNotes, renderMarkdown, renderText, roundsLine, type Table } from './report.js';
import { emptyResult, type PathResult } from './results.js';
import type { Rounds } from './rounds.js';

const phases = parseArgs(['--no-burst']).phases;
const labels: Record<string, string> = { a: 'direct', c: 'burrow tls', d: 'ssh -R' };

interface Fig {
  tput1?: number;
  tput8?: number;
  p99?: number;
  conn?: number;
  serverRss?: number;
  otherPct?: number;
}

function lat(rate: number, p99: number): LatencyResult {
  return { rate, measured: rate, lost: 0, p50Ms: p99 / 2, p99Ms: p99, maxMs: p99 * 2, sendLagP99Ms: 0.5 };
}

/** A path's result in one round; an undefined figure is recorded as that phase failing. */
function res(id: PathId, round: number, f: Fig): PathResult {
  const r = emptyResult(id, labels[id]!, round);
  const fail = (phase: 'iperf1' | 'iperf8' | 'connRate' | `latency${number}`) => r.errors.push({ phase, message: `${phase} broke` });
  if (f.tput1 === undefined) fail('iperf1');
  else r.tput1 = f.tput1;
  if (f.tput8 === undefined) fail('iperf8');
  else r.tput8 = f.tput8;
  for (const rate of phases.latencyRates) {
    if (f.p99 === undefined) fail(`latency${rate}`);
    else r.latency.set(rate, lat(rate, f.p99));
  }
  if (f.conn === undefined) fail('connRate');
  else r.connRate = { perSec: f.conn, ok: f.conn * 3, errors: 0 };
  if (f.serverRss !== undefined) r.server = { label: 'server', peak: { rssMB: f.serverRss, pssMB: f.serverRss - 5, processes: 1 } };
  r.cpu = { otherPct: f.otherPct ?? 1, stealPct: 0 };
  return r;
}

/**
 * Three rounds of (a), (c), (d). 1 stream: (c) 312 median (153–342); (c)/(d) per round 1.30,
 * 1.10, 1.45. 8 streams: (a) 100/200/300, (d) 50/300/90 -> per-round ratios 0.5/1.5/0.3
 * (median 0.50) while the ratio of medians is 90/200 = 0.45. New connections: (c) failed in
 * round 2. Memory: only the last round has it (an earlier value must not show).
 */
function threeRounds(): Rounds {
  return [
    [
      res('a', 0, { tput1: 1000, tput8: 100, p99: 1, conn: 5000, serverRss: 999 }),
      res('c', 0, { tput1: 312, tput8: 80, p99: 1.5, conn: 2500, serverRss: 999 }),
      res('d', 0, { tput1: 240, tput8: 50, p99: 2, conn: 700 }),
    ],
    [
      res('a', 1, { tput1: 500, tput8: 200, p99: 1, conn: 6000 }),
      res('c', 1, { tput1: 153, tput8: 90, p99: 1.5, otherPct: 25 }),
      res('d', 1, { tput1: 139, tput8: 300, p99: 2, conn: 800 }),
    ],
    [
      res('a', 2, { tput1: 800, tput8: 300, p99: 1, conn: 5500 }),
      res('c', 2, { tput1: 342, tput8: 100, p99: 1.5, conn: 2100, serverRss: 61.2 }),
      res('d', 2, { tput1: 236, tput8: 90, p99: 2, conn: 900, serverRss: 40 }),
    ],
  ];
}

const cell = (t: Table, metric: string, id: PathId): string => {
  const col = t.header.findIndex((h) => h.startsWith(`(${id})`));
  const row = t.rows.find((r) => r[0] === metric);
  if (!row || col < 0) throw new Error(`no cell ${metric} / ${id}`);
  return row[col]!;
};

describe('relay report over rounds: table', () => {
  it('shows a rate figure as median, median per-round ratio and min–max', () => {
    const t = buildTable(threeRounds(), phases);
    // (c) 1 stream: median 312; ratios to (a) 0.312, 0.306, 0.4275 -> 0.31
    expect(cell(t, 'throughput 1 stream (MB/s)', 'c')).toBe('312 0.31× (153–342)');
    expect(cell(t, 'throughput 1 stream (MB/s)', 'a')).toBe('800 1.00× (500–1000)');
  });

  it('takes each ratio within a round (median of ratios, not ratio of medians)', () => {
    const t = buildTable(threeRounds(), phases);
    // ratio of medians would print 0.45×
    expect(cell(t, 'throughput 8 streams (MB/s)', 'd')).toBe('90.0 0.50× (50.0–300)');
  });

  it('leaves a round whose phase failed out of the median and says how many rounds are in it', () => {
    const t = buildTable(threeRounds(), phases);
    // (c) new connections: 2500 and 2100 -> median 2300; ratios 0.5 and 0.382 -> 0.44
    expect(cell(t, 'new connections/s', 'c')).toBe('2300 0.44× (2100–2500, 2/3 rounds)');
    const notes = pathNotes(threeRounds());
    expect(notes).toContain('(c) burrow tls: ERROR in connRate (round 2): connRate broke; that round is left out of the median');
  });

  it('prints "error" when a rate phase failed in every round', () => {
    const rounds = threeRounds().map((round) => round.map((r) => (r.id === 'd' ? res('d', r.round, { tput1: 1, tput8: 1, p99: 1 }) : r)));
    expect(cell(buildTable(rounds, phases), 'new connections/s', 'd')).toBe('error');
  });

  it('takes memory rows from the last round only and the CPU row from the worst round', () => {
    const t = buildTable(threeRounds(), phases);
    expect(cell(t, 'server RSS @ 1000 conns (MB)', 'c')).toBe('61.2');
    expect(cell(t, 'server RSS @ 1000 conns (MB)', 'a')).toBe('n/a');
    expect(cell(t, 'other processes CPU (% machine, worst round)', 'c')).toBe('25');
  });

  it('renders the spread in both the text and the Markdown table', () => {
    const t = buildTable(threeRounds(), phases);
    const text = renderText(t);
    const md = renderMarkdown(t);
    expect(text).toContain('312 0.31× (153–342)');
    expect(text.split('\n')[0]).toMatch(/^metric\s+\(a\) direct\s+\(c\) burrow tls\s+\(d\) ssh -R$/);
    expect(md).toContain('| throughput 1 stream (MB/s) | 800 1.00× (500–1000) | 312 0.31× (153–342) | 236 0.28× (139–240) |');
    expect(roundsLine(3)).toMatch(/3 rounds.*medians, min–max in brackets/);
  });

  it('shows a single round as plain values with ratios, without brackets', () => {
    const t = buildTable([threeRounds()[2]!], phases);
    expect(cell(t, 'throughput 1 stream (MB/s)', 'c')).toBe('342 0.43×');
    expect(cell(t, 'other processes CPU (% machine)', 'c')).toBe('1');
    expect(roundsLine(1)).toMatch(/single measurement/);
  });
});

/** The target check named `name`; throws when there is none. */
function find(rounds: Rounds, name: string) {
  const t = checkTargets(rounds, phases).find((c) => c.name === name);
  if (!t) throw new Error(`no target ${name}`);
  return t;
}

describe('relay report over rounds: targets', () => {

  it('judges a ratio to ssh -R on the median of per-round ratios and says how many rounds met it', () => {
    const t = find(threeRounds(), '(c) throughput >= 1.2x (d), 1 stream');
    // 312/240 = 1.30, 153/139 = 1.10, 342/236 = 1.45
    expect(t.verdict).toBe('met');
    expect(t.detail).toBe('median 1.30x ssh -R, 2/3 rounds met (1.10–1.45)');
    expect(find(threeRounds(), '(c) throughput >= 2x (d), 1 stream')).toMatchObject({ verdict: 'missed', detail: 'median 1.30x ssh -R, 0/3 rounds met (1.10–1.45)' });
  });

  it('leaves a round without a sample out of a target and names it', () => {
    // (c)/(d) new connections: 2500/700 = 3.57, round 2 failed, 2100/900 = 2.33 -> median 2.95
    const t = find(threeRounds(), '(c) new connections/s >= 3x (d)');
    expect(t.verdict).toBe('missed');
    expect(t.detail).toBe('median 2.95x ssh -R, 1/2 rounds met (2.33–3.57); no sample in round 2, left out');
    expect(find(threeRounds(), '(c) >= 2000 new connections/s')).toMatchObject({ verdict: 'met', detail: 'median 2300/s, 2/2 rounds met (2100–2500); no sample in round 2, left out' });
  });

  it('says why a target was not measured: a path not run, or its phase failing in every round', () => {
    expect(find(threeRounds(), '(b) throughput >= 1.5x (d), 1 stream')).toMatchObject({ verdict: 'not measured', detail: 'path (b) not run' });
    const noConn = threeRounds().map((round) => round.map((r) => (r.id === 'c' ? res('c', r.round, { tput1: 1, tput8: 1, p99: 1 }) : r)));
    expect(find(noConn, '(c) new connections/s >= 3x (d)')).toMatchObject({ verdict: 'not measured', detail: 'phase failed in every round' });
  });

  it('keeps memory targets on the last round and one-round details as before', () => {
    expect(find(threeRounds(), '(c) server RSS <= 80 MB at 1000 active connections')).toMatchObject({ verdict: 'met', detail: '61.2 MB' });
    expect(find([threeRounds()[0]!], '(c) throughput >= 1.2x (d), 1 stream')).toMatchObject({ verdict: 'met', detail: '1.30x ssh -R' });
  });
});

describe('relay report: RSS at the end of the hold', () => {
  it('shows where the processes settled beside the peak, and checks both against 80 MB', () => {
    const rounds = threeRounds();
    const c = rounds[2]!.find((r) => r.id === 'c')!;
    const sample = (rssMB: number) => ({ rssMB, pssMB: rssMB - 5, processes: 1 });
    c.server = { label: 'server', peak: sample(96.4), end: sample(77.3) };
    c.client = { label: 'client', peak: sample(101.5), end: sample(81.2) };
    const t = buildTable(rounds, phases);
    expect(cell(t, 'server RSS @ 1000 conns (MB)', 'c')).toBe('96.4');
    expect(cell(t, 'server RSS @ 1000 conns, end of hold (MB)', 'c')).toBe('77.3');
    expect(cell(t, 'client RSS @ 1000 conns, end of hold (MB)', 'c')).toBe('81.2');
    expect(find(rounds, '(c) server RSS <= 80 MB at 1000 active connections')).toMatchObject({ verdict: 'missed', detail: '96.4 MB' });
    const hold = `hold of 1000 connections`;
    expect(find(rounds, `(c) server RSS <= 80 MB at the end of the ${phases.activeHoldSeconds} s ${hold}`)).toMatchObject({ verdict: 'met', detail: '77.3 MB' });
    expect(find(rounds, `(c) client RSS <= 80 MB at the end of the ${phases.activeHoldSeconds} s ${hold}`)).toMatchObject({ verdict: 'missed', detail: '81.2 MB' });
  });
});

describe('relay report over rounds: notes and load warning', () => {
  it('names the round that was disturbed', () => {
    expect(loadWarning(threeRounds())).toMatch(/\(c\) round 2 25% other/);
    expect(loadWarning([threeRounds()[0]!])).toBeUndefined();
  });

  it('gives per-round CPU and latency details in one line per path', () => {
    const notes = pathNotes(threeRounds());
    expect(notes).toContain("(c) burrow tls: while throughput, latency and new connections were measured, other processes used 1/25/1% of the machine's CPU, steal 0/0/0% (rounds 1, 2, 3)");
    expect(notes.filter((n) => n.startsWith('(a) direct: latency @ 4000/s: r1 4000 requests'))).toHaveLength(1);
  });
});

describe('relay report over rounds: docs', () => {
  it('writes the table with its spread into a new docs/BENCHMARKS.md that explains the rounds', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-docs-'));
    const file = path.join(dir, 'BENCHMARKS.md');
    try {
      writeBenchSection(file, '2026-12-03 full', `## Relay benchmark\n\n${renderMarkdown(buildTable(threeRounds(), phases))}\n\n${roundsLine(3)}`);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('--rounds N');
      expect(text).toContain('| 312 0.31× (153–342) |');
      expect(text).toContain('<!-- relay-bench:start 2026-12-03 full -->');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
