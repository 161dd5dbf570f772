/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function, per source file and
 * per broad category, with compiled dist/*.js locations mapped back to the TypeScript sources
 * through the .js.map files tsc writes next to them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** µs, CLOCK_MONOTONIC (the clock of process.hrtime in every process on the machine). */
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTimeEntry {
  functionName: string;
  /** Repo-relative source (TypeScript when a source map says so) with 1-based line, or a node: / native name. */
  location: string;
  selfMs: number;
  /** Share of the non-idle samples. */
  pctBusy: number;
}

export interface ProfileSummary {
  file: string;
  /** Only the samples in the requested window were counted (else: the whole profile). */
  windowed: boolean;
  durationMs: number;
  samples: number;
  /** Sampling interval in ms (duration / samples). */
  intervalMs: number;
  idlePct: number;
  top: SelfTimeEntry[];
  byFile: Array<{ file: string; selfMs: number; pctBusy: number }>;
  byCategory: Array<{ category: string; selfMs: number; pctBusy: number }>;
}

// ---------------------------------------------------------------------------------------------
// Source maps (just enough: one lookup of generated line/column -> original source/line)

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i] as const));

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = B64_INDEX.get(ch);
    if (digit === undefined) break;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** Per generated line: segments [genCol, sourceIndex, origLine] (absolute, 0-based). */
interface DecodedMap {
  sources: string[];
  lines: Array<Array<[number, number, number]>>;
}

const mapCache = new Map<string, DecodedMap | null>();

function loadMap(jsFile: string): DecodedMap | null {
  if (mapCache.has(jsFile)) return mapCache.get(jsFile)!;
  let decoded: DecodedMap | null = null;
  try {
    const mapFile = `${jsFile}.map`;
    if (existsSync(mapFile)) {
      const raw = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
      const base = path.resolve(path.dirname(mapFile), raw.sourceRoot ?? '');
      const sources = raw.sources.map((s) => path.resolve(base, s));
      const lines: DecodedMap['lines'] = [];
      let src = 0;
      let origLine = 0;
      let origCol = 0;
      for (const lineText of raw.mappings.split(';')) {
        const segs: Array<[number, number, number]> = [];
        let genCol = 0;
        for (const seg of lineText.split(',')) {
          if (!seg) continue;
          const v = decodeVlq(seg);
          genCol += v[0] ?? 0;
          if (v.length >= 4) {
            src += v[1]!;
            origLine += v[2]!;
            origCol += v[3]!;
            segs.push([genCol, src, origLine]);
          }
        }
        lines.push(segs);
      }
      decoded = { sources, lines };
    }
  } catch {
    decoded = null;
  }
  mapCache.set(jsFile, decoded);
  return decoded;
}

/** Original file and 1-based line for a 0-based generated position, if mapped. */
function mapPosition(jsFile: string, line: number, column: number): { file: string; line: number } | undefined {
  const map = loadMap(jsFile);
  const segs = map?.lines[line];
  if (!map || !segs || segs.length === 0) return undefined;
  let best = segs[0]!;
  for (const s of segs) {
    if (s[0] <= column) best = s;
    else break;
  }
  const file = map.sources[best[1]];
  return file ? { file, line: best[2] + 1 } : undefined;
}

// ---------------------------------------------------------------------------------------------

function isMeta(name: string): boolean {
  return name === '(idle)' || name === '(program)' || name === '(garbage collector)' || name === '(root)';
}

/** The npm package a file belongs to ("@scope/name" or "name"), wherever node_modules lives (a worktree's is a symlink elsewhere). */
function dependencyOf(file: string): string | undefined {
  const parts = file.split(path.sep);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0 || i + 1 >= parts.length) return undefined;
  const first = parts[i + 1]!;
  return first.startsWith('@') && parts[i + 2] ? `${first}/${parts[i + 2]}` : first;
}

/** Repo-relative path; files under some node_modules are shown from there ("node_modules/pkg/…"). */
function displayPath(file: string, repoRoot: string): string {
  const parts = file.split(path.sep);
  const i = parts.lastIndexOf('node_modules');
  return i >= 0 ? parts.slice(i).join('/') : path.relative(repoRoot, file);
}

function categorize(frame: CallFrame, file: string, repoRoot: string): string {
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return '(program): V8/native, not attributed to JS';
  if (!frame.url) return 'native / builtins';
  if (frame.url.startsWith('node:')) {
    if (/dgram|udp/.test(frame.url)) return 'node:dgram (UDP socket layer)';
    if (/net|stream|tcp/.test(frame.url)) return 'node:net / streams';
    if (/buffer/.test(frame.url)) return 'node:buffer';
    if (/crypto/.test(frame.url)) return 'node:crypto';
    if (/timers/.test(frame.url)) return 'node:timers';
    return 'node internals (other)';
  }
  const dep = dependencyOf(file);
  if (dep) return `dependency: ${dep}`;
  const rel = path.relative(repoRoot, file);
  const top = rel.split(path.sep).slice(0, 2).join('/');
  return `burrow: ${top}`;
}

/** Sample counts per node id within [fromUs, toUs] (CLOCK_MONOTONIC µs), from samples/timeDeltas. */
function windowHits(prof: CpuProfile, fromUs: number, toUs: number): Map<number, number> | undefined {
  const { samples, timeDeltas } = prof;
  if (!samples || !timeDeltas || samples.length !== timeDeltas.length) return undefined;
  const hits = new Map<number, number>();
  let t = prof.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    hits.set(samples[i]!, (hits.get(samples[i]!) ?? 0) + 1);
  }
  return hits;
}

/**
 * Self time per function (hitCount summed by function name + location), per category and per file.
 * With `window` (CLOCK_MONOTONIC µs, e.g. process.hrtime.bigint() / 1000n in any process), only the
 * samples taken in it count, so start-up (module loading, config parsing) stays out.
 */
export function summarizeCpuProfile(file: string, repoRoot: string, topN = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  let durationMs = (prof.endTime - prof.startTime) / 1000;
  let samples = prof.samples?.length ?? prof.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const intervalMs = samples > 0 ? durationMs / samples : 0;
  const inWindow = window ? windowHits(prof, window.fromUs, window.toUs) : undefined;
  const windowCount = inWindow ? [...inWindow.values()].reduce((a, b) => a + b, 0) : 0;
  const windowed = inWindow !== undefined && windowCount >= 10;
  if (windowed) {
    for (const n of prof.nodes) n.hitCount = inWindow.get(n.id) ?? 0;
    samples = windowCount;
    durationMs = samples * intervalMs;
  }
  const totalHits = prof.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const idleHits = prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const busyHits = Math.max(1, totalHits - idleHits);

  const byFn = new Map<string, { functionName: string; location: string; hits: number }>();
  const byFile = new Map<string, number>();
  const byCat = new Map<string, number>();
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const f = n.callFrame;
    if (f.functionName === '(idle)') continue;
    let location: string;
    let srcFile = '';
    if (f.url.startsWith('file://')) {
      const js = fileURLToPath(f.url);
      const mapped = mapPosition(js, f.lineNumber, f.columnNumber);
      srcFile = mapped?.file ?? js;
      location = `${displayPath(srcFile, repoRoot)}:${mapped?.line ?? f.lineNumber + 1}`;
    } else if (f.url) {
      srcFile = f.url;
      location = `${f.url}:${f.lineNumber + 1}`;
    } else {
      location = isMeta(f.functionName) ? '' : '(native)';
    }
    const name = f.functionName || '(anonymous)';
    const key = `${name}|${location}`;
    const e = byFn.get(key) ?? { functionName: name, location, hits: 0 };
    e.hits += hits;
    byFn.set(key, e);
    const fileKey = srcFile ? (srcFile.startsWith('/') ? displayPath(srcFile, repoRoot) : srcFile) : name;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + hits);
    const cat = categorize(f, srcFile, repoRoot);
    byCat.set(cat, (byCat.get(cat) ?? 0) + hits);
  }
  const ms = (hits: number): number => hits * intervalMs;
  const pct = (hits: number): number => (100 * hits) / busyHits;
  return {
    file,
    windowed,
    durationMs,
    samples,
    intervalMs,
    idlePct: totalHits > 0 ? (100 * idleHits) / totalHits : 0,
    top: [...byFn.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, topN)
      .map((e) => ({ functionName: e.functionName, location: e.location, selfMs: ms(e.hits), pctBusy: pct(e.hits) })),
    byFile: [...byFile.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([f, h]) => ({ file: f, selfMs: ms(h), pctBusy: pct(h) })),
    byCategory: [...byCat.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([c, h]) => ({ category: c, selfMs: ms(h), pctBusy: pct(h) })),
  };
}

/** Markdown tables (also readable as plain text). */
export function renderProfile(p: ProfileSummary): string {
  const f1 = (v: number): string => v.toFixed(1);
  return [
    `${p.windowed ? 'Relay phase only (from the end of uclient\'s connect phase to its exit)' : 'Whole process lifetime (start-up included)'}: ${(p.durationMs / 1000).toFixed(1)} s, ${p.samples} samples at ${(p.intervalMs * 1000).toFixed(0)} µs, idle ${p.idlePct.toFixed(0)}%; busy ${((p.durationMs * (100 - p.idlePct)) / 100).toFixed(0)} ms. Shares are of the busy (non-idle) samples; self time only (callees excluded).`,
    '',
    '| # | self ms | % busy | function | location |',
    '| ---: | ---: | ---: | --- | --- |',
    ...p.top.map((e, i) => `| ${i + 1} | ${f1(e.selfMs)} | ${f1(e.pctBusy)} | \`${e.functionName}\` | ${e.location ? `\`${e.location}\`` : ''} |`),
    '',
    '| category | self ms | % busy |',
    '| --- | ---: | ---: |',
    ...p.byCategory.map((c) => `| ${c.category} | ${f1(c.selfMs)} | ${f1(c.pctBusy)} |`),
    '',
    '| file (self time) | self ms | % busy |',
    '| --- | ---: | ---: |',
    ...p.byFile.map((c) => `| \`${c.file}\` | ${f1(c.selfMs)} | ${f1(c.pctBusy)} |`),
  ].join('\n');
}
