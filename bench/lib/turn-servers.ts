/**
 * The two TURN servers of `npm run bench:turn`, on loopback, each pinned to one core with taskset:
 * coturn's turnserver (no config file, one relay thread) and `burrow server` with a temporary
 * server.yaml (`stun:` + `turn:` sections). Both get the same user, realm and a private range of
 * relay ports; neither assumes 3478 is free.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { shebangLaunch } from './shebang.js';
import { burrowCli, burrowMissing } from './burrow.js';
import { freePort, HOST, waitListening } from './ports.js';
import { assertRunning, deadReport, killTree, spawnTracked, type Tracked } from './proc.js';
import { sleep } from './stats.js';
import { makeTempDir, removeTempDir } from './tempdir.js';
import { freePortBlock, freeTcpUdpPort, isUdpBound } from './udp-ports.js';

export const TURN_USER = 'benchuser';
export const TURN_PASS = 'benchpass';
export const TURN_REALM = 'bench.burrow';
const READY_TIMEOUT_MS = 15_000;
/** Relay ports per server: 10 clients need 10 allocations; room for more and for port reuse delays. */
const RELAY_BLOCK = 400;

export type TurnServerId = 'coturn' | 'burrow';

export interface TurnServerOptions {
  /** Core to pin the server to (taskset -c), or undefined for no pinning. */
  core?: number;
  /** Burrow only: run node with --cpu-prof into this directory. */
  cpuProfDir?: string;
  /** Burrow only: this bin/burrow.js instead of the repository's (A/B runs against another build). */
  cli?: string;
}

export interface RunningTurnServer {
  id: TurnServerId;
  label: string;
  /** The server process itself (taskset execs it, so this is turnserver's / node's pid). */
  pid: number;
  /** STUN/TURN port, UDP and TCP, on HOST. */
  port: number;
  relayPorts: [number, number];
  /** The exact command line, for the notes. */
  command: string;
  /** Undefined while it runs; otherwise why it died. */
  health(): string | undefined;
  /** Last lines of its output. */
  output(): string;
  /** Stops it (SIGTERM first, so node writes its --cpu-prof profile) and removes its temp dir. */
  stop(): Promise<void>;
}

function pinned(core: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return core === undefined ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
}

async function waitTurnReady(port: number, proc: Tracked): Promise<void> {
  await waitListening(port, READY_TIMEOUT_MS, () => assertRunning(proc));
  const deadline = Date.now() + 5000;
  while (!isUdpBound(port)) {
    assertRunning(proc);
    if (Date.now() > deadline) throw new Error(`${proc.name}: nothing bound to UDP ${HOST}:${port}`);
    await sleep(50);
  }
  // Let it finish starting its other threads / listeners before load arrives.
  await sleep(300);
  assertRunning(proc);
}

/** SIGTERM, wait up to graceMs for a clean exit, then tree-kill whatever is left. */
/** Wait until the server answers (stopping it if it never does) and describe it to the runner. */
async function ready(
  name: Pick<RunningTurnServer, 'id' | 'label'>,
  proc: Tracked,
  port: number,
  relayPorts: RunningTurnServer['relayPorts'],
  command: string[],
  stop: () => Promise<void>,
): Promise<RunningTurnServer> {
  try {
    await waitTurnReady(port, proc);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...name, pid: proc.pid, port, relayPorts, command: command.join(' '), health: () => deadReport([proc]), output: () => proc.output(), stop };
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

export async function startCoturn(opts: TurnServerOptions, avoidPorts: Array<[number, number]> = []): Promise<RunningTurnServer> {
  const dir = makeTempDir('turn-bench-coturn-');
  const port = await freeTcpUdpPort();
  const relayPorts = freePortBlock(RELAY_BLOCK, avoidPorts);
  const args = [
    '-n',
    '--no-cli',
    '--listening-ip',
    HOST,
    '--relay-ip',
    HOST,
    '-p',
    String(port),
    '--min-port',
    String(relayPorts[0]),
    '--max-port',
    String(relayPorts[1]),
    '-r',
    TURN_REALM,
    '-a',
    '-u',
    `${TURN_USER}:${TURN_PASS}`,
    '--allow-loopback-peers',
    '--no-tls',
    '--no-dtls',
    '--no-rfc5780',
    // One relay thread: the fair comparison with a single-threaded Node process on one core.
    '--relay-threads',
    '1',
    '--log-file',
    'stdout',
    '--simple-log',
    // Keep coturn's files in the temp dir instead of /var.
    '--userdb',
    path.join(dir, 'turndb'),
    '--pidfile',
    path.join(dir, 'turnserver.pid'),
  ];
  const [cmd, argv] = pinned(opts.core, 'turnserver', args);
  const proc = spawnTracked('coturn turnserver', cmd, argv, { cwd: dir });
  const stop = async (): Promise<void> => {
    await stopGracefully(proc, 3000);
    removeTempDir(dir);
  };
  return ready({ id: 'coturn', label: 'coturn' }, proc, port, relayPorts, [cmd, ...argv], stop);
}

export async function startBurrowTurn(opts: TurnServerOptions, avoidPorts: Array<[number, number]> = []): Promise<RunningTurnServer> {
  const cli = opts.cli ?? burrowCli();
  const missing = opts.cli ? (existsSync(opts.cli) ? undefined : `${opts.cli} does not exist`) : burrowMissing();
  if (missing) throw new Error(`Burrow CLI unavailable: ${missing} (run npm run build)`);
  const dir = makeTempDir('turn-bench-burrow-');
  const port = await freeTcpUdpPort();
  const controlPort = await freePort();
  const relayPorts = freePortBlock(RELAY_BLOCK, avoidPorts);
  const yamlFile = path.join(dir, 'server.yaml');
  writeFileSync(
    yamlFile,
    stringify({
      listen: `${HOST}:${controlPort}`,
      token: 'turn-bench-token-123456',
      tls: false,
      stateDir: path.join(dir, 'state'),
      proxyBind: HOST,
      log: { level: 'warn' },
      stun: { listen: `${HOST}:${port}`, tlsListen: false }, // coturn runs with --no-tls
      turn: {
        realm: TURN_REALM,
        users: { [TURN_USER]: TURN_PASS },
        relayIps: [HOST],
        allowPeers: ['127.0.0.0/8'],
        relayPorts: `${relayPorts[0]}-${relayPorts[1]}`,
        userQuota: 1000,
        totalQuota: 10_000,
        // Every client of the load generator comes from 127.0.0.1; each one's first request is a 401.
        unauthorizedPerMinute: 100_000,
      },
    }),
  );
  // Run the executable itself when it is one, as users do: its shebang carries Burrow's node flags.
  // Under --cpu-prof (not allowed in NODE_OPTIONS) run node with the shebang's flags plus the profiler's.
  let executable = false;
  try {
    accessSync(cli, constants.X_OK);
    executable = true;
  } catch {
    // not executable: run it with this node
  }
  // Run by hand (for --cpu-prof) with exactly what the shebang gives a user: its node flags and environment.
  const launch = shebangLaunch(cli);
  const nodeArgs = [...launch.nodeFlags, ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [])];
  const [cmd, argv] =
    executable && !opts.cpuProfDir
      ? pinned(opts.core, cli, ['server', '--config', yamlFile])
      : pinned(opts.core, process.execPath, [...nodeArgs, cli, 'server', '--config', yamlFile]);
  const proc = spawnTracked('burrow server', cmd, argv, { cwd: dir, env: { ...process.env, ...launch.env } });
  const stop = async (): Promise<void> => {
    // A --cpu-prof profile is written when node exits on its own: give it time.
    await stopGracefully(proc, opts.cpuProfDir ? 20_000 : 3000);
    removeTempDir(dir);
  };
  return ready({ id: 'burrow', label: 'Burrow' }, proc, port, relayPorts, [cmd, ...argv], stop);
}

/** The newest .cpuprofile in dir, if any. */
export function findCpuProfile(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const last = files[files.length - 1];
  return last ? path.join(dir, last) : undefined;
}

export { shebangLaunch };
