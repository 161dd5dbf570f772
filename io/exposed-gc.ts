/**
 * node's `gc` (exposed by `--expose-gc`, which bin/burrow.js's shebang passes), as a function that
 * runs one collection of the given kind; undefined when node runs without the flag (the Electron
 * main process, a test runner).
 * - 'major': a full, synchronous mark-compact (io/memory-reclaimer.ts, once a process is quiet);
 *   V8 moves live objects only off pages that are nearly empty;
 * - 'compacting': the same, moving every live object of the old generation together, so that
 *   pages shared by a few live objects and many holes are given back (io/memory-reclaimer.ts,
 *   when shared/old-space-compaction.ts says so). V8 has no API for one such collection; its
 *   `--compact-on-every-full-gc` flag is read when a collection starts, so it is set for this one
 *   and cleared again. Measured at 15 MB live: 30–33 ms, against ~20 ms for 'major';
 * - 'minor': a scavenge of the young generation only (io/young-gc-pacer.ts, while data flows).
 */
import { setFlagsFromString } from 'node:v8';

export type GcKind = 'major' | 'compacting' | 'minor';

export function exposedGc(kind: GcKind = 'major', scope: { gc?: unknown } = globalThis): (() => void) | undefined {
  const gc = scope.gc;
  if (typeof gc !== 'function') return undefined;
  const run = gc as (options?: { type: 'major' | 'minor' }) => void;
  if (kind === 'minor') return () => run({ type: 'minor' });
  if (kind === 'major') return () => run();
  return () => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      run();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}
