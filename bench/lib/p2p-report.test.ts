import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeMarkedSection } from './docs.js';
import { parseP2pArgs } from './p2p-options.js';
import { checkP2pTargets, fallbackStats, median, P2P_MARKERS, p2pLoadWarning, punchStats, renderP2pMarkdown, throughputTable, type P2pResults } from './p2p-report.js';
import { tbfArgs } from './shaping.js';

const cpu = (otherPct: number) => ({ visiting: 50, serving: 40, server: 0, otherPct, stealPct: 0 });

function results(): P2pResults {
  return {
    throughput: [
      { link: 'unshaped', kernel: { runs: [2000, 2400, 2200], cpu: [cpu(2)] }, direct: { runs: [40, 50, 45], cpu: [cpu(3)] }, relay: { runs: [80, 90, 60], cpu: [cpu(1)] } },
      { link: 'tbf 200 Mbit/s', kernel: { runs: [24, 24], cpu: [cpu(0)] }, direct: { runs: [20, 21], cpu: [cpu(0)] }, relay: { runs: [], error: 'iperf3: boom' } },
    ],
    punch: [
      { pair: 'full cone × full cone', samples: [...Array.from({ length: 19 }, (_, i) => ({ ok: true as const, punchMs: i, totalMs: 600 + i, rttMs: 1 })), { ok: true, punchMs: 500, totalMs: 1500 }] },
      { pair: 'port-restricted × port-restricted', samples: [{ ok: false, reason: 'no probe' }, { ok: false, reason: 'no probe' }] },
    ],
    fallback: [{ ok: true, ms: 1050 }, { ok: true, ms: 980 }, { ok: false, reason: 'timeout' }],
    notes: [],
    errors: [],
  };
}

describe('p2p benchmark report', () => {
  it('gives each link the medians and the ratios to kernel TCP and to the relay', () => {
    const text = throughputTable(results(), true);
    const unshaped = text.split('\n').find((l) => l.startsWith('| unshaped'))!;
    // medians 2200, 45, 80: direct 2 % of kernel, relay 4 %, direct 56 % of relay
    expect(unshaped).toContain('2200.0 (17600 Mbit/s)');
    expect(unshaped).toContain('| 45.0 (360 Mbit/s) | 2 % |');
    expect(unshaped).toContain('| 80.0 (640 Mbit/s) | 4 % | 56 % |');
    const shaped = text.split('\n').find((l) => l.startsWith('| tbf'))!;
    expect(shaped).toContain('| 20.5 (164 Mbit/s) | 85 % |');
    expect(shaped).toContain('failed (iperf3: boom)');
  });

  it('takes nearest-rank percentiles over the attempts that went direct, and keeps the reasons of the others', () => {
    const [full, pr] = results().punch.map(punchStats);
    expect(full).toMatchObject({ attempts: 20, direct: 20, punchP50: 9, punchP95: 18, totalP50: 609, totalP95: 618 });
    expect(pr).toMatchObject({ attempts: 2, direct: 0, failures: ['no probe', 'no probe'] });
    expect(Number.isNaN(pr!.punchP50)).toBe(true);
    expect(fallbackStats(results().fallback)).toMatchObject({ attempts: 3, ok: 2, p50: 980, max: 1050, failures: ['timeout'] });
  });

  it('checks the issue targets honestly: a miss is a miss', () => {
    const checks = checkP2pTargets(results());
    expect(checks.map((c) => [c.target.split(' (')[0], c.met])).toEqual([
      ['direct ≥ 90 % of kernel TCP on the shaped link', false],
      ['punch p50 < 200 ms', true],
      ['punch p50 < 200 ms', false],
      ['fallback ≤ 1 s', false],
    ]);
    expect(checks[0]!.measured).toBe('85 %');
  });

  it('warns when other processes loaded the machine during a throughput run', () => {
    const r = results();
    expect(p2pLoadWarning(r)).toBeUndefined();
    r.throughput[0]!.direct.cpu = [cpu(35)];
    expect(p2pLoadWarning(r)).toMatch(/not idle.*unshaped direct up to 35 %/);
    expect(renderP2pMarkdown(r, { started: new Date('2026-12-03T06:00:00Z'), env: 'test machine', mode: 'full', opts: parseP2pArgs([]) })).toMatch(/^> \*\*WARNING/m);
  });

  it('writes its own dated section into BENCHMARKS.md after the others, and replaces it on a re-run of the same day', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'p2p-report-'));
    const file = path.join(dir, 'BENCHMARKS.md');
    writeFileSync(file, '# Burrow benchmarks\n\n## Relay\n\nrelay figures\n');
    const meta = { started: new Date('2026-12-03T06:00:00Z'), env: 'test machine', mode: 'full', opts: parseP2pArgs([]) };
    writeMarkedSection(file, P2P_MARKERS, '2026-12-03 full', renderP2pMarkdown(results(), meta));
    writeMarkedSection(file, P2P_MARKERS, '2026-12-03 full', renderP2pMarkdown(results(), meta));
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('relay figures');
    expect(text.indexOf('## Peer-to-peer')).toBeGreaterThan(text.indexOf('relay figures'));
    expect(text.match(/### Peer-to-peer benchmark — 2026-12-03/g)).toHaveLength(1);
    expect(text).toContain('| full cone × full cone | 20/20 | 9 | 18 | 609 | 618 |');
  });
});

describe('p2p benchmark flags and shaping', () => {
  it('defaults to the issue numbers, --quick shortens, bad values are refused with the usage', () => {
    expect(parseP2pArgs([])).toMatchObject({ punchAttempts: 50, fallbackAttempts: 20, rateMbit: 200, writeDocs: true, profile: true });
    expect(parseP2pArgs(['--quick'])).toMatchObject({ quick: true, punchAttempts: 5, writeDocs: false });
    expect(parseP2pArgs(['--quick', '--docs', '--punch', '7'])).toMatchObject({ punchAttempts: 7, writeDocs: true });
    expect(() => parseP2pArgs(['--punch', 'x'])).toThrow(/--punch expects an integer/);
    expect(() => parseP2pArgs(['--frobnicate'])).toThrow(/unknown flag --frobnicate[\s\S]*usage/);
  });

  it('shapes with tbf at the rate asked, with a burst of at least 2.5 ms of it', () => {
    expect(tbfArgs('eth0', 200)).toEqual(['qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', '200mbit', 'burst', '62500', 'latency', '20ms']);
    expect(tbfArgs('eth0', 1)[9]).toBe(String(16 * 1024));
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
});

describe('conntrack reading', () => {
  it('finds the flow a masquerade remapped because the peer\'s probe came first', async () => {
    const { parseUdpConntrack, remappedFlows } = await import('./conntrack.js');
    const dump = [
      'ipv4     2 udp      17 29 src=203.0.113.60 dst=203.0.113.50 sport=44716 dport=34614 [UNREPLIED] src=203.0.113.50 dst=203.0.113.60 sport=34614 dport=44716 mark=0 zone=0 use=2',
      'ipv4     2 udp      17 27 src=10.0.5.2 dst=203.0.113.1 sport=34614 dport=3478 src=203.0.113.1 dst=203.0.113.50 sport=3478 dport=34614 mark=0 zone=0 use=2',
      'ipv4     2 udp      17 29 src=10.0.5.2 dst=203.0.113.60 sport=34614 dport=44716 [UNREPLIED] src=203.0.113.60 dst=203.0.113.50 sport=44716 dport=12675 mark=0 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.5.2 dst=203.0.113.1 sport=40000 dport=7000 src=203.0.113.1 dst=203.0.113.50 sport=7000 dport=40001',
    ].join('\n');
    const flows = parseUdpConntrack(dump);
    expect(flows).toHaveLength(3);
    expect(flows[0]).toMatchObject({ src: '203.0.113.60', unreplied: true });
    expect(remappedFlows(flows, '10.0.5.2', '203.0.113.60')).toEqual([{ from: 34614, to: 12675, peerPort: 44716 }]);
    expect(remappedFlows(flows, '10.0.5.2', '203.0.113.1')).toEqual([]);
  });
});

describe('UDP counters of a namespace', () => {
  it('reads the receive-buffer drops from /proc/net/snmp', async () => {
    const { parseUdpSnmp } = await import('./udp-snmp.js');
    const text = [
      'Tcp: RtoAlgorithm RtoMin',
      'Tcp: 1 200',
      'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
      'Udp: 812345 3 17 790000 17 2 0 0 0',
      'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
      'UdpLite: 0 0 0 0 0 0 0 0 0',
    ].join('\n');
    expect(parseUdpSnmp(text)).toEqual({ inDatagrams: 812345, rcvbufErrors: 17, sndbufErrors: 2 });
    expect(parseUdpSnmp('')).toEqual({ inDatagrams: 0, rcvbufErrors: 0, sndbufErrors: 0 });
  });
});
