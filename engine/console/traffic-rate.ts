/**
 * Bytes per second from the engine's cumulative counters: each call takes the counters now and the
 * time (`now`, ms, monotonic) and returns the rates since the previous call. Pure state machine, no
 * timers: the console host calls it once a second.
 *
 * A tunnel seen for the first time has no earlier reading, so its rate is 0 until the next sample.
 * A counter that went down (the tunnel was removed and re-added) counts from 0 again.
 */
import type { TrafficSample } from '../../shared/ipc/contract.js';
import type { TrafficCounters } from '../../shared/types/status.js';

export interface NamedCounters extends TrafficCounters {
  name: string;
}

export class RateCalculator {
  private last = new Map<string, { bytesIn: number; bytesOut: number }>();
  private lastAt: number | undefined;

  /** `at` is the wall-clock stamp put on the sample; `now` the monotonic time the rates use. */
  sample(tunnels: readonly NamedCounters[], now: number, at: number): TrafficSample {
    const elapsedSec = this.lastAt === undefined ? 0 : (now - this.lastAt) / 1000;
    const next = new Map<string, { bytesIn: number; bytesOut: number }>();
    const rates = tunnels.map((t) => {
      next.set(t.name, { bytesIn: t.bytesIn, bytesOut: t.bytesOut });
      const prev = this.last.get(t.name);
      return {
        name: t.name,
        inPerSec: rate(prev?.bytesIn, t.bytesIn, elapsedSec),
        outPerSec: rate(prev?.bytesOut, t.bytesOut, elapsedSec),
        activeConnections: t.activeConnections,
      };
    });
    this.last = next;
    this.lastAt = now;
    const total = rates.reduce(
      (sum, r) => ({ inPerSec: sum.inPerSec + r.inPerSec, outPerSec: sum.outPerSec + r.outPerSec, activeConnections: sum.activeConnections + r.activeConnections }),
      { inPerSec: 0, outPerSec: 0, activeConnections: 0 },
    );
    return { at, total, tunnels: rates };
  }
}

function rate(prev: number | undefined, current: number, elapsedSec: number): number {
  if (prev === undefined || elapsedSec <= 0) return 0;
  const delta = current >= prev ? current - prev : current;
  return delta / elapsedSec;
}
