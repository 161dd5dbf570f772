/**
 * Issue 9, NAT lab test 2: for every ordered pair of the five NAT kinds (25 runs) a p2p visitor on
 * a host behind one kind reaches a TCP service behind the other; the path is `direct` where the
 * strategy (engine/p2p/strategy.ts) says to punch and `relay` elsewhere, the status says why, and a
 * 16 MiB echo through it comes back with the SHA-256 it was sent with.
 *
 * One lab holds every kind twice: peers a..e (none, full, restricted, port-restricted, symmetric)
 * each run one `burrow client` with five p2p visitors, one per kind on the other side; peers f..j
 * (the same kinds) each run one `burrow client` serving a p2p tunnel to an echo service on its
 * loopback. All 25 pairs punch at once; the transfers then run one at a time, so the throughput
 * figures do not share the link. The matrix (pair → path, punch time, throughput) is printed and
 * written to docs/NAT-MATRIX.md.
 *
 * UDP services: each serving client has a second tunnel, `protocol: udp`, in front of a UDP echo,
 * and each visitor client a second visitor per kind; after the TCP transfer, 50 lockstep datagrams
 * of 1..1200 bytes go through it, on the path the same strategy gives.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseStrategy } from '../../engine/p2p/strategy.js';
import type { P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import type { P2pStatus } from '../../shared/types/status.js';
import { labUnavailableReason, NAT_KINDS, NatLab, type NatKind } from './lab.js';
import { ECHO_PORT, startClient, startEcho, startServer, transfer, udpPing, waitForVisitors, type LabClient, type TransferResult, type UdpPingResult } from './p2p-lab.js';

const REQUIRED = !!process.env.CI;
const UNAVAILABLE = labUnavailableReason();
if (UNAVAILABLE && !REQUIRED) console.warn(`p2p-matrix: skipping the NAT lab tests: ${UNAVAILABLE}`);
const BUILT = existsSync(resolve(import.meta.dirname, '../../dist/cli/main.js'));
const MATRIX_DOC = resolve(import.meta.dirname, '../../docs/NAT-MATRIX.md');

const PROTOCOLS = ['tcp', 'udp'] as const;
const UDP_ECHO_PORT = ECHO_PORT + 1;
const UDP_BIND_BASE = 21_000;
const DATAGRAMS = 50;
const BYTES = 16 * 1024 * 1024;
const BIND_BASE = 20_000;

/** What each kind's NAT detector reports in the lab (nat-detector.test.ts checks these). */
const REPORT: Record<NatKind, P2pNatReport> = {
  none: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', portAllocation: 'preserved' },
  full: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', portAllocation: 'preserved' },
  restricted: { mapping: 'endpoint-independent', filtering: 'address-dependent', portAllocation: 'preserved' },
  'port-restricted': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', portAllocation: 'preserved' },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', portAllocation: 'random' },
};

interface PairResult {
  visitorKind: NatKind;
  serviceKind: NatKind;
  expected: 'direct' | 'relay';
  /** The visitor's p2p status once its first attempt settled. */
  settled?: P2pStatus;
  /** The visitor's p2p status after the transfer. */
  after?: P2pStatus;
  transfer?: TransferResult;
  error?: string;
  /** The UDP visitor's p2p status after its datagrams, and what they did. */
  udpAfter?: P2pStatus;
  udp?: UdpPingResult;
  udpError?: string;
}

const key = (v: NatKind, s: NatKind) => `${v} → ${s}`;
const visitorName = (s: NatKind) => `to-${s}`;
const tunnelName = (s: NatKind) => `svc-${s}`;
const udpVisitorName = (s: NatKind) => `udp-to-${s}`;
const udpTunnelName = (s: NatKind) => `udp-svc-${s}`;
/** The service kind a visitor (tcp or udp) of the matrix points at. */
const kindOf = (visitor: string) => visitor.replace(/^(udp-)?to-/, '') as NatKind;

const suiteName = `p2p matrix in the NAT lab (issue 9 test 2), ${PROTOCOLS.join('+')}${UNAVAILABLE && !REQUIRED ? ` [skipped: ${UNAVAILABLE}]` : ''}`;

describe.skipIf(UNAVAILABLE !== null && !REQUIRED)(suiteName, () => {
  let lab: NatLab | undefined;
  let dir: string | undefined;
  const results = new Map<string, PairResult>();
  const started = Date.now();

  beforeAll(async () => {
    if (UNAVAILABLE) throw new Error(`the NAT lab cannot run here: ${UNAVAILABLE}`);
    if (!BUILT) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    lab = NatLab.up([...NAT_KINDS, ...NAT_KINDS]);
    dir = await mkdtemp(join(tmpdir(), 'burrow-natlab-p2p-'));
    const visiting = lab.peers.slice(0, NAT_KINDS.length);
    const serving = lab.peers.slice(NAT_KINDS.length);
    await startServer(lab, dir);
    await Promise.all(serving.map((p) => startEcho(lab!, p)));
    await Promise.all(serving.map((p) => startEcho(lab!, p, UDP_ECHO_PORT, 'udp')));
    await Promise.all(
      serving.map((p) =>
        startClient(lab!, dir!, p, {
          tunnels: [
            { name: tunnelName(p.kind), local: `127.0.0.1:${ECHO_PORT}` },
            { name: udpTunnelName(p.kind), local: `127.0.0.1:${UDP_ECHO_PORT}`, protocol: 'udp' },
          ],
        }),
      ),
    );
    const visitors: LabClient[] = await Promise.all(
      visiting.map((p) =>
        startClient(lab!, dir!, p, {
          visitors: [
            ...NAT_KINDS.map((s, j) => ({ name: visitorName(s), tunnel: tunnelName(s), bind: `127.0.0.1:${BIND_BASE + j}` })),
            ...NAT_KINDS.map((s, j) => ({ name: udpVisitorName(s), tunnel: udpTunnelName(s), bind: `127.0.0.1:${UDP_BIND_BASE + j}`, protocol: 'udp' as const })),
          ],
        }),
      ),
    );

    // every visitor punches in the background from the moment it is online: wait for each first attempt to settle
    for (const v of NAT_KINDS) for (const s of NAT_KINDS) results.set(key(v, s), { visitorKind: v, serviceKind: s, expected: chooseStrategy(REPORT[v], REPORT[s]).path });
    await Promise.all(
      visitors.map(async (client) => {
        const v = client.peer.kind;
        const settledFor = (s: NatKind, p: P2pStatus) => (results.get(key(v, s))!.expected === 'direct' ? p.path === 'direct' : p.attempts.some((a) => a.outcome !== 'connecting'));
        try {
          const all = await waitForVisitors(client, 'every first attempt to settle', (name, p) => settledFor(kindOf(name), p), 45_000);
          for (const s of NAT_KINDS) results.get(key(v, s))!.settled = all.get(visitorName(s));
        } catch (err) {
          // one pair not settling does not hide the others: record what each had
          const s0 = await client.status().catch(() => undefined);
          for (const s of NAT_KINDS) {
            const r = results.get(key(v, s))!;
            r.settled = s0?.visitors.find((x) => x.name === visitorName(s))?.p2p;
            if (!r.settled || !settledFor(s, r.settled)) r.error = `did not settle: ${(err as Error).message.split('\n')[0]}; p2p status: ${JSON.stringify(r.settled)}`;
          }
        }
      }),
    );

    // the transfers, one at a time
    for (const client of visitors) {
      for (const [j, s] of NAT_KINDS.entries()) {
        const r = results.get(key(client.peer.kind, s))!;
        try {
          r.transfer = await transfer(lab, client.peer, BIND_BASE + j, BYTES);
          r.after = (await client.cliStatus()).visitors.find((x) => x.name === visitorName(s))?.p2p;
        } catch (err) {
          r.error = `${r.error ? `${r.error}; ` : ''}${(err as Error).message}`;
        }
        try {
          r.udp = await udpPing(lab, client.peer, UDP_BIND_BASE + j, DATAGRAMS);
          r.udpAfter = (await client.cliStatus()).visitors.find((x) => x.name === udpVisitorName(s))?.p2p;
        } catch (err) {
          r.udpError = (err as Error).message;
        }
      }
    }
  }, 300_000);

  afterAll(async () => {
    try {
      if (results.size === NAT_KINDS.length ** 2) {
        const md = matrixMarkdown([...results.values()], Date.now() - started);
        console.log(md);
        await writeFile(MATRIX_DOC, md);
      }
    } finally {
      lab?.down();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  for (const v of NAT_KINDS) {
    for (const s of NAT_KINDS) {
      const strategy = chooseStrategy(REPORT[v], REPORT[s]);
      const expected = strategy.path;
      it(`tcp: visitor behind ${v} → service behind ${s}: ${expected}, 16 MiB intact`, () => {
        const r = results.get(key(v, s));
        expect(r, 'pair never ran').toBeDefined();
        expect(r!.error).toBeUndefined();
        const t = r!.transfer!;
        expect(t.received).toBe(BYTES);
        expect(t.receivedSha256).toBe(t.sentSha256);
        const after = r!.after!;
        const last = after.attempts.at(-1)!;
        expect(after.path).toBe(expected);
        if (expected === 'direct') {
          expect(after.direct.connections).toBe(1);
          expect(after.direct.bytesOut).toBe(BYTES);
          expect(after.direct.bytesIn).toBe(BYTES);
          expect(after.relay.connections).toBe(0);
          expect(after.pair?.remote).toMatch(/^203\.0\.113\.\d+:\d+$/);
          expect(last.outcome).toBe('direct');
        } else {
          expect(after.relay.connections).toBe(1);
          expect(after.relay.bytesOut).toBe(BYTES);
          expect(after.relay.bytesIn).toBe(BYTES);
          expect(after.direct.connections).toBe(0);
          // why: the strategy chose the relay without burning time on a punch
          expect(after.attempts.every((a) => a.outcome === 'relay' || a.outcome === 'connecting')).toBe(true);
          expect(after.attempts[0]!.reason).toMatch(/symmetric.*relay at once/);
          // "relay at once": the connection does not sit out fallbackTimeout (1 s) waiting for a punch nobody runs
          expect(t.firstByteMs).toBeLessThan(1_000);
        }
        // why, in the status: the reason of this NAT pair's strategy, from both sides' NAT reports as
        // each engine detected its own NAT in the lab
        expect(after.nat).toEqual({ local: REPORT[v], remote: REPORT[s] });
        expect((expected === 'direct' ? last : after.attempts[0]!).reason).toBe(strategy.reason);
        // which strategy worked for this pair of public addresses
        expect(after.strategies?.[0]).toMatchObject({
          local: expect.stringMatching(/^203\.0\.113\.\d+$/),
          remote: expect.stringMatching(/^203\.0\.113\.\d+$/),
          strategy: strategy.path === 'direct' ? strategy.mode : 'relay',
          lastOutcome: expected,
        });
        // nobody in this lab forges probes: the peer's own (duplicates included) are never counted as rejected
        expect(after.rejectedProbes).toBe(0);
      });
      it(`udp: visitor behind ${v} → service behind ${s}: ${expected}, ${DATAGRAMS} datagrams intact`, () => {
        const r = results.get(key(v, s));
        expect(r, 'pair never ran').toBeDefined();
        expect(r!.udpError).toBeUndefined();
        // lockstep echoes, each sent at most 3 times: every one came back, nothing else came back
        expect(r!.udp).toMatchObject({ ok: DATAGRAMS, bad: 0, lost: 0 });
        const after = r!.udpAfter!;
        expect(after.path).toBe(expected);
        const used = expected === 'direct' ? after.direct : after.relay;
        const unused = expected === 'direct' ? after.relay : after.direct;
        expect(used.connections).toBe(1); // one user address: one session
        expect(used.bytesOut).toBeGreaterThanOrEqual(DATAGRAMS); // payload bytes (retries may add)
        expect(used.bytesIn).toBeGreaterThanOrEqual(DATAGRAMS);
        expect(unused.connections).toBe(0);
        expect(after.nat).toEqual({ local: REPORT[v], remote: REPORT[s] });
        expect(after.rejectedProbes).toBe(0);
      });
    }
  }
});

function matrixMarkdown(rows: PairResult[], elapsedMs: number): string {
  const mibps = (t?: TransferResult) => (t ? `${(BYTES / 1024 / 1024 / (t.ms / 1000)).toFixed(1)}` : '–');
  const lines = rows.map((r) => {
    const p = r.after ?? r.settled;
    const direct = p?.attempts.find((a) => a.outcome === 'direct');
    const ok = r.transfer && r.transfer.receivedSha256 === r.transfer.sentSha256 && r.transfer.received === BYTES;
    const path = p?.path ?? 'none';
    const mark = path === r.expected && ok ? '' : ' **(unexpected)**';
    const tries = p ? p.attempts.findIndex((a) => a.outcome === 'direct') + 1 : 0;
    const u = r.udpAfter;
    const udpOk = r.udp && r.udp.ok === DATAGRAMS && r.udp.bad === 0;
    const udpCell = r.udp ? `${u?.path ?? 'none'}${u?.path === r.expected && udpOk ? '' : ' **(unexpected)**'}, ${r.udp.ok}/${DATAGRAMS} in ${r.udp.ms} ms` : `failed: ${(r.udpError ?? '').replace(/\n.*/s, '').replace(/\|/g, '/').slice(0, 80)}`;
    return `| ${r.visitorKind} | ${r.serviceKind} | ${r.expected} | ${path}${mark} | ${direct?.durationMs !== undefined ? `${direct.durationMs} ms${tries > 1 ? ` (attempt ${tries})` : ''}` : '–'} | ${direct?.rttMs ?? p?.rttMs ?? '–'} | ${mibps(r.transfer)} | ${r.transfer ? `${Math.round(r.transfer.firstByteMs)} ms` : '–'} | ${p?.rejectedProbes ?? '–'} | ${ok ? 'equal' : (r.error ?? 'differs').replace(/\n.*/s, '').replace(/\|/g, '/').slice(0, 120)} | ${udpCell} |`;
  });
  const notes = rows.flatMap((r) =>
    (r.after ?? r.settled)?.attempts
      .filter((a) => a.outcome === 'failed' || a.outcome === 'lost')
      .map((a) => `- ${r.visitorKind} → ${r.serviceKind}: an attempt ${a.outcome} after ${a.durationMs} ms: ${a.reason}`) ?? [],
  );
  const [load1] = loadavg();
  return [
    '# NAT matrix (issue 9, NAT lab test 2)',
    '',
    `Generated by \`e2e/natlab/p2p-matrix.test.ts\` on ${new Date().toISOString().slice(0, 10)} (${new Date().toISOString()}), ${rows.length} pairs in ${(elapsedMs / 1000).toFixed(0)} s, protocol ${PROTOCOLS.join(', ')}.`,
    'A p2p visitor on a host behind the row\'s NAT reaches an echo service behind the column\'s NAT, both real Linux',
    'NATs (nftables, see e2e/natlab/README.md) on one bridge with the server. Expected path: engine/p2p/strategy.ts.',
    'Punch time: the direct attempt\'s duration (signalling, both NAT reports cached, probes) as the visitor\'s',
    '`burrow status --json` reports it. Throughput: a 16 MiB echo (16 MiB each way at once) over the path,',
    'MiB/s of payload in one direction, transfers one at a time. First byte: from connect to the first echoed byte.',
    'Rejected probes: the visitor\'s `rejectedProbes` (probe-looking datagrams that were not valid ones of its sessions).',
    `UDP: a second p2p visitor and tunnel (\`protocol: udp\`) per pair in front of a UDP echo: ${DATAGRAMS} lockstep datagrams of 1..1200 bytes (each sent at most 3 times); its path and how many came back in what time.`,
    `Machine: ${cpus().length} CPUs, load average ${load1!.toFixed(1)} at the end of the run (the lab's eleven burrow`,
    'processes share them with whatever else runs): punch times and throughput here are bound by CPU, not by the path.',
    '',
    '| visitor behind | service behind | expected | path | punch time | rtt ms | MiB/s | first byte | rejected probes | SHA-256 | UDP path, echoes |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
    '',
    ...(notes.length ? ['Attempts that did not end direct (the engine punched again after its backoff):', '', ...notes, ''] : []),
  ].join('\n');
}
