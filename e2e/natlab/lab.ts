/**
 * The NAT lab (natlab.sh) for tests: brings a lab up under a prefix of its own (so parallel test
 * files never share one), runs commands in its namespaces and tears it down in `down()`, and also on
 * SIGINT/SIGTERM and at process exit, so a failing or interrupted run leaves nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export type NatKind = 'none' | 'full' | 'restricted' | 'port-restricted' | 'symmetric';
export const NAT_KINDS: readonly NatKind[] = ['none', 'full', 'restricted', 'port-restricted', 'symmetric'];

export const SCRIPT = resolve(import.meta.dirname, 'natlab.sh');
/** The server namespace's two addresses (RFC 5780 primary and alternate). */
export const SERVER_IPS = ['203.0.113.1', '203.0.113.2'] as const;

const LETTERS = 'abcdefghij';

export interface LabPeer {
  kind: NatKind;
  /** Namespace of the peer's host. */
  host: string;
  /** Namespace of its router; none for kind `none`. */
  router?: string;
  /** The host's own address (public for `none`, 10.0.n.2 behind a NAT). */
  hostIp: string;
  /** The public address the peer is seen from (router WAN, or the host itself for `none`). */
  publicIp: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(args: string[], prefix?: string): RunResult {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', env: prefix ? { ...process.env, NATLAB_PREFIX: prefix } : process.env, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/**
 * Why the lab cannot run here (null: it can): not Linux, not root, no `ip netns`, no `nft`, or
 * namespaces not allowed (a container without CAP_SYS_ADMIN).
 */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `needs root for network namespaces and nftables (uid ${process.getuid?.()})`;
  const ip = sh(['ip', 'netns', 'list']);
  if (ip.code !== 0) return `\`ip netns\` is unavailable (install iproute2): ${ip.stderr.trim() || `exit ${ip.code}`}`;
  const nft = sh(['nft', '--version']);
  if (nft.code !== 0) return `\`nft\` is unavailable (install nftables): ${nft.stderr.trim() || `exit ${nft.code}`}`;
  const probe = `blprobe-${process.pid}`;
  const add = sh(['ip', 'netns', 'add', probe]);
  if (add.code !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`;
  sh(['ip', 'netns', 'del', probe]);
  return null;
}

const live = new Set<NatLab>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const downAll = (): void => {
    for (const lab of live) lab.down();
  };
  process.on('exit', downAll);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      downAll();
      process.exit(code);
    });
  }
}

export class NatLab {
  readonly server: string;
  private closed = false;
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly prefix: string,
    readonly peers: LabPeer[],
  ) {
    this.server = `${prefix}srv`;
  }

  /** `natlab.sh up KIND...` under a fresh prefix; throws with the script's output if it fails. */
  static up(kinds: readonly NatKind[]): NatLab {
    if (kinds.length < 1 || kinds.length > LETTERS.length) throw new Error(`a lab has 1 to ${LETTERS.length} peers (got ${kinds.length})`);
    const prefix = `bl${process.pid.toString(36)}${randomBytes(2).toString('hex')}-`;
    const peers = kinds.map((kind, i): LabPeer => {
      const l = LETTERS[i]!;
      const publicIp = `203.0.113.${(i + 1) * 10}`;
      if (kind === 'none') return { kind, host: `${prefix}h${l}`, hostIp: publicIp, publicIp };
      return { kind, host: `${prefix}h${l}`, router: `${prefix}r${l}`, hostIp: `10.0.${i + 1}.2`, publicIp };
    });
    const lab = new NatLab(prefix, peers);
    installHandlers();
    live.add(lab);
    const r = sh([SCRIPT, 'up', ...kinds], prefix);
    if (r.code !== 0) {
      lab.down();
      throw new Error(`natlab.sh up ${kinds.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    }
    return lab;
  }

  /** Starts `cmd args` in namespace `ns`; killed by down() if still running. */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs `cmd args` in namespace `ns` to the end (killed after `timeoutMs`). */
  run(ns: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
    const child = this.spawn(ns, cmd, args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stdout, stderr });
      });
    });
  }

  /** Synchronous, so that it also works from a signal or exit handler. Idempotent. */
  down(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    for (const c of this.children) c.kill('SIGKILL');
    // natlab.sh down also kills whatever still runs in the namespaces
    const r = sh([SCRIPT, 'down'], this.prefix);
    if (r.code !== 0) console.error(`natlab.sh down (prefix ${this.prefix}) failed: ${r.stderr}`);
  }

  /** The lab's namespaces that exist now (empty after down()). */
  namespaces(): string[] {
    const r = sh(['ip', 'netns', 'list']);
    return r.stdout
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(this.prefix));
  }
}
