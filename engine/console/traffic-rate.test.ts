import { describe, expect, it } from 'vitest';
import { RateCalculator, type NamedCounters } from './traffic-rate.js';

const t = (name: string, bytesIn: number, bytesOut: number, activeConnections = 0): NamedCounters => ({ name, bytesIn, bytesOut, activeConnections, totalConnections: activeConnections });

describe('RateCalculator', () => {
  it('reports 0 on the first reading, then bytes per second since the previous one', () => {
    const calc = new RateCalculator();
    expect(calc.sample([t('web', 5000, 100, 1)], 0, 1_000).tunnels).toEqual([{ name: 'web', inPerSec: 0, outPerSec: 0, activeConnections: 1 }]);
    const s = calc.sample([t('web', 7000, 1100, 2)], 1000, 2_000);
    expect(s.at).toBe(2_000);
    expect(s.tunnels).toEqual([{ name: 'web', inPerSec: 2000, outPerSec: 1000, activeConnections: 2 }]);
  });

  it('divides by the real elapsed time, not an assumed second', () => {
    const calc = new RateCalculator();
    calc.sample([t('web', 0, 0)], 10_000, 0);
    expect(calc.sample([t('web', 3000, 0)], 11_500, 0).tunnels[0]?.inPerSec).toBe(2000);
  });

  it('sums the tunnels into the total', () => {
    const calc = new RateCalculator();
    calc.sample([t('a', 0, 0), t('b', 0, 0)], 0, 0);
    expect(calc.sample([t('a', 100, 10, 1), t('b', 300, 30, 2)], 1000, 0).total).toEqual({ inPerSec: 400, outPerSec: 40, activeConnections: 3 });
  });

  it('counts from 0 when a counter went down (tunnel re-created) and starts a new tunnel at 0', () => {
    const calc = new RateCalculator();
    calc.sample([t('web', 10_000, 10_000)], 0, 0);
    const s = calc.sample([t('web', 500, 0), t('new', 9999, 9999)], 1000, 0);
    expect(s.tunnels).toEqual([
      { name: 'web', inPerSec: 500, outPerSec: 0, activeConnections: 0 },
      { name: 'new', inPerSec: 0, outPerSec: 0, activeConnections: 0 },
    ]);
  });

  it('forgets a removed tunnel, so one re-added under the same name starts fresh', () => {
    const calc = new RateCalculator();
    calc.sample([t('web', 100, 0)], 0, 0);
    calc.sample([], 1000, 0);
    expect(calc.sample([t('web', 5000, 0)], 2000, 0).tunnels[0]?.inPerSec).toBe(0);
  });
});
