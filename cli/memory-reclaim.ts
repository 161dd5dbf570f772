/** Wiring: the quiet-time garbage collection of io/memory-reclaimer.ts, when node exposes `gc` (bin/burrow.js's shebang passes --expose-gc). */
import type { Logger } from '../io/logger.js';
import { monotonicClock } from '../io/clock.js';
import { exposedGc, startMemoryReclaimer, type MemoryReclaimer } from '../io/memory-reclaimer.js';

export function startReclaimer(logger: Logger): MemoryReclaimer | undefined {
  const collect = exposedGc();
  if (!collect) return undefined;
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  return startMemoryReclaimer({
    collect,
    clock: monotonicClock,
    onCollected: (before, after) => logger.debug({ beforeMB: mb(before), afterMB: mb(after) }, 'quiet: collected garbage to give memory back'),
  });
}
