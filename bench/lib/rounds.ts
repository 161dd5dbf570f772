/**
 * Several rounds of the same benchmark: which order the paths run in each round, and how one
 * figure's per-round samples become a median, a min–max spread and per-round ratios.
 *
 * On a 2-core machine one run of a path can land its processes on the cores differently from
 * the next, so a single run's figure (and its ratio to another path) is one draw from a wide
 * spread. A ratio is therefore taken within each round (both paths measured minutes apart,
 * under the same conditions) and the median of those per-round ratios is reported — not the
 * ratio of two medians, which may pair a good round of one path with a bad round of the other.
 */
import type { PathId } from './path.js';
import type { PathResult } from './results.js';
import { median } from './stats.js';

/** rounds[r] = that round's result of every path that ran, in selection order (not run order). */
export type Rounds = readonly (readonly PathResult[])[];

/** The order paths run in round r: rotated so round r starts at index r mod n. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const k = ((round % n) + n) % n;
  return [...items.slice(k), ...items.slice(0, k)];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Samples the figures come from. */
  n: number;
}

/** Median and min–max of the present samples (undefined and NaN are left out); undefined when none. */
export function spread(samples: readonly (number | undefined)[]): Spread | undefined {
  const xs = samples.filter((v): v is number => v !== undefined && !Number.isNaN(v));
  if (xs.length === 0) return undefined;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

export function pathIn(round: readonly PathResult[] | undefined, id: PathId): PathResult | undefined {
  return round?.find((r) => r.id === id);
}

/** One figure of one path, per round (undefined where the path or phase gave nothing). */
export function perRound(rounds: Rounds, id: PathId, get: (r: PathResult) => number | undefined): (number | undefined)[] {
  return rounds.map((round) => {
    const r = pathIn(round, id);
    const v = r ? get(r) : undefined;
    return v === undefined || Number.isNaN(v) ? undefined : v;
  });
}

/** x / base when base is a finite positive number and x is a number (an infinite x gives Infinity). */
export function ratio(x: number | undefined, base: number | undefined): number | undefined {
  if (x === undefined || base === undefined || Number.isNaN(x) || !Number.isFinite(base) || !(base > 0)) return undefined;
  return x / base;
}

/** path / base of one figure, each ratio taken within one round; undefined for rounds missing either. */
export function pairedRatios(rounds: Rounds, id: PathId, baseId: PathId, get: (r: PathResult) => number | undefined): (number | undefined)[] {
  const xs = perRound(rounds, id, get);
  const bs = perRound(rounds, baseId, get);
  return xs.map((x, i) => ratio(x, bs[i]));
}

/** Rounds (0-based) that have no sample. */
export function missingRounds(samples: readonly (number | undefined)[]): number[] {
  return samples.flatMap((v, i) => (v === undefined ? [i] : []));
}

export interface RoundsVerdict {
  verdict: 'met' | 'missed' | 'not measured';
  /** Median and spread of the samples (undefined when there is none). */
  spread?: Spread;
  /** Rounds whose own sample met the target. */
  met: number;
  /** Rounds with a sample. */
  of: number;
  /** Rounds (0-based) without a sample: left out of the median. */
  missing: number[];
}

/** A target over several rounds: judged on the median; also how many rounds met it on their own. */
export function verdictOverRounds(samples: readonly (number | undefined)[], ok: (v: number) => boolean): RoundsVerdict {
  const s = spread(samples);
  const missing = missingRounds(samples);
  if (!s) return { verdict: 'not measured', met: 0, of: 0, missing };
  const present = samples.filter((v): v is number => v !== undefined);
  return { verdict: ok(s.median) ? 'met' : 'missed', spread: s, met: present.filter(ok).length, of: present.length, missing };
}

/** "round 2" / "rounds 1, 3" (1-based, as printed). */
export function roundList(rounds: readonly number[]): string {
  return `round${rounds.length === 1 ? '' : 's'} ${rounds.map((r) => r + 1).join(', ')}`;
}
