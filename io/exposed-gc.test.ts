import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { exposedGc } from './exposed-gc.js';

/** The kinds of the collections `run` caused (node's gc performance entries). */
async function kindsOf(run: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
  });
  obs.observe({ entryTypes: ['gc'] });
  run();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return kinds;
}

describe('exposedGc (vitest.config.ts runs the workers with --expose-gc)', () => {
  it("'minor' runs a scavenge only, 'major' (the default) a full mark-compact", async () => {
    const minor = await kindsOf(exposedGc('minor')!);
    expect(minor).toContain(constants.NODE_PERFORMANCE_GC_MINOR);
    expect(minor).not.toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
    expect(await kindsOf(exposedGc()!)).toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });

  it('is undefined when node runs without --expose-gc (no gc on the global object)', () => {
    expect(exposedGc('major', {})).toBeUndefined();
    expect(exposedGc('minor', { gc: 'not a function' })).toBeUndefined();
  });
});
