/**
 * Wiring: the quiet-time garbage collection, old-space compaction and heap trim of io/memory-reclaimer.ts, with node's
 * `gc` (bin/burrow.js's shebang passes --expose-gc) and io/malloc-trim.ts's addon, whichever exist;
 * and the young-generation pacing of io/young-gc-pacer.ts while data flows.
 */
import type { Logger } from '../io/logger.js';
import { monotonicClock } from '../io/clock.js';
import { loadHeapTrim } from '../io/malloc-trim.js';
import { exposedGc } from '../io/exposed-gc.js';
import { startMemoryReclaimer, type MemoryReclaimer } from '../io/memory-reclaimer.js';
import { installYoungGcPacer, socketBytesRead, YoungGcPacer } from '../io/young-gc-pacer.js';

export function startReclaimer(logger: Logger): MemoryReclaimer | undefined {
  // BURROW_YOUNG_GC=off leaves V8 to its own schedule (to measure the difference; README Development).
  const collectYoung = process.env.BURROW_YOUNG_GC === 'off' ? undefined : exposedGc('minor');
  if (collectYoung) installYoungGcPacer(new YoungGcPacer({ collectYoung }));
  const collect = exposedGc();
  const compact = process.env.BURROW_COMPACT === 'off' ? undefined : exposedGc('compacting');
  const trimHeap = loadHeapTrim();
  if (!collect && !trimHeap) return undefined;
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  const onError = (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'memory reclaimer stopped');
  try {
    return startMemoryReclaimer({
      collect,
      compact,
      trimHeap,
      readSocketBytes: socketBytesRead,
      clock: monotonicClock,
      onCollected: (before, after) => logger.debug({ beforeMB: mb(before), afterMB: mb(after) }, 'quiet: collected garbage to give memory back'),
      onCompacted: (before, after) => logger.debug({ oldSpaceBeforeMB: mb(before), oldSpaceAfterMB: mb(after) }, 'compacted the old generation\'s holes'),
      onTrimmed: (before, after) => logger.debug({ rssBeforeMB: mb(before), rssAfterMB: mb(after) }, 'gave the C heap\'s free pages back'),
      onError,
    });
  } catch (err) {
    // Its first reading failed (say /proc is not mounted): the relay runs without it.
    onError(err);
    return undefined;
  }
}
