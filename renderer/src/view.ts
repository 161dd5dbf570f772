/** Pure view logic: states in words, byte rates for people, samples into chart series. */
import type { TrafficSample } from '../../shared/ipc/contract.js';
import type { ConnectionState } from '../../shared/types/status.js';

export function stateInWords(state: ConnectionState, error?: string): string {
  switch (state) {
    case 'online':
      return 'Online';
    case 'connecting':
      return error ? `Connecting (${error})` : 'Connecting…';
    case 'error':
      return `Error: ${error ?? 'unknown reason'}`;
    case 'stopped':
      return 'Off';
  }
}

export function formatRate(bytesPerSec: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSec;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** The highest total rate in the window. */
export function peak(samples: readonly TrafficSample[], direction: 'inPerSec' | 'outPerSec'): number {
  return samples.reduce((max, s) => Math.max(max, s.total[direction]), 0);
}

/** Keep the samples of the last `windowMs` (default 10 minutes) ending at the newest one. */
export function trimWindow(samples: readonly TrafficSample[], windowMs = 10 * 60_000): TrafficSample[] {
  const last = samples.at(-1);
  if (!last) return [];
  return samples.filter((s) => s.at > last.at - windowMs);
}

/** uPlot's columns: [seconds since epoch, in bytes/s, out bytes/s] for one tunnel or the total. */
export function chartSeries(samples: readonly TrafficSample[], tunnel?: string): [number[], number[], number[]] {
  const x: number[] = [];
  const inRate: number[] = [];
  const outRate: number[] = [];
  for (const s of samples) {
    const r = tunnel === undefined ? s.total : s.tunnels.find((t) => t.name === tunnel);
    x.push(s.at / 1000);
    inRate.push(r?.inPerSec ?? 0);
    outRate.push(r?.outPerSec ?? 0);
  }
  return [x, inRate, outRate];
}
