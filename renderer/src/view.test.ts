import { describe, expect, it } from 'vitest';
import type { TrafficSample } from '../../shared/ipc/contract.js';
import { chartSeries, connectionSeries, filterLogs, formatRate, natVerdictWords, pathInWords, pathOf, peak, rateSeries, relativeTimeLabel, stateInWords, stepStateInWords, timeRange, trimWindow } from './view.js';

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


describe('chart axes', () => {
  it('labels ticks relative to now in whole seconds and minutes', () => {
    expect(relativeTimeLabel(0)).toBe('now');
    expect(relativeTimeLabel(-30)).toBe('−30 s');
    expect(relativeTimeLabel(-29.6)).toBe('−30 s');
    expect(relativeTimeLabel(-120)).toBe('−2 min');
    expect(relativeTimeLabel(-90)).toBe('−1 min 30 s');
  });

  it('shows at least a minute and at most ten, ending now', () => {
    expect(timeRange([-3, -2, 0])).toEqual([-60, 0]);
    expect(timeRange([-250.5, 0])).toEqual([-251, 0]);
    expect(timeRange([-900, 0])).toEqual([-600, 0]);
  });

  it('puts samples at seconds before the newest one; connections per tunnel', () => {
    const s = [sample(1000, 5), sample(3000, 6)];
    expect(rateSeries(s, 'web')).toEqual([[-2, 0], [5, 6], [0, 0]]);
    expect(connectionSeries(s, ['web', 'gone'])).toEqual([[-2, 0], [1, 1], [1, 1], [0, 0]]);
  });
});

describe('path and steps in words', () => {
  it('relay for relayed tunnels, the reported path where there is one, — otherwise', () => {
    expect(pathInWords(pathOf({ type: 'tcp', state: 'online' }))).toBe('relay');
    expect(pathInWords(pathOf({ type: 'p2p', state: 'online' }))).toBe('—');
    expect(pathInWords(pathOf({ type: 'p2p', state: 'online', path: 'direct' }))).toBe('direct');
    expect(pathInWords(pathOf({ type: 'p2p', state: 'online', p2p: { path: 'direct' } }))).toBe('direct');
    expect(pathInWords(pathOf({ type: 'p2p', state: 'online', p2p: { path: 'relay' } }))).toBe('relay');
    expect(pathInWords(pathOf({ type: 'p2p', state: 'online', p2p: { path: 'connecting' } }))).toBe('punching…');
    expect(pathInWords(pathOf({ type: 'tcp', state: 'stopped' }))).toBe('—');
  });

  it('a probe without an answer says "no reply", never a number', () => {
    expect(stepStateInWords('no-reply')).toBe('no reply');
    expect(stepStateInWords('no-reply', 'no reply from 1.2.3.4:3478')).toBe('no reply from 1.2.3.4:3478');
    expect(stepStateInWords('done', 'endpoint-independent')).toBe('endpoint-independent');
  });
});

describe('NAT verdict in words', () => {
  const base = { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', hairpinning: false as const, mappedAddress: '203.0.113.5:4000' };
  it('a symmetric NAT is hard, needs the relay with hard peers, and gets advice', () => {
    const w = natVerdictWords({ ...base, mapping: 'address-and-port-dependent', ownKind: 'symmetric', classicName: 'symmetric', peers: [{ kind: 'full cone', path: 'direct' }, { kind: 'symmetric', path: 'relay' }] });
    expect(w.difficulty).toBe('hard');
    expect(w.headline).toMatch(/^Hard NAT/);
    expect(w.peers).toEqual([{ peer: 'a peer behind an easy NAT (full cone)', path: 'direct connection' }, { peer: 'a peer behind a hard (symmetric) NAT', path: 'through the relay' }]);
    expect(w.advice.join(' ')).toMatch(/UPnP or NAT-PMP/);
    expect(w.advice.join(' ')).toMatch(/does not hairpin/);
  });
  it('a full cone is easy; an unknown one says so', () => {
    expect(natVerdictWords({ ...base, ownKind: 'full cone', classicName: 'full cone', peers: [] }).difficulty).toBe('easy');
    expect(natVerdictWords({ ...base, ownKind: 'unknown', classicName: 'unknown', peers: [] }).headline).toMatch(/could not be classified/);
  });
});

describe('log filter', () => {
  const lines = [
    { at: 1, level: 'debug' as const, message: 'a', tunnel: 'web' },
    { at: 2, level: 'warn' as const, message: 'b', tunnel: 'ssh' },
    { at: 3, level: 'error' as const, message: 'c' },
  ];
  it('by level and tunnel', () => {
    expect(filterLogs(lines, 'info', '').map((l) => l.message)).toEqual(['b', 'c']);
    expect(filterLogs(lines, 'trace', 'web').map((l) => l.message)).toEqual(['a']);
  });
});
