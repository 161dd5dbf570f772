import { describe, expect, it } from 'vitest';
import { parseArgs, timeLimitMinutes, USAGE } from './options.js';

describe('--rounds', () => {
  it('defaults to 3 for full runs and 1 for --quick, and takes a number', () => {
    expect(parseArgs([]).rounds).toBe(3);
    expect(parseArgs(['--quick']).rounds).toBe(1);
    expect(parseArgs(['--quick', '--rounds', '2']).rounds).toBe(2);
    expect(parseArgs(['--rounds=5']).rounds).toBe(5);
  });

  it('is documented in the usage text', () => {
    expect(USAGE).toMatch(/--rounds N/);
    expect(() => parseArgs(['--help'])).toThrow(/--rounds N measure throughput/);
  });

  it('refuses anything but a whole number from 1 to 20, with a clear message', () => {
    for (const bad of [['--rounds'], ['--rounds', '0'], ['--rounds', '2.5'], ['--rounds', 'x'], ['--rounds=21'], ['--rounds', '-1']]) {
      expect(() => parseArgs(bad)).toThrow(/--rounds needs a whole number from 1 to 20/);
    }
  });

  it('gives a 3-round full run a time limit above the ~20 min it should take, and grows with rounds', () => {
    const full = parseArgs([]);
    expect(timeLimitMinutes(full)).toBeGreaterThanOrEqual(32);
    expect(timeLimitMinutes({ ...full, rounds: 5 })).toBeGreaterThan(timeLimitMinutes(full));
    expect(timeLimitMinutes(parseArgs(['--quick']))).toBeGreaterThanOrEqual(14);
  });
});
