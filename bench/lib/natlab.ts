/**
 * The NAT lab (e2e/natlab/natlab.sh) for a benchmark: up under a prefix of its own, commands run in
 * its namespaces with `ip netns exec`, and torn down synchronously at process exit (which the bench
 * lifecycle also reaches on SIGINT/SIGTERM, the watchdog and crashes), so nothing is left behind.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { repoRoot } from './root.js';

export type LabKind = 'none' | 'full' | 'restricted' | 'port-restricted' | 'symmetric';

export const LAB_SCRIPT = path.join(repoRoot, 'e2e', 'natlab', 'natlab.sh');
/** The server namespace's two addresses (RFC 5780 primary and alternate). */
export const LAB_SERVER_IPS = ['203.0.113.1', '203.0.113.2'] as const;
const LETTERS = 'abcdefghi';

export interface LabHost {
  kind: LabKind;
  letter: string;
  /** Namespace of the peer's host. */
  ns: string;
  /** Namespace of its router (kind `none`: there is none). */
  router?: string;
  /** The host's own address (public for `none`, 10.0.n.2 behind a NAT). */
  ip: string;
  /** The address the internet sees it from. */
  publicIp: string;
  /** Host-side and bridge-side names of the veth that joins it to the lab (kind `none` only). */
  veth?: { hostSide: string; bridgeSide: string };
}

export interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ShResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Why the lab cannot run here, or null. */
export function labUnavailable(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables, tc)';
  for (const [cmd, args, pkg] of [
    ['ip', ['netns', 'list'], 'iproute2'],
    ['nft', ['--version'], 'nftables'],
    ['tc', ['-V'], 'iproute2'],
    ['iperf3', ['--version'], 'iperf3'],
  ] as const) {
    const r = sh(cmd, [...args]);
    if (r.code !== 0) return `\`${cmd}\` is unavailable (install ${pkg}): ${r.stderr.trim() || `exit ${r.code}`}`;
  }
  return null;
}

const live = new Set<BenchLab>();
let exitHook = false;

export class BenchLab {
  readonly server: string;
  private closed = false;

  private constructor(
    readonly prefix: string,
    readonly hosts: LabHost[],
  ) {
    this.server = `${prefix}srv`;
  }

  static up(kinds: readonly LabKind[]): BenchLab {
    const prefix = `bb${process.pid.toString(36)}${randomBytes(2).toString('hex')}-`;
    const hosts = kinds.map((kind, i): LabHost => {
      const letter = LETTERS[i]!;
      const publicIp = `203.0.113.${(i + 1) * 10}`;
      const ns = `${prefix}h${letter}`;
      if (kind === 'none') return { kind, letter, ns, ip: publicIp, publicIp, veth: { hostSide: 'eth0', bridgeSide: `h${letter}` } };
      return { kind, letter, ns, router: `${prefix}r${letter}`, ip: `10.0.${i + 1}.2`, publicIp };
    });
    const lab = new BenchLab(prefix, hosts);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const l of live) l.down();
      });
    }
    live.add(lab);
    const r = sh(LAB_SCRIPT, ['up', ...kinds], { ...process.env, NATLAB_PREFIX: prefix });
    if (r.code !== 0) {
      lab.down();
      throw new Error(`natlab.sh up ${kinds.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    }
    return lab;
  }

  get bridge(): string {
    return `${this.prefix}net`;
  }

  /** `ip netns exec NS cmd args…`, to the end; throws with the output on a non-zero exit. */
  exec(ns: string, cmd: string, args: string[], input?: string): string {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', input, timeout: 30_000 });
    if (r.status !== 0) throw new Error(`${ns}: ${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`);
    return r.stdout;
  }

  /** Synchronous (works from an exit handler), idempotent; natlab.sh down kills what runs in the lab. */
  down(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    const r = sh(LAB_SCRIPT, ['down'], { ...process.env, NATLAB_PREFIX: this.prefix });
    if (r.code !== 0) process.stderr.write(`natlab.sh down (prefix ${this.prefix}) failed: ${r.stderr}\n`);
  }
}
