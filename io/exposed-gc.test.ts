import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
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
    // Settle first: a full collection V8 started on its own (the worker just loaded its modules)
    // must not finish inside the window below.
    exposedGc()!();
    const minor = await kindsOf(exposedGc('minor')!);
    expect(minor).toContain(constants.NODE_PERFORMANCE_GC_MINOR);
    expect(minor).not.toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
    expect(await kindsOf(exposedGc()!)).toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });

  it("'compacting' gives back old-generation pages that 'major' leaves holding a few live objects each", () => {
    const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!;
    const holes = () => oldSpace().physical_space_size - oldSpace().space_used_size;
    // 600,000 small objects promoted to the old generation, then all but every third dropped: the
    // survivors are spread over every page they filled.
    let kept: Array<{ n: number; pair: number[] }> = [];
    for (let i = 0; i < 600_000; i++) kept.push({ n: i, pair: [i, i] });
    const major = exposedGc('major')!;
    major();
    major();
    kept = kept.filter((_, i) => i % 3 === 0);
    major();
    major();
    const afterMajor = holes();
    exposedGc('compacting')!();
    const afterCompacting = holes();
    expect(kept.length).toBe(200_000);
    expect(afterMajor).toBeGreaterThan(8 * 1024 * 1024);
    expect(afterCompacting).toBeLessThan(afterMajor / 4);
    // The flag was for that one collection only: half of the survivors dropped leaves pages half
    // full, which plain collections keep.
    kept = kept.filter((_, i) => i % 2 === 0);
    major();
    major();
    expect(holes()).toBeGreaterThan(afterCompacting + 2 * 1024 * 1024);
  });

  it('is undefined when node runs without --expose-gc (no gc on the global object)', () => {
    expect(exposedGc('major', {})).toBeUndefined();
    expect(exposedGc('minor', { gc: 'not a function' })).toBeUndefined();
    expect(exposedGc('compacting', {})).toBeUndefined();
  });
});
