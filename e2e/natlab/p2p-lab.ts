/**
 * Real `burrow` processes in a NAT lab for the peer-to-peer tests (issue 9 tests 2–4): the server
 * (control, relay, RFC 5780 STUN on both server addresses) in the server namespace, clients in the
 * peers' host namespaces, each with its status endpoint on its namespace's own loopback, and the
 * lab-tool.mjs helpers (echo service, transfers, the attacker) beside them. Everything started here
 * is a child of the lab and goes down with it.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ClientStatus, P2pStatus } from '../../shared/types/status.js';
import { SERVER_IPS, type LabPeer, type NatLab } from './lab.js';

export const BIN = resolve(import.meta.dirname, '../../bin/burrow.js');
export const TOOL = resolve(import.meta.dirname, 'lab-tool.mjs');
export const TOKEN = 'natlab-p2p-token-0123';
export const SECRET = 'natlab correct horse battery';
export const CONTROL = `${SERVER_IPS[0]}:7000`;
export const STUN_PORT = 3478;
/** Each client's status endpoint, on the loopback of its own namespace. */
export const ADMIN = '127.0.0.1:7400';
/** The echo service behind every serving client, on its host's loopback. */
export const ECHO_PORT = 9000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects a child's output; rejects `ready` with it if the child exits first. */
function watch(child: ChildProcess): { output: () => string } {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-20_000)));
  return { output: () => text };
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, explain: () => string = () => '', intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain() ? `\n${explain()}` : ''}`);
    await sleep(intervalMs);
  }
}

/** `burrow server` with STUN on 203.0.113.1 + .2 (RFC 5780), ready once control and all four STUN sockets are bound. */
export async function startServer(lab: NatLab, dir: string): Promise<ChildProcess> {
  const config = join(dir, 'server.yaml');
  await writeFile(
    config,
    [
      `listen: ${CONTROL}`,
      `token: ${TOKEN}`,
      'tls: false',
      `stateDir: ${join(dir, 'server-state')}`,
      'log: { level: warn }',
      'stun:',
      `  listen: ${SERVER_IPS[0]}:${STUN_PORT}`,
      '  tlsListen: false',
      `  alternate: { ip: ${SERVER_IPS[1]} }`,
      '',
    ].join('\n'),
  );
  const server = lab.spawn(lab.server, process.execPath, [BIN, 'server', '--config', config]);
  const out = watch(server);
  const udp = SERVER_IPS.flatMap((ip) => [`${ip}:${STUN_PORT}`, `${ip}:${STUN_PORT + 1}`]);
  await until(
    'burrow server to bind control and STUN',
    async () => {
      if (server.exitCode !== null) throw new Error(`burrow server exited ${server.exitCode}: ${out.output()}`);
      const [u, t] = await Promise.all([lab.run(lab.server, 'ss', ['-Hnlu']), lab.run(lab.server, 'ss', ['-Hnlt'])]);
      return udp.every((a) => u.stdout.includes(a)) && t.stdout.includes(CONTROL);
    },
    15_000,
    out.output,
  );
  return server;
}

export interface P2pTunnelSpec {
  name: string;
  local: string;
  protocol?: 'tcp' | 'udp';
}
export interface P2pVisitorSpec {
  name: string;
  tunnel: string;
  bind: string;
  protocol?: 'tcp' | 'udp';
  fallbackTimeout?: number;
}

export interface LabClient {
  peer: LabPeer;
  process: ChildProcess;
  output: () => string;
  /** A status fresher than the call, from the client's watcher (lab-tool.mjs watch: GET /status every 250 ms). */
  status: () => Promise<ClientStatus>;
  /** The status as `burrow status --json` prints it (a whole node process: not for polling). */
  cliStatus: () => Promise<ClientStatus>;
}

/** `burrow client` in a peer's host namespace with the given p2p tunnels and visitors; resolves once it is online. */
export async function startClient(lab: NatLab, dir: string, peer: LabPeer, spec: { tunnels?: P2pTunnelSpec[]; visitors?: P2pVisitorSpec[] }): Promise<LabClient> {
  const id = peer.host.slice(lab.prefix.length);
  const config = join(dir, `client-${id}.yaml`);
  // JSON is YAML
  await writeFile(
    config,
    JSON.stringify({
      server: CONTROL,
      token: TOKEN,
      tls: false,
      clientId: `peer-${id}-${peer.kind}`,
      admin: { listen: ADMIN },
      log: { level: 'warn' },
      tunnels: (spec.tunnels ?? []).map((t) => ({ name: t.name, type: 'p2p', local: t.local, secret: SECRET, ...(t.protocol ? { protocol: t.protocol } : {}) })),
      visitors: (spec.visitors ?? []).map((v) => ({
        name: v.name,
        type: 'p2p',
        tunnel: v.tunnel,
        secret: SECRET,
        bind: v.bind,
        ...(v.protocol ? { protocol: v.protocol } : {}),
        ...(v.fallbackTimeout ? { fallbackTimeout: v.fallbackTimeout } : {}),
      })),
    }),
  );
  const child = lab.spawn(peer.host, process.execPath, [BIN, 'client', '--config', config]);
  const out = watch(child);
  const cliStatus = async (): Promise<ClientStatus> => {
    // `burrow status` is a whole node process (about a second on a loaded machine): retried, never polled
    let last = '';
    for (let tries = 0; tries < 3; tries++) {
      const r = await lab.run(peer.host, process.execPath, [BIN, 'status', '--admin', ADMIN, '--json'], 20_000);
      try {
        const s = JSON.parse(r.stdout) as ClientStatus | { error: string; visitors?: undefined };
        if (s.visitors) return s;
        last = s.error ?? 'no status';
      } catch {
        last = `exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}, stderr ${JSON.stringify(r.stderr.slice(0, 500))}`;
      }
    }
    throw new Error(`burrow status in ${peer.host}: ${last}`);
  };
  // polling with `burrow status` (0.4 s of CPU each) from five clients at once starved the punches
  // of a 2-CPU machine; the watcher is one process per client that only fetches
  const watcher = lab.spawn(peer.host, process.execPath, [TOOL, 'watch', ADMIN, '250']);
  let latest: { at: number; value: ClientStatus | { error: string; visitors?: undefined } } | undefined;
  let buffered = '';
  const waiting = new Set<() => void>();
  watcher.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      try {
        latest = { at: performance.now(), value: JSON.parse(line) as ClientStatus };
      } catch {
        latest = { at: performance.now(), value: { error: `not JSON: ${line.slice(0, 200)}` } };
      }
    }
    for (const w of [...waiting]) w();
  });
  const status = async (): Promise<ClientStatus> => {
    const asked = performance.now();
    const deadline = asked + 10_000;
    while (!latest || latest.at < asked) {
      if (watcher.exitCode !== null) throw new Error(`the status watcher in ${peer.host} exited ${watcher.exitCode}`);
      if (performance.now() > deadline) throw new Error(`no status from ${peer.host} for 10 s`);
      await new Promise<void>((r) => {
        const done = () => (waiting.delete(done), clearTimeout(t), r());
        const t = setTimeout(done, 1_000);
        waiting.add(done);
      });
    }
    const v = latest.value;
    if (!v.visitors) throw new Error(`status of ${peer.host}: ${v.error ?? 'no status'}`);
    return v;
  };
  const client: LabClient = { peer, process: child, output: out.output, status, cliStatus };
  await until(
    `the ${peer.kind} client in ${peer.host} to be online`,
    async () => {
      if (child.exitCode !== null) throw new Error(`burrow client in ${peer.host} exited ${child.exitCode}: ${out.output()}`);
      const s = await status().catch(() => undefined);
      return s?.state === 'online' && s.tunnels.every((t) => t.state === 'online') && s.visitors.every((v) => v.state === 'online');
    },
    30_000,
    out.output,
    0,
  );
  return client;
}

/** The p2p status of every visitor of a client, polled until `check` accepts each (one `burrow status` per poll for all of them). */
export async function waitForVisitors(
  client: LabClient,
  what: string,
  check: (visitor: string, p: P2pStatus) => boolean,
  timeoutMs: number,
): Promise<Map<string, P2pStatus>> {
  let last: ClientStatus | undefined;
  return until(
    `${what} (visitors in ${client.peer.host})`,
    async () => {
      last = await client.status();
      const all = new Map(last.visitors.map((v) => [v.name, v.p2p] as const));
      for (const [name, p] of all) if (!p || !check(name, p)) return undefined;
      return all as Map<string, P2pStatus>;
    },
    timeoutMs,
    () => `last status: ${JSON.stringify(last?.visitors)}\nclient output: ${client.output()}`,
    0,
  );
}

/** The p2p status of one visitor, polled until `check` accepts it. */
export async function waitForVisitor(client: LabClient, visitor: string, what: string, check: (p: P2pStatus) => boolean, timeoutMs: number): Promise<P2pStatus> {
  let last: P2pStatus | undefined;
  return until(
    `${what} (visitor ${visitor} in ${client.peer.host})`,
    async () => {
      const s = await client.status();
      last = s.visitors.find((v) => v.name === visitor)?.p2p;
      return last && check(last) ? last : undefined;
    },
    timeoutMs,
    () => `last status: ${JSON.stringify(last)}\nclient output: ${client.output()}`,
    0,
  );
}

/** The lab-tool echo service on a host's loopback. */
export async function startEcho(lab: NatLab, peer: LabPeer, port = ECHO_PORT, protocol: 'tcp' | 'udp' = 'tcp'): Promise<ChildProcess> {
  const child = lab.spawn(peer.host, process.execPath, [TOOL, protocol === 'udp' ? 'udpecho' : 'echo', String(port)]);
  const out = watch(child);
  await until(`the echo service in ${peer.host}`, async () => out.output().includes('"listening"') || (child.exitCode !== null && Promise.reject(new Error(out.output()))), 10_000);
  return child;
}

export interface TransferResult {
  sent: number;
  received: number;
  sentSha256: string;
  receivedSha256: string;
  firstByteMs: number;
  ms: number;
}

/** Sends `bytes` random bytes through 127.0.0.1:`port` in a host's namespace and reads the echo back. */
export async function transfer(lab: NatLab, peer: LabPeer, port: number, bytes: number, timeoutMs = 60_000): Promise<TransferResult> {
  const r = await lab.run(peer.host, process.execPath, [TOOL, 'transfer', String(port), String(bytes), String(timeoutMs)], timeoutMs + 5_000);
  let parsed: (TransferResult & { error?: undefined }) | { error: string } | undefined;
  try {
    parsed = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.error !== undefined) throw new Error(`transfer of ${bytes} bytes via ${peer.host} 127.0.0.1:${port} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return parsed;
}

export interface UdpPingResult {
  ok: number;
  bad: number;
  lost: number;
  ms: number;
}

/** `count` lockstep UDP echoes through 127.0.0.1:`port` in a host's namespace (lab-tool.mjs udpping). */
export async function udpPing(lab: NatLab, peer: LabPeer, port: number, count: number): Promise<UdpPingResult> {
  const r = await lab.run(peer.host, process.execPath, [TOOL, 'udpping', String(port), String(count)], count * 6_000 + 5_000);
  try {
    const parsed = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as UdpPingResult & { error?: string };
    if (parsed.error === undefined) return parsed;
  } catch {
    // reported below
  }
  throw new Error(`udp echoes via ${peer.host} 127.0.0.1:${port} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
}

/**
 * Drops UDP between two public addresses on the lab's internet (an nftables bridge filter in the
 * bridge namespace, both directions); resolves to the function that lifts the drop again. TCP
 * (the control and relay connections) and UDP to the server are untouched.
 */
export async function dropUdpBetween(lab: NatLab, a: string, b: string): Promise<() => Promise<void>> {
  const ns = `${lab.prefix}net`;
  const table = 'natlab_drop';
  const nft = async (...args: string[]) => {
    const r = await lab.run(ns, 'nft', args);
    if (r.code !== 0) throw new Error(`nft ${args.join(' ')} in ${ns} failed: ${r.stderr}`);
  };
  await nft('add', 'table', 'bridge', table);
  await nft('add', 'chain', 'bridge', table, 'forward', '{ type filter hook forward priority 0; policy accept; }');
  await nft('add', 'rule', 'bridge', table, 'forward', 'ip', 'saddr', a, 'ip', 'daddr', b, 'meta', 'l4proto', 'udp', 'counter', 'drop');
  await nft('add', 'rule', 'bridge', table, 'forward', 'ip', 'saddr', b, 'ip', 'daddr', a, 'meta', 'l4proto', 'udp', 'counter', 'drop');
  return () => nft('delete', 'table', 'bridge', table);
}

/** Packets the drop of dropUdpBetween() has dropped so far. */
export async function droppedUdp(lab: NatLab): Promise<number> {
  const r = await lab.run(`${lab.prefix}net`, 'nft', ['list', 'table', 'bridge', 'natlab_drop']);
  return [...r.stdout.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}
