import { describe, expect, it } from 'vitest';
import { PairRecords } from './pair-record.js';

describe('PairRecords', () => {
  it('counts per address pair how attempts with each strategy ended, latest first, with the fastest punch', () => {
    const r = new PairRecords();
    r.record('203.0.113.10', '203.0.113.20', 'simultaneous', 'direct', 1_000, 180);
    r.record('203.0.113.10', '203.0.113.30', 'relay', 'relay', 2_000);
    r.record('203.0.113.10', '203.0.113.20', 'simultaneous', 'failed', 3_000);
    r.record('203.0.113.10', '203.0.113.20', 'simultaneous', 'direct', 4_000, 95);
    expect(r.list()).toEqual([
      { local: '203.0.113.10', remote: '203.0.113.20', strategy: 'simultaneous', direct: 2, failed: 1, relay: 0, lastOutcome: 'direct', lastAt: 4_000, bestPunchMs: 95 },
      { local: '203.0.113.10', remote: '203.0.113.30', strategy: 'relay', direct: 0, failed: 0, relay: 1, lastOutcome: 'relay', lastAt: 2_000 },
    ]);
    // a copy: the caller cannot change the record
    r.list()[0]!.direct = 99;
    expect(r.get('203.0.113.10', '203.0.113.20')!.direct).toBe(2);
  });

  it('forgets the least recently used pair past its bound', () => {
    const r = new PairRecords(2);
    r.record('198.51.100.1', '203.0.113.1', 'simultaneous', 'direct', 1);
    r.record('198.51.100.1', '203.0.113.2', 'simultaneous', 'direct', 2);
    r.record('198.51.100.1', '203.0.113.1', 'simultaneous', 'failed', 3);
    r.record('198.51.100.1', '203.0.113.3', 'learn-peer-port', 'direct', 4);
    expect(r.list().map((e) => e.remote)).toEqual(['203.0.113.3', '203.0.113.1']);
  });
});
