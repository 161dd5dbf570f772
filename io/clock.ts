/** Node's monotonic clock (`performance.now()`), the `Clock` every host passes in. */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../shared/clock.js';

export const monotonicClock: Clock = { now: () => performance.now() };
