/**
 * Paths (b), (c), (f) and (g): a Burrow server and client (`node bin/burrow.js server|client --config …`)
 * with two tcp tunnels, one to the iperf3 server and one to the echo server; (b) and (c) with the
 * default multiplexed connection, (f) and (g) with one work connection per user connection.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { PathSpec, RunningPath, TargetPorts } from './path.js';
import { freePorts, HOST, waitListening } from './ports.js';
import { assertRunning, deadReport, killTree, spawnTracked, type Tracked } from './proc.js';
import { repoRoot } from './root.js';
import { makeTempDir, removeTempDir } from './tempdir.js';
import { sleep } from './stats.js';
import { shebangLaunch } from './shebang.js';

const TOKEN = 'bench-token-123456';
const READY_TIMEOUT_MS = 15_000;

interface StatusJson {
  state?: string;
  tunnels?: Array<{ name: string; state: string; error?: string; remoteAddress?: string }>;
}

/** The `burrow` executable itself (its shebang carries the node flags users get). */
export function burrowCli(): string {
  return path.join(repoRoot, 'bin', 'burrow.js');
}

/** Why Burrow cannot be benchmarked yet, or undefined if the CLI is there. */
export function burrowMissing(): string | undefined {
  const bin = burrowCli();
  if (!existsSync(bin)) return `${bin} does not exist yet`;
  const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) return `${main} does not exist (CLI not built)`;
  return undefined;
}

async function fetchStatus(statusPort: number): Promise<StatusJson> {
  const res = await fetch(`http://${HOST}:${statusPort}/status`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`status endpoint answered ${res.status}`);
  return (await res.json()) as StatusJson;
}

async function waitTunnelsOnline(statusPort: number, names: string[], check: () => void): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer from the status endpoint';
  while (Date.now() < deadline) {
    check();
    try {
      const st = await fetchStatus(statusPort);
      const tunnels = st.tunnels ?? [];
      const states = names.map((n) => tunnels.find((t) => t.name === n));
      if (states.every((t) => t?.state === 'online')) return;
      last = `client ${st.state ?? '?'}; ${names.map((n, i) => `${n}=${states[i]?.state ?? 'absent'}${states[i]?.error ? ` (${states[i]?.error})` : ''}`).join(', ')}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  check();
  throw new Error(`tunnels not online after ${READY_TIMEOUT_MS} ms: ${last}`);
}

export interface BurrowLaunch {
  /** Run both processes as `node <shebang flags> --cpu-prof --cpu-prof-dir <dir>/{server,client}` (stopped with SIGTERM so the profile is written). */
  cpuProfDir?: string;
  /** Extra environment for both processes (e.g. allocator settings to compare). */
  env?: Record<string, string>;
  /** Replace the shebang's environment (MALLOC_* settings) instead of adding to it. */
  replaceShebangEnv?: boolean;
  /** Extra node flags for both processes (after the shebang's). */
  nodeFlags?: string[];
}

/** The command that runs `burrow <args>`: the executable itself, or node with its shebang's flags when profiling or overriding its environment. */
function burrowCommand(args: string[], launch: BurrowLaunch, role: 'server' | 'client'): { cmd: string; argv: string[]; env: NodeJS.ProcessEnv } {
  const cli = burrowCli();
  if (!launch.cpuProfDir && !launch.env && !launch.replaceShebangEnv && !launch.nodeFlags) return { cmd: cli, argv: args, env: process.env };
  const sb = shebangLaunch(cli);
  const prof = launch.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(launch.cpuProfDir, role)] : [];
  const env = { ...process.env, ...(launch.replaceShebangEnv ? {} : sb.env), ...launch.env };
  return { cmd: process.execPath, argv: [...sb.nodeFlags, ...(launch.nodeFlags ?? []), ...prof, cli, ...args], env };
}

async function stopGracefully(proc: Tracked, graceMs: number): Promise<void> {
  if (!proc.hasExited()) {
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([proc.exited, sleep(graceMs)]);
  }
  await killTree(proc, 1000);
}

export async function startBurrow(tls: boolean, mux: boolean, targets: TargetPorts, launch: BurrowLaunch = {}): Promise<RunningPath> {
  const missing = burrowMissing();
  if (missing) throw new Error(`Burrow CLI unavailable: ${missing}`);
  const dir = makeTempDir(`burrow-bench-${tls ? 'tls' : 'plain'}${mux ? '' : '-pool'}-`);
  const procs: Tracked[] = [];
  const stop = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await (launch.cpuProfDir ? stopGracefully(p, 20_000) : killTree(p));
    removeTempDir(dir);
  };
  try {
    const [controlPort, statusPort, iperfPort, echoPort] = (await freePorts(4)) as [number, number, number, number];
    const serverYaml = path.join(dir, 'server.yaml');
    const clientYaml = path.join(dir, 'client.yaml');
    writeFileSync(
      serverYaml,
      stringify({
        listen: `${HOST}:${controlPort}`,
        token: TOKEN,
        tls,
        stateDir: path.join(dir, 'server-state'),
        proxyBind: HOST,
        allowPorts: ['1024-65535'],
        log: { level: 'warn' },
      }),
    );
    writeFileSync(
      clientYaml,
      stringify({
        server: `${HOST}:${controlPort}`,
        token: TOKEN,
        tls,
        mux,
        stateDir: path.join(dir, 'client-state'),
        poolSize: 8,
        admin: { listen: `${HOST}:${statusPort}` },
        log: { level: 'warn' },
        tunnels: [
          { name: 'bench-iperf', type: 'tcp', local: `${HOST}:${targets.iperf}`, remotePort: iperfPort },
          { name: 'bench-echo', type: 'tcp', local: `${HOST}:${targets.echo}`, remotePort: echoPort },
        ],
      }),
    );
    const sc = burrowCommand(['server', '--config', serverYaml], launch, 'server');
    const server = spawnTracked('burrow server', sc.cmd, sc.argv, { cwd: dir, env: sc.env });
    procs.push(server);
    await waitListening(controlPort, READY_TIMEOUT_MS, () => assertRunning(server));
    const cc = burrowCommand(['client', '--config', clientYaml], launch, 'client');
    const client = spawnTracked('burrow client', cc.cmd, cc.argv, { cwd: dir, env: cc.env });
    procs.push(client);
    const check = (): void => {
      assertRunning(server);
      assertRunning(client);
    };
    await waitTunnelsOnline(statusPort, ['bench-iperf', 'bench-echo'], check);
    await waitListening(iperfPort, 5000, check);
    await waitListening(echoPort, 5000, check);
    return {
      iperfPort,
      echoPort,
      server: { label: 'burrow server', pid: server.pid, includeChildren: true },
      client: { label: 'burrow client', pid: client.pid, includeChildren: true },
      notes: [],
      health: () => deadReport(procs),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const burrowPlainPath: PathSpec = {
  id: 'b',
  label: 'burrow tls:false',
  start: (targets) => startBurrow(false, true, targets),
};

export const burrowTlsPath: PathSpec = {
  id: 'c',
  label: 'burrow tls',
  start: (targets) => startBurrow(true, true, targets),
};

export const burrowPlainPoolPath: PathSpec = {
  id: 'f',
  label: 'burrow tls:false mux off',
  start: (targets) => startBurrow(false, false, targets),
};

export const burrowTlsPoolPath: PathSpec = {
  id: 'g',
  label: 'burrow tls mux off',
  start: (targets) => startBurrow(true, false, targets),
};
