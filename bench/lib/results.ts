/** What one round of a benchmark run collects per path (memory phases: last round only). */
import type { ActiveResult } from './active-conns.js';
import type { BurstResult } from './burst.js';
import type { ConnRateResult } from './conn-rate.js';
import type { CpuLoad } from './cpu-load.js';
import type { LatencyResult } from './latency.js';
import type { PathId } from './path.js';
import type { MemSample } from './rss.js';

export interface MemResult {
  label: string;
  peak: MemSample;
  /** The hold's last sample: what the process settled at with the connections still open. */
  end?: MemSample;
}

export type Phase = 'start' | 'health' | 'iperf1' | 'iperf8' | `latency${number}` | 'connRate' | 'active' | 'burst';

export interface PhaseError {
  phase: Phase;
  message: string;
}

export interface PathResult {
  id: PathId;
  label: string;
  /** Which round of the run (0-based) this result is from. */
  round: number;
  /** MB/s (10^6 bytes) received by iperf3 -s. */
  tput1?: number;
  tput8?: number;
  /** Keyed by request rate (per second). */
  latency: Map<number, LatencyResult>;
  connRate?: ConnRateResult;
  active?: ActiveResult;
  server?: MemResult;
  client?: MemResult;
  /** RSS of the relay processes right after start-up, before any traffic. */
  idleServer?: MemSample;
  idleClient?: MemSample;
  /** The connection burst (memory peak and memory given back), for paths that run it. */
  burst?: BurstResult;
  /** CPU used by unrelated processes while this path ran (noise indicator). */
  cpu?: CpuLoad;
  notes: string[];
  /** Every phase that failed ('start' means the path never came up). */
  errors: PhaseError[];
}

export function emptyResult(id: PathId, label: string, round = 0): PathResult {
  return { id, label, round, latency: new Map(), notes: [], errors: [] };
}

export function phaseFailed(r: PathResult, phase: Phase): boolean {
  return r.errors.some((e) => e.phase === phase || e.phase === 'start');
}
