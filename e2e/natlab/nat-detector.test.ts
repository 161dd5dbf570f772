/**
 * Issue 9, NAT lab test 1: `burrow nat` behind each of the lab's real Linux NATs reports the mapping
 * and filtering behaviour that NAT has, and "open internet" for the public host. One lab with a peer
 * of every kind; `burrow server` with RFC 5780 STUN on the server namespace's two addresses; the five
 * detectors run at the same time. Needs root and network namespaces: skipped otherwise, with the
 * reason in the suite's name, except under CI=true, where it fails.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatDiscoveryResult } from '../../engine/stun/nat-discovery.js';
import { labUnavailableReason, NAT_KINDS, NatLab, SERVER_IPS, type NatKind } from './lab.js';

const REQUIRED = !!process.env.CI;
const UNAVAILABLE = labUnavailableReason();
if (UNAVAILABLE && !REQUIRED) console.warn(`nat-detector: skipping the NAT lab tests: ${UNAVAILABLE}`);

const BIN = resolve(import.meta.dirname, '../../bin/burrow.js');
const BUILT = existsSync(resolve(import.meta.dirname, '../../dist/cli/nat-command.js'));
const STUN_PORT = 3478; // the server namespace is this run's own: no other process can hold it
const ALT_PORT = STUN_PORT + 1;

interface Expected {
  mapping: NatDiscoveryResult['mapping'];
  filtering: NatDiscoveryResult['filtering'];
  classicName: NatDiscoveryResult['classicName'];
  portAllocation: NatDiscoveryResult['portAllocation'];
  verdict: RegExp;
}

const EXPECTED: Record<NatKind, Expected> = {
  none: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', classicName: 'open internet', portAllocation: 'preserved', verdict: /^No NAT: .*every kind of peer/ },
  full: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', classicName: 'full cone', portAllocation: 'preserved', verdict: /^A full cone NAT: .*every kind of peer/ },
  restricted: { mapping: 'endpoint-independent', filtering: 'address-dependent', classicName: 'restricted cone', portAllocation: 'preserved', verdict: /^A restricted cone NAT: .*every kind of peer/ },
  'port-restricted': {
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    classicName: 'port-restricted cone',
    portAllocation: 'preserved',
    verdict: /^A port-restricted cone NAT: .*with symmetric peers traffic goes through the relay/,
  },
  symmetric: {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    classicName: 'symmetric',
    portAllocation: 'random',
    verdict: /^A symmetric NAT: .*with port-restricted cone and symmetric peers traffic goes through the relay.*random/,
  },
};

const suiteName = `NAT detector in the NAT lab (issue 9 test 1)${UNAVAILABLE && !REQUIRED ? ` [skipped: ${UNAVAILABLE}]` : ''}`;

describe.skipIf(UNAVAILABLE !== null && !REQUIRED)(suiteName, () => {
  let lab: NatLab | undefined;
  let dir: string | undefined;
  const reports = new Map<NatKind, NatDiscoveryResult>();
  const failures = new Map<NatKind, string>();

  beforeAll(async () => {
    if (UNAVAILABLE) throw new Error(`the NAT lab cannot run here: ${UNAVAILABLE}`);
    if (!BUILT) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    lab = NatLab.up(NAT_KINDS);
    dir = await mkdtemp(join(tmpdir(), 'burrow-natlab-'));
    const config = join(dir, 'server.yaml');
    await writeFile(
      config,
      [
        `listen: ${SERVER_IPS[0]}:7000`,
        'token: natlab-test-token',
        'tls: false',
        `stateDir: ${join(dir, 'state')}`,
        'log: { level: warn }',
        'stun:',
        `  listen: ${SERVER_IPS[0]}:${STUN_PORT}`,
        '  tlsListen: false',
        `  alternate: { ip: ${SERVER_IPS[1]} }`,
        '',
      ].join('\n'),
    );
    const server = lab.spawn(lab.server, process.execPath, [BIN, 'server', '--config', config]);
    let serverErr = '';
    server.stderr!.on('data', (d: Buffer) => (serverErr += d.toString()));
    // ready when all four RFC 5780 sockets (both IPs × both ports) are bound
    const want = SERVER_IPS.flatMap((ip) => [`${ip}:${STUN_PORT}`, `${ip}:${ALT_PORT}`]);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ss = await lab.run(lab.server, 'ss', ['-Hnlu']);
      if (want.every((a) => ss.stdout.includes(a))) break;
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`burrow server did not bind ${want.join(', ')}; stderr: ${serverErr}; ss: ${ss.stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // the five detectors at once: each waits out its own filtering tests (a few seconds)
    await Promise.all(
      lab.peers.map(async (peer) => {
        const r = await lab!.run(peer.host, process.execPath, [BIN, 'nat', '--stun', `${SERVER_IPS[0]}:${STUN_PORT}`, '--json']);
        try {
          reports.set(peer.kind, JSON.parse(r.stdout) as NatDiscoveryResult);
        } catch {
          failures.set(peer.kind, `exit ${r.code}, stdout: ${r.stdout}, stderr: ${r.stderr}`);
        }
      }),
    );
    const rows = lab.peers.map((p) => {
      const r = reports.get(p.kind);
      return r
        ? `  ${p.kind.padEnd(16)} ${r.mapping.padEnd(27)} ${r.filtering.padEnd(27)} ${r.classicName.padEnd(21)} ${String(r.portPreservation).padEnd(6)} ${String(r.portAllocation).padEnd(10)} ${r.localAddress} -> ${r.mappedAddress}`
        : `  ${p.kind.padEnd(16)} no report: ${failures.get(p.kind)}`;
    });
    console.log(`NAT lab detector results (kind, mapping, filtering, classic name, port preserved, allocation, local -> mapped):\n${rows.join('\n')}`);
  }, 60_000);

  afterAll(async () => {
    lab?.down();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const kind of NAT_KINDS) {
    it(`${kind}: ${EXPECTED[kind].classicName}, ${EXPECTED[kind].mapping} mapping, ${EXPECTED[kind].filtering} filtering`, () => {
      const r = reports.get(kind);
      expect(r, failures.get(kind)).toBeDefined();
      const peer = lab!.peers.find((p) => p.kind === kind)!;
      const e = EXPECTED[kind];
      expect({ mapping: r!.mapping, filtering: r!.filtering, classicName: r!.classicName, partial: r!.partial, portAllocation: r!.portAllocation }).toEqual({
        mapping: e.mapping,
        filtering: e.filtering,
        classicName: e.classicName,
        partial: false,
        portAllocation: e.portAllocation,
      });
      expect(r!.verdict).toMatch(e.verdict);
      const [localIp, localPort] = r!.localAddress.split(':');
      const [mappedIp, mappedPort] = r!.mappedAddress!.split(':');
      expect(localIp).toBe(peer.hostIp);
      // the server sees the peer from its public address: the host itself, or its router's WAN side
      expect(mappedIp).toBe(peer.publicIp);
      if (kind === 'symmetric') {
        // fully-random: a port of its own for every destination, unrelated to the local one
        expect(r!.portDelta).not.toBe(0);
        expect(r!.portDelta).not.toBeNull();
      } else {
        // no NAT, SNAT and plain masquerade keep the local port, for every destination
        expect(mappedPort).toBe(localPort);
        expect(r!.portPreservation).toBe(true);
        expect(r!.portDelta).toBe(0);
      }
    });
  }

  it('the lab reaches only itself: no default route and only lab addresses in any namespace', async () => {
    const l = lab!;
    for (const ns of l.namespaces()) {
      const routes = await l.run(ns, 'ip', ['-4', 'route', 'show']);
      expect(routes.stdout, ns).not.toMatch(/^default/m);
      for (const line of routes.stdout.trim().split('\n').filter(Boolean)) expect(line, `${ns}: ${line}`).toMatch(/^(203\.0\.113\.0|10\.0\.\d+\.0)\/24 /);
      const addrs = await l.run(ns, 'ip', ['-4', '-o', 'addr', 'show']);
      for (const m of addrs.stdout.matchAll(/inet (\S+)/g)) expect(m[1], ns).toMatch(/^(127\.0\.0\.1\/8|203\.0\.113\.\d+\/24|10\.0\.\d+\.\d\/24)$/);
    }
  });

  it('down removes every namespace of the lab and what ran in it', () => {
    const l = lab!;
    expect(l.namespaces()).toHaveLength(2 + NAT_KINDS.length + NAT_KINDS.filter((k) => k !== 'none').length);
    l.down();
    expect(l.namespaces()).toEqual([]);
  });
});
