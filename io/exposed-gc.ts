/**
 * node's `gc` (exposed by `--expose-gc`, which bin/burrow.js's shebang passes), as a function that
 * runs one collection of the given kind; undefined when node runs without the flag (the Electron
 * main process, a test runner).
 * - 'major': a full, synchronous mark-compact (io/memory-reclaimer.ts, once a process is quiet);
 * - 'minor': a scavenge of the young generation only (io/young-gc-pacer.ts, while data flows).
 */
export function exposedGc(kind: 'major' | 'minor' = 'major', scope: { gc?: unknown } = globalThis): (() => void) | undefined {
  const gc = scope.gc;
  if (typeof gc !== 'function') return undefined;
  const run = gc as (options?: { type: 'major' | 'minor' }) => void;
  return kind === 'minor' ? () => run({ type: 'minor' }) : () => run();
}
