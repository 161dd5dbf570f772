import { describe, expect, it } from 'vitest';
import { emptyResult, type PathResult } from './results.js';
import { missingRounds, pairedRatios, perRound, ratio, roundList, roundOrder, spread, verdictOverRounds, type Rounds } from './rounds.js';

/** One round of (a) and (c) with the given 1-stream throughputs (undefined = phase failed). */
function round(r: number, a: number | undefined, c: number | undefined): PathResult[] {
  const ra = emptyResult('a', 'direct', r);
  const rc = emptyResult('c', 'burrow tls', r);
  if (a === undefined) ra.errors.push({ phase: 'iperf1', message: 'iperf3: boom' });
  else ra.tput1 = a;
  if (c === undefined) rc.errors.push({ phase: 'iperf1', message: 'iperf3: boom' });
  else rc.tput1 = c;
  return [ra, rc];
}

describe('round order', () => {
  it('rotates so round r starts at path r mod n and every path leads once in n rounds', () => {
    const ids = ['a', 'c', 'd'];
    expect(roundOrder(ids, 0)).toEqual(['a', 'c', 'd']);
    expect(roundOrder(ids, 1)).toEqual(['c', 'd', 'a']);
    expect(roundOrder(ids, 2)).toEqual(['d', 'a', 'c']);
    expect(roundOrder(ids, 3)).toEqual(['a', 'c', 'd']);
    expect(roundOrder([], 2)).toEqual([]);
    // (a) is not always followed by the same neighbour: each path's predecessor changes.
    const before = (order: string[], id: string) => order[(order.indexOf(id) + order.length - 1) % order.length];
    expect(new Set([0, 1, 2].map((r) => roundOrder(ids, r)[0]))).toEqual(new Set(ids));
    expect(before(roundOrder(ids, 0), 'c')).toBe('a');
  });
});

describe('spread over rounds', () => {
  it('gives the median (odd and even counts) and min–max, leaving out missing and NaN samples', () => {
    expect(spread([342, 153, 312])).toEqual({ median: 312, min: 153, max: 342, n: 3 });
    expect(spread([100, 200])).toEqual({ median: 150, min: 100, max: 200, n: 2 });
    expect(spread([5, undefined, Number.NaN, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
    expect(spread([undefined, undefined])).toBeUndefined();
    // a timed-out latency is a real (worst) sample, not a missing one
    expect(spread([1, Number.POSITIVE_INFINITY, 2])).toEqual({ median: 2, min: 1, max: Number.POSITIVE_INFINITY, n: 3 });
  });

  it('lists which rounds had no sample', () => {
    expect(missingRounds([1, undefined, 3, undefined])).toEqual([1, 3]);
    expect(roundList([1])).toBe('round 2');
    expect(roundList([0, 2])).toBe('rounds 1, 3');
  });
});

describe('per-round ratios', () => {
  it('pairs each path with the baseline of the same round, so the median of ratios is not the ratio of medians', () => {
    // (a) 100, 200, 300; (c) 50, 300, 90 -> per-round 0.5, 1.5, 0.3 -> median 0.5.
    // The ratio of the medians would be 90 / 200 = 0.45.
    const rounds: Rounds = [round(0, 100, 50), round(1, 200, 300), round(2, 300, 90)];
    const ratios = pairedRatios(rounds, 'c', 'a', (r) => r.tput1);
    expect(ratios).toEqual([0.5, 1.5, 0.3]);
    expect(spread(ratios)!.median).toBe(0.5);
    const medC = spread(perRound(rounds, 'c', (r) => r.tput1))!.median;
    const medA = spread(perRound(rounds, 'a', (r) => r.tput1))!.median;
    expect(medC / medA).toBeCloseTo(0.45);
  });

  it('has no ratio for a round where either side failed, and none against a zero or infinite baseline', () => {
    const rounds: Rounds = [round(0, 100, 50), round(1, undefined, 300), round(2, 300, undefined)];
    expect(pairedRatios(rounds, 'c', 'a', (r) => r.tput1)).toEqual([0.5, undefined, undefined]);
    expect(ratio(5, 0)).toBeUndefined();
    expect(ratio(5, Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(ratio(Number.POSITIVE_INFINITY, 2)).toBe(Number.POSITIVE_INFINITY);
    // a path missing from a round entirely
    expect(perRound([[emptyResult('a', 'direct', 0)]], 'c', (r) => r.tput1)).toEqual([undefined]);
  });
});

describe('target verdict over rounds', () => {
  it('is judged on the median and counts the rounds that met it on their own', () => {
    const v = verdictOverRounds([1.31, 1.1, 1.45], (x) => x >= 1.2);
    expect(v.verdict).toBe('met');
    expect(v.met).toBe(2);
    expect(v.of).toBe(3);
    expect(v.spread!.median).toBe(1.31);
    // one lucky round does not make a target met
    expect(verdictOverRounds([1.5, 1.1, 1.0], (x) => x >= 1.2)).toMatchObject({ verdict: 'missed', met: 1, of: 3 });
  });

  it('leaves a round without a sample out and says which one', () => {
    const v = verdictOverRounds([1.3, undefined, 1.25], (x) => x >= 1.2);
    expect(v).toMatchObject({ verdict: 'met', met: 2, of: 2, missing: [1] });
    expect(verdictOverRounds([undefined, undefined], () => true)).toMatchObject({ verdict: 'not measured', of: 0, missing: [0, 1] });
  });
});
