/** Child process bookkeeping for the benchmark: spawn, tree kill, kill-everything on exit. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Tracked {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last few KB of stdout+stderr, for error messages. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

const live = new Set<Tracked>();
const OUTPUT_KEEP = 8192;

/** Spawn a child that is killed (with its descendants) by killAll() / process exit. */
export function spawnTracked(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Tracked {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  let buf = '';
  const keep = (d: Buffer): void => {
    buf += d.toString('utf8');
    if (buf.length > OUTPUT_KEEP) buf = buf.slice(-OUTPUT_KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.stdin?.on('error', () => {});
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? -1);
    });
    child.once('error', (err) => {
      done = true;
      keep(Buffer.from(`\nspawn error: ${err.message}\n`));
      resolve(-1);
    });
  });
  const t: Tracked = {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => buf,
    exited,
    hasExited: () => done,
  };
  live.add(t);
  void exited.then(() => live.delete(t));
  return t;
}

/** Parent pid of every process, read from /proc. */
function parentMap(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // comm may contain spaces/parens: fields after the last ')' are fixed.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(entry));
      kids.set(ppid, list);
    } catch {
      // process vanished while we were looking
    }
  }
  return kids;
}

/** pid and all its descendants (pid first). */
export function processTree(pid: number): number[] {
  const kids = parentMap();
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0 && out.length < 100_000) {
    const p = stack.pop()!;
    out.push(p);
    for (const k of kids.get(p) ?? []) stack.push(k);
  }
  return out;
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the descendants first (so the parent reaps them and their CPU time is accounted to
 * it), then the process itself; SIGKILL whatever is left after graceMs.
 */
export async function killTree(t: Tracked, graceMs = 2000): Promise<void> {
  if (t.pid <= 0) return;
  const tree = processTree(t.pid);
  const descendants = tree.slice(1);
  const pids = t.hasExited() ? descendants : tree;
  if (descendants.length > 0) {
    signalAll(descendants, 'SIGTERM');
    const kidsDeadline = Date.now() + graceMs / 2;
    while (Date.now() < kidsDeadline && descendants.some(alive)) await sleep(20);
  }
  if (!t.hasExited()) signalAll([t.pid], 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(50);
  const left = pids.filter(alive);
  if (left.length > 0) signalAll(left, 'SIGKILL');
  // Wait (bounded) for the direct child to be reaped.
  await Promise.race([t.exited, sleep(1000)]);
  live.delete(t);
}

export async function killAll(): Promise<void> {
  await Promise.all([...live].map((t) => killTree(t, 1500)));
}

/** Synchronous last resort, for process 'exit'. */
export function killAllSync(): void {
  for (const t of live) {
    if (t.pid > 0) signalAll(processTree(t.pid), 'SIGKILL');
  }
  live.clear();
}

/** Undefined if all run; else which exited, with the tail of their output. */
export function deadReport(procs: Tracked[]): string | undefined {
  const dead = procs.filter((t) => t.hasExited());
  if (dead.length === 0) return undefined;
  return dead.map((t) => `${t.name} exited: ${t.output().trim().split('\n').slice(-5).join(' | ').slice(-600)}`).join('; ');
}

/** Fail fast if the child dies during startup. */
export function assertRunning(t: Tracked): void {
  if (t.hasExited()) throw new Error(`${t.name} exited early:\n${t.output().trim().slice(-2000)}`);
}

/** Run a command to completion (bounded), returning stdout. Throws on non-zero exit. */
export async function runToEnd(name: string, cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const t = spawnTracked(name, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  t.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  t.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const closed = new Promise<void>((r) => t.child.once('close', () => r()));
  const timer = setTimeout(() => void killTree(t, 500), timeoutMs);
  const code = await t.exited;
  clearTimeout(timer);
  // 'close' comes after stdio is drained; do not wait for it forever.
  await Promise.race([closed, sleep(1000)]);
  return { code, stdout, stderr };
}
