/**
 * Peer-to-peer benchmark (issue 9), in a lab of network namespaces (e2e/natlab/natlab.sh):
 *
 *   npm run bench:p2p [-- --quick] [-- --docs | --no-docs] [-- --help]
 *
 * - throughput between two public hosts (kind none), unshaped and shaped with tbf: kernel TCP
 *   (iperf3 straight to the other host), Burrow's direct path (a p2p visitor: udx + Noise) and the
 *   relay (a secret visitor of the same tunnel, through the server), as ratios in the same run;
 * - a --cpu-prof of the visiting client during a direct transfer on the unshaped link;
 * - punch time over N attempts for full cone × full cone and port-restricted × port-restricted;
 * - fallback time over N attempts with UDP between the two routers dropped (nft).
 *
 * See docs/BENCHMARKS.md ("Peer-to-peer") for what is measured and how to read it.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ClientStatus, VisitorStatus } from '../shared/types/status.js';
import { burrowMissing } from './lib/burrow.js';
import { summarizeCpuProfile } from './lib/cpuprofile.js';
import { writeMarkedSection } from './lib/docs.js';
import { describeMachine, toolVersion } from './lib/env.js';
import { runBench } from './lib/lifecycle.js';
import { BenchLab, LAB_SERVER_IPS, labUnavailable, type LabHost } from './lib/natlab.js';
import { NetnsAgent } from './lib/netns-agent-client.js';
import { startBurrowIn, type NetnsBurrow } from './lib/netns-burrow.js';
import { runIperfIn, startIperfServerIn } from './lib/netns-iperf.js';
import { killTree } from './lib/proc.js';
import { P2P_MARKERS, renderP2pMarkdown, renderP2pText, type LinkThroughput, type P2pResults, type PunchSample } from './lib/p2p-report.js';
import { procTicks, watchCpu, watchSoftirq } from './lib/cpu-load.js';
import { parseUdpConntrack, remappedFlows } from './lib/conntrack.js';
import { parseUdpSnmp } from './lib/udp-snmp.js';
import { parseP2pArgs, P2P_USAGE, type P2pOptions } from './lib/p2p-options.js';
import { distBench, repoRoot } from './lib/root.js';
import { sleep } from './lib/stats.js';
import { makeTempDir } from './lib/tempdir.js';
import { findCpuProfile } from './lib/turn-servers.js';
import { shapeHost, tbfDrops, unshapeHost } from './lib/shaping.js';

const log = (msg: string): void => {
  process.stderr.write(`[bench:p2p ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const TOKEN = 'bench-p2p-token-123456';
const SECRET = 'bench p2p shared secret';
const CONTROL = `${LAB_SERVER_IPS[0]}:7000`;
const STUN_PORT = 3478;
const STATUS_PORT = 7400;
const IPERF_PORT = 5201;
const DIRECT_BIND = 15201;
const RELAY_BIND = 15202;
const CONE_BIND = 15300;

/** The lab: a, b public (throughput); c, d full cone; e, f port-restricted cone. */
const KINDS = ['none', 'none', 'full', 'full', 'port-restricted', 'port-restricted'] as const;

interface Ctx {
  lab: BenchLab;
  dir: string;
  opts: P2pOptions;
  agents: Map<string, NetnsAgent>;
  server?: NetnsBurrow;
}

function clientConfig(ctx: Ctx, name: string, level: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    server: CONTROL,
    token: TOKEN,
    // one id per client: with the same id (default: the host name) a login replaces the other's
    clientId: name,
    stateDir: path.join(ctx.dir, `${name}-state`),
    admin: { listen: `127.0.0.1:${STATUS_PORT}` },
    log: { level },
    ...extra,
  };
}

async function status(ctx: Ctx, host: LabHost): Promise<ClientStatus | undefined> {
  try {
    return (await ctx.agents.get(host.ns)!.call('status', { port: STATUS_PORT }, 3000)).status as ClientStatus;
  } catch {
    return undefined;
  }
}

/** Poll the client's status (every 20 ms) until `pick` returns something, or throw after timeoutMs. */
async function waitStatus<T>(ctx: Ctx, host: LabHost, client: NetnsBurrow, what: string, timeoutMs: number, pick: (s: ClientStatus) => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: ClientStatus | undefined;
  while (Date.now() < deadline) {
    if (client.proc.hasExited()) throw new Error(`${client.proc.name} exited while waiting for ${what}: ${client.proc.output().slice(-800)}`);
    last = await status(ctx, host);
    const v = last ? pick(last) : undefined;
    if (v) return v;
    await sleep(20);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; last status: ${JSON.stringify(last ?? null).slice(0, 800)}`);
}

const visitorNamed = (s: ClientStatus, name: string): VisitorStatus | undefined => s.visitors.find((v) => v.name === name);

async function startServer(ctx: Ctx): Promise<NetnsBurrow> {
  const server = startBurrowIn(ctx.lab.server, 'server', ctx.dir, 'server', {
    listen: CONTROL,
    token: TOKEN,
    stateDir: path.join(ctx.dir, 'server-state'),
    log: { level: 'warn' },
    stun: { listen: `${LAB_SERVER_IPS[0]}:${STUN_PORT}`, tlsListen: false, alternate: { ip: LAB_SERVER_IPS[1] } },
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const tcp = ctx.lab.exec(ctx.lab.server, 'ss', ['-Hntl']);
    const udp = ctx.lab.exec(ctx.lab.server, 'ss', ['-Hnlu']);
    if (tcp.includes(CONTROL) && udp.includes(`${LAB_SERVER_IPS[1]}:${STUN_PORT + 1}`)) return server;
    if (server.proc.hasExited() || Date.now() > deadline) throw new Error(`burrow server did not come up: ${server.proc.output().slice(-1500)}`);
    await sleep(100);
  }
}

/** A serving client on `host` with one p2p tunnel to `local`; resolves once the tunnel is online. */
async function startServing(ctx: Ctx, host: LabHost, tunnel: string, local: string, cpuProfDir?: string): Promise<NetnsBurrow> {
  const client = startBurrowIn(host.ns, 'client', ctx.dir, `serve-${tunnel}`, clientConfig(ctx, `serve-${tunnel}`, 'warn', { tunnels: [{ name: tunnel, type: 'p2p', local, secret: SECRET }] }), cpuProfDir ? { cpuProfDir } : {});
  await waitStatus(ctx, host, client, `tunnel ${tunnel} online`, 20_000, (s) => s.tunnels.find((t) => t.name === tunnel)?.state === 'online');
  return client;
}

// ------------------------------------------------------------------------------------------------
// Throughput: kernel TCP vs direct vs relay, unshaped and shaped

type PathName = 'kernel' | 'direct' | 'relay';

async function startBulkVisitor(ctx: Ctx, b: LabHost, n: number, cpuProfDir?: string): Promise<NetnsBurrow> {
  const name = `visit-bulk-${n}`;
  const client = startBurrowIn(
    b.ns,
    'client',
    ctx.dir,
    name,
    clientConfig(ctx, name, 'warn', {
      visitors: [
        { name: 'bulk-direct', type: 'p2p', tunnel: 'bulk', secret: SECRET, bind: `127.0.0.1:${DIRECT_BIND}`, fallback: 'none' },
        { name: 'bulk-relay', type: 'secret', tunnel: 'bulk', secret: SECRET, bind: `127.0.0.1:${RELAY_BIND}` },
      ],
    }),
    cpuProfDir ? { cpuProfDir } : {},
  );
  await waitStatus(ctx, b, client, 'the bulk visitor\'s direct path', 20_000, (s) => visitorNamed(s, 'bulk-direct')?.p2p?.path === 'direct' && visitorNamed(s, 'bulk-relay')?.state === 'online');
  return client;
}

/** The processes whose CPU a throughput run reports (pids are global: no pid namespaces in the lab). */
interface Watched {
  visiting: NetnsBurrow;
  serving: NetnsBurrow;
  server: NetnsBurrow;
  /** Other long-lived helpers of ours (iperf3 -s, agents), so they do not count as outside load. */
  helpers: number[];
}

const TICKS_PER_S = 100; // USER_HZ

/** UDP datagrams the kernels of these hosts dropped for a full socket receive buffer, so far. */
function udpDrops(ctx: Ctx, hosts: LabHost[]): number {
  return hosts.reduce((sum, h) => sum + parseUdpSnmp(ctx.lab.exec(h.ns, 'cat', ['/proc/net/snmp'])).rcvbufErrors, 0);
}

async function measurePaths(ctx: Ctx, a: LabHost, b: LabHost, link: string, w: Watched, shaped = false): Promise<Omit<LinkThroughput, 'link'>> {
  const queueDrops = (): number => (shaped ? tbfDrops(ctx.lab, a) + tbfDrops(ctx.lab, b) : 0);
  const targets: Record<PathName, [string, number]> = { kernel: [a.ip, IPERF_PORT], direct: ['127.0.0.1', DIRECT_BIND], relay: ['127.0.0.1', RELAY_BIND] };
  const out: Omit<LinkThroughput, 'link'> = { kernel: { runs: [], cpu: [] }, direct: { runs: [], cpu: [] }, relay: { runs: [], cpu: [] } };
  const procs = [w.visiting, w.serving, w.server];
  // interleaved, so a slow phase of the machine hits every path alike
  for (let r = 0; r < ctx.opts.iperfRepeats; r++) {
    for (const p of ['kernel', 'direct', 'relay'] as const) {
      const [host, port] = targets[p];
      const before = procs.map((x) => procTicks(x.proc.pid, false));
      const load = watchCpu([...procs.map((x) => x.proc.pid), ...w.helpers]);
      const softirq = watchSoftirq();
      const drops0 = udpDrops(ctx, [a, b]);
      const queue0 = queueDrops();
      const t0 = performance.now();
      try {
        const mb = await runIperfIn(b.ns, host, port, ctx.opts.iperfSeconds);
        const seconds = (performance.now() - t0) / 1000;
        const pct = procs.map((x, i) => (100 * (procTicks(x.proc.pid, false) - before[i]!)) / TICKS_PER_S / seconds);
        const l = load();
        const irq = softirq();
        const drops = udpDrops(ctx, [a, b]) - drops0;
        const queue = queueDrops() - queue0;
        out[p].runs.push(mb);
        out[p].cpu!.push({ visiting: pct[0]!, serving: pct[1]!, server: pct[2]!, otherPct: l.otherPct, stealPct: l.stealPct, softirqPct: irq, udpRcvbufDrops: drops, ...(shaped ? { tbfDrops: queue } : {}) });
        log(`  ${link} ${p} run ${r + 1}: ${mb.toFixed(1)} MB/s; CPU visiting ${pct[0]!.toFixed(0)} %, serving ${pct[1]!.toFixed(0)} %, server ${pct[2]!.toFixed(0)} % (of one core); softirq ${irq.toFixed(0)} %, UDP receive-buffer drops ${drops}${shaped ? `, tbf drops ${queue}` : ''}, other processes ${l.otherPct.toFixed(0)} % of the machine`);
      } catch (err) {
        out[p].error = message(err).split('\n')[0];
        log(`  ${link} ${p} run ${r + 1} failed: ${out[p].error}`);
      }
      await sleep(300);
    }
  }
  return out;
}

/** Both bulk clients under --cpu-prof for one direct iperf3 run; `started` hands the running clients back for cleanup. */
async function profileDirect(ctx: Ctx, a: LabHost, b: LabHost, started: (serving: NetnsBurrow | undefined, visiting: NetnsBurrow | undefined) => void): Promise<NonNullable<P2pResults['profile']>> {
  log('profile: both clients under --cpu-prof, one direct iperf3 run on the unshaped link');
  const profDir = { visiting: path.join(ctx.dir, 'prof-visiting'), serving: path.join(ctx.dir, 'prof-serving') };
  const serving = await startServing(ctx, a, 'bulk', `127.0.0.1:${IPERF_PORT}`, profDir.serving);
  started(serving, undefined);
  const visiting = await startBulkVisitor(ctx, b, 2, profDir.visiting);
  started(serving, visiting);
  await sleep(300);
  const from = Number(process.hrtime.bigint() / 1000n);
  const mb = await runIperfIn(b.ns, '127.0.0.1', DIRECT_BIND, ctx.opts.iperfSeconds);
  const to = Number(process.hrtime.bigint() / 1000n);
  // the profile is written at a clean exit (SIGTERM); give a loaded machine time for it
  const [visitingClean, servingClean] = await Promise.all([visiting.stop(30_000), serving.stop(30_000)]);
  const clean = { visiting: visitingClean, serving: servingClean };
  const keepDir = path.join(distBench, 'p2p-profiles');
  mkdirSync(keepDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profiles = (['visiting', 'serving'] as const).map((role) => {
    const file = findCpuProfile(profDir[role]);
    const proc = (role === 'visiting' ? visiting : serving).proc;
    if (!file) throw new Error(`the ${role} client wrote no CPU profile (${clean[role] ? 'it exited by itself' : 'it did not exit within 30 s of SIGTERM and was killed'}; last output: ${proc.output().trim().split('\n').slice(-2).join(' | ').slice(-300)})`);
    const saved = path.join(keepDir, `${role}-client-${stamp}.cpuprofile`);
    copyFileSync(file, saved);
    return { role, saved: path.relative(repoRoot, saved), summary: summarizeCpuProfile(file, repoRoot, 15, { fromUs: from, toUs: to }) };
  });
  log(`  ${mb.toFixed(1)} MB/s under the profiler; profiles kept in ${keepDir}`);
  return { mbPerSec: mb, profiles };
}

async function throughputPhase(ctx: Ctx, results: P2pResults): Promise<void> {
  const [a, b] = [ctx.lab.hosts[0]!, ctx.lab.hosts[1]!];
  const iperf = await startIperfServerIn(ctx.lab, a.ns, IPERF_PORT);
  let serving: NetnsBurrow | undefined;
  let visiting: NetnsBurrow | undefined;
  const watched = (): Watched => ({ visiting: visiting!, serving: serving!, server: ctx.server!, helpers: [iperf.pid, ...[...ctx.agents.values()].map((x) => x.pid)] });
  try {
    serving = await startServing(ctx, a, 'bulk', `127.0.0.1:${IPERF_PORT}`);
    visiting = await startBulkVisitor(ctx, b, 1);
    log('throughput, unshaped link');
    results.throughput.push({ link: 'unshaped', ...(await measurePaths(ctx, a, b, 'unshaped', watched())) });

    if (ctx.opts.profile) {
      await visiting.stop();
      await serving.stop();
      try {
        results.profile = await profileDirect(ctx, a, b, (s, v) => {
          serving = s;
          visiting = v;
        });
      } catch (err) {
        results.errors.push(`profile: ${message(err).split('\n').slice(0, 3).join(' | ')}`);
        log(`  profile failed: ${message(err).split('\n')[0]}`);
      }
      await visiting?.stop();
      await serving?.stop();
      serving = await startServing(ctx, a, 'bulk', `127.0.0.1:${IPERF_PORT}`);
      visiting = await startBulkVisitor(ctx, b, 3);
    }

    log(`throughput, link shaped to ${ctx.opts.rateMbit} Mbit/s (tbf on both ends of both hosts' veths)`);
    shapeHost(ctx.lab, a, ctx.opts.rateMbit);
    shapeHost(ctx.lab, b, ctx.opts.rateMbit);
    try {
      results.throughput.push({ link: `tbf ${ctx.opts.rateMbit} Mbit/s`, ...(await measurePaths(ctx, a, b, 'shaped', watched(), true)) });
    } finally {
      unshapeHost(ctx.lab, a);
      unshapeHost(ctx.lab, b);
    }
    const s = await status(ctx, b);
    const v = s && visitorNamed(s, 'bulk-direct');
    if (v?.p2p && v.p2p.relay.connections > 0) results.notes.push(`the direct visitor sent ${v.p2p.relay.connections} connection(s) through the relay: its figures are not all direct`);
  } finally {
    await visiting?.stop();
    await serving?.stop();
    await killTree(iperf, 1000);
  }
}

// ------------------------------------------------------------------------------------------------
// Punch time and fallback time

/**
 * After a failed punch: did either NAT give its host's flow to the peer another public port than
 * the one the STUN server saw? (Linux masquerade does when the peer's first probe arrived before
 * the host sent its own: the reply tuple of the host's flow would clash with the entry that probe
 * created, so the flow gets a fresh port, which the peer's filter then drops.)
 */
function natDiagnosis(ctx: Ctx, a: LabHost, b: LabHost): string {
  const found: string[] = [];
  for (const [me, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    if (!me.router) continue;
    try {
      const flows = parseUdpConntrack(ctx.lab.exec(me.router, 'cat', ['/proc/net/nf_conntrack']));
      const remapped = remappedFlows(flows, me.ip, peer.publicIp);
      if (remapped.length > 0) {
        found.push(`the ${me.kind} NAT ${me.publicIp} sent its host's probes from another port than the STUN server saw`);
        log(`    conntrack of ${me.router}: ${remapped.map((r) => `${me.ip}:${r.from} → ${peer.publicIp}:${r.peerPort} leaves from :${r.to}`).join(', ')}`);
      }
    } catch {
      // no conntrack table to read: no diagnosis
    }
  }
  return found.length ? ` [conntrack: ${found.join('; ')}: the peer's earlier probe held the tuple]` : '';
}

/** One fresh visiting client on `host`, a p2p visitor of `tunnel`; the caller stops it. */
function startConeVisitor(ctx: Ctx, host: LabHost, tunnel: string, n: number): NetnsBurrow {
  const name = `visit-${tunnel}-${n}`;
  return startBurrowIn(host.ns, 'client', ctx.dir, name, clientConfig(ctx, name, 'info', { visitors: [{ name: 'v', type: 'p2p', tunnel, secret: SECRET, bind: `127.0.0.1:${CONE_BIND}` }] }));
}

async function punchOnce(ctx: Ctx, host: LabHost, peer: LabHost, tunnel: string, n: number): Promise<PunchSample> {
  const client = startConeVisitor(ctx, host, tunnel, n);
  try {
    const attempt = await waitStatus(ctx, host, client, 'the first punch attempt to end', 20_000, (s) => {
      const a = visitorNamed(s, 'v')?.p2p?.attempts[0];
      return a && a.outcome !== 'connecting' ? a : undefined;
    });
    if (attempt.outcome !== 'direct') return { ok: false, reason: `${attempt.outcome}: ${attempt.reason ?? '?'}${natDiagnosis(ctx, host, peer)}` };
    const up = client.logs.find((l) => l.msg === 'p2p direct path up');
    const totalMs = typeof up?.time === 'number' ? up.time - attempt.startedAt : undefined;
    // the path carries a connection
    const agent = ctx.agents.get(host.ns)!;
    await agent.call('roundTrip', { port: CONE_BIND, bytes: 4096, timeoutMs: 5000 }, 8000);
    const after = visitorNamed((await status(ctx, host))!, 'v')!.p2p!;
    if (after.direct.connections < 1) return { ok: false, reason: `the round trip went ${after.relay.connections > 0 ? 'through the relay' : 'nowhere'} although the path was direct` };
    return { ok: true, punchMs: attempt.durationMs ?? Number.NaN, ...(totalMs !== undefined ? { totalMs } : {}), ...(attempt.rttMs !== undefined ? { rttMs: attempt.rttMs } : {}) };
  } catch (err) {
    return { ok: false, reason: message(err).split('\n')[0]! };
  } finally {
    await client.stop();
  }
}

async function punchPhase(ctx: Ctx, results: P2pResults): Promise<void> {
  const pairs = [
    { label: 'full cone × full cone', serve: ctx.lab.hosts[2]!, visit: ctx.lab.hosts[3]!, tunnel: 'cone-full' },
    { label: 'port-restricted × port-restricted', serve: ctx.lab.hosts[4]!, visit: ctx.lab.hosts[5]!, tunnel: 'cone-pr' },
  ];
  for (const pair of pairs) {
    const echo = (await ctx.agents.get(pair.serve.ns)!.call('echoServer', {})).port as number;
    const serving = await startServing(ctx, pair.serve, pair.tunnel, `127.0.0.1:${echo}`);
    try {
      log(`punch: ${pair.label}, ${ctx.opts.punchAttempts} attempts (a fresh visiting client each)`);
      const samples: PunchSample[] = [];
      for (let i = 0; i < ctx.opts.punchAttempts; i++) {
        const s = await punchOnce(ctx, pair.visit, pair.serve, pair.tunnel, i);
        samples.push(s);
        if (!s.ok) log(`  attempt ${i + 1}: no direct path: ${s.reason}`);
        else if ((i + 1) % 10 === 0 || ctx.opts.quick) log(`  attempt ${i + 1}: punch ${s.punchMs} ms, attempt start to direct ${s.totalMs?.toFixed(0) ?? '?'} ms`);
      }
      results.punch.push({ pair: pair.label, samples });
    } finally {
      await serving.stop();
    }
  }
}

/** nft on the visiting side's router: UDP to and from the serving side's public address is dropped. */
function dropUdp(ctx: Ctx, router: string, peerPublic: string): void {
  ctx.lab.exec(router, 'nft', ['-f', '-'], `table ip benchdrop {\n  chain forward { type filter hook forward priority filter - 10; policy accept;\n    ip daddr ${peerPublic} meta l4proto udp drop\n    ip saddr ${peerPublic} meta l4proto udp drop\n  }\n}\n`);
}

function liftDrop(ctx: Ctx, router: string): void {
  ctx.lab.exec(router, 'nft', ['delete', 'table', 'ip', 'benchdrop']);
}

async function fallbackOnce(ctx: Ctx, host: LabHost, tunnel: string, n: number): Promise<{ ok: true; ms: number } | { ok: false; reason: string }> {
  const client = startConeVisitor(ctx, host, tunnel, 1000 + n);
  try {
    await waitStatus(ctx, host, client, 'the visitor online', 20_000, (s) => visitorNamed(s, 'v')?.state === 'online');
    // the first connection, as soon as the visitor is up: it must not wait for the punch to give up
    const ms = (await ctx.agents.get(host.ns)!.call('roundTrip', { port: CONE_BIND, bytes: 4096, timeoutMs: 10_000 }, 15_000)).ms as number;
    const p2p = visitorNamed((await status(ctx, host))!, 'v')!.p2p!;
    if (p2p.relay.connections !== 1) return { ok: false, reason: `expected the connection on the relay; direct ${p2p.direct.connections}, relay ${p2p.relay.connections}` };
    return { ok: true, ms };
  } catch (err) {
    return { ok: false, reason: message(err).split('\n')[0]! };
  } finally {
    await client.stop();
  }
}

async function fallbackPhase(ctx: Ctx, results: P2pResults): Promise<void> {
  const [serve, visit] = [ctx.lab.hosts[2]!, ctx.lab.hosts[3]!];
  const echo = (await ctx.agents.get(serve.ns)!.call('echoServer', {})).port as number;
  const serving = await startServing(ctx, serve, 'cone-fb', `127.0.0.1:${echo}`);
  dropUdp(ctx, visit.router!, serve.publicIp);
  try {
    log(`fallback: full cone × full cone with UDP between the routers dropped, ${ctx.opts.fallbackAttempts} attempts`);
    for (let i = 0; i < ctx.opts.fallbackAttempts; i++) {
      const r = await fallbackOnce(ctx, visit, 'cone-fb', i);
      results.fallback.push(r);
      if (!r.ok) log(`  attempt ${i + 1} failed: ${r.reason}`);
      else if ((i + 1) % 5 === 0 || ctx.opts.quick) log(`  attempt ${i + 1}: first connection answered through the relay after ${r.ms.toFixed(0)} ms`);
    }
  } finally {
    liftDrop(ctx, visit.router!);
    await serving.stop();
  }
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: P2pOptions;
  try {
    opts = parseP2pArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${message(err)}\n`);
    return message(err) === P2P_USAGE ? 0 : 2;
  }
  const why = labUnavailable() ?? burrowMissing();
  if (why) {
    process.stderr.write(`bench:p2p cannot run here: ${why}\n`);
    return 1;
  }
  const started = new Date();
  const env = [...describeMachine(), `iperf3 ${await toolVersion('iperf3', ['--version'], /iperf (\S+)/)}`].join(', ');
  log(`peer-to-peer benchmark${opts.quick ? ' (quick)' : ''}: lab ${KINDS.join(' ')}`);
  const lab = BenchLab.up(KINDS);
  const ctx: Ctx = { lab, dir: makeTempDir('bench-p2p-'), opts, agents: new Map() };
  const results: P2pResults = { throughput: [], punch: [], fallback: [], notes: [], errors: [] };
  try {
    for (const h of lab.hosts) ctx.agents.set(h.ns, await NetnsAgent.start(h.ns));
    const server = await startServer(ctx);
    ctx.server = server;
    try {
      for (const [name, fn] of [
        ['throughput', throughputPhase],
        ['punch', punchPhase],
        ['fallback', fallbackPhase],
      ] as const) {
        try {
          await fn(ctx, results);
        } catch (err) {
          results.errors.push(`${name}: ${message(err).split('\n').slice(0, 4).join(' | ')}`);
          log(`${name} phase failed: ${message(err).split('\n')[0]}`);
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    for (const a of ctx.agents.values()) await a.stop();
    lab.down();
  }

  const mode = opts.quick ? 'quick' : 'full';
  const meta = { started, env, mode, opts };
  process.stdout.write(`\n${renderP2pText(results, meta)}\n`);
  if (opts.writeDocs) {
    // one section per run (date and time): runs on a shared machine vary, and every one is kept
    const key = `${started.toISOString().slice(0, 16).replace('T', ' ')} ${mode}`;
    const file = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
    writeMarkedSection(file, P2P_MARKERS, key, renderP2pMarkdown(results, meta));
    log(`wrote section "${key}" to ${file}`);
  } else {
    log('docs/BENCHMARKS.md not written (quick run; pass --docs to write)');
  }
  return results.errors.length > 0 ? 1 : 0;
}

runBench('bench:p2p', main, process.argv.includes('--quick') ? 10 : 30, log);
