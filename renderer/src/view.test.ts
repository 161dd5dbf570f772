import { describe, expect, it } from 'vitest';
import type { TrafficSample } from '../../shared/ipc/contract.js';
import { chartSeries, formatRate, peak, stateInWords, trimWindow } from './view.js';

const sample = (at: number, webIn: number): TrafficSample => ({
  at,
  total: { inPerSec: webIn + 1, outPerSec: 2, activeConnections: 1 },
  tunnels: [{ name: 'web', inPerSec: webIn, outPerSec: 0, activeConnections: 1 }],
});

describe('view logic', () => {
  it('says each state in words, with the reason', () => {
    expect(stateInWords('online')).toBe('Online');
    expect(stateInWords('error', 'port 6000 is already in use')).toBe('Error: port 6000 is already in use');
    expect(stateInWords('stopped')).toBe('Off');
    expect(stateInWords('connecting', 'server connection lost: timeout')).toBe('Connecting (server connection lost: timeout)');
  });

  it('formats rates', () => {
    expect(formatRate(0)).toBe('0 B/s');
    expect(formatRate(1500)).toBe('1.5 KB/s');
    expect(formatRate(2_000_000)).toBe('2.0 MB/s');
  });

  it('keeps only the last ten minutes and turns samples into per-tunnel or total series', () => {
    const samples = [sample(0, 5), sample(300_000, 6), sample(600_000, 7), sample(601_000, 8)];
    const kept = trimWindow(samples);
    expect(kept.map((s) => s.at)).toEqual([300_000, 600_000, 601_000]);
    expect(chartSeries(kept, 'web')).toEqual([[300, 600, 601], [6, 7, 8], [0, 0, 0]]);
    expect(chartSeries(kept)[1]).toEqual([7, 8, 9]);
    expect(chartSeries(kept, 'gone')[1]).toEqual([0, 0, 0]);
    expect(peak(kept, 'inPerSec')).toBe(9);
    expect(peak([], 'outPerSec')).toBe(0);
  });
});
