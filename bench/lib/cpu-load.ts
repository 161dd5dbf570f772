/**
 * How much CPU *other* processes used while a path was measured. On a 2-core machine any
 * outside load (a test suite, a build) skews the figures, so the report shows it.
 *
 * ours = this process + its reaped descendants (cutime/cstime) + long-lived helpers still
 * running (e.g. the echo server); other = whole-machine busy time - ours.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface Snap {
  busy: number;
  steal: number;
  total: number;
  ours: number;
}

/** Machine-wide softirq (+ irq) time as % of all cores from now until the returned function is called: where the kernel's network stack spends most of its time, charged to no process. */
export function watchSoftirq(): () => number {
  const read = (): { irq: number; total: number } => {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    return { irq: (f[5] ?? 0) + (f[6] ?? 0), total };
  };
  const a = read();
  return () => {
    const b = read();
    return (100 * (b.irq - a.irq)) / Math.max(1, b.total - a.total);
  };
}

function machine(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // irq/softirq time is charged to no process (loopback TCP work lands there), so it is
  // left out of "busy" rather than blamed on other processes.
  const busy = user + nice + system;
  return { busy, steal, total: busy + idle + iowait + irq + softirq + steal };
}

/** Parent, own ticks (utime+stime) and reaped children's ticks (cutime+cstime) from /proc/<pid>/stat; throws if gone. */
function readStat(pid: number | 'self'): { ppid: number; own: number; reaped: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // after ')' : state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
  return { ppid: f[1] ?? 0, own: (f[11] ?? 0) + (f[12] ?? 0), reaped: (f[13] ?? 0) + (f[14] ?? 0) };
}

/** utime+stime (+cutime+cstime when withChildren) of a process, in ticks; 0 if gone. */
export function procTicks(pid: number | 'self', withChildren: boolean): number {
  try {
    const t = readStat(pid);
    return withChildren ? t.own + t.reaped : t.own;
  } catch {
    return 0;
  }
}

function snap(helpers: number[]): Snap {
  const m = machine();
  return { ...m, ours: procTicks('self', true) + helpers.reduce((s, p) => s + procTicks(p, false), 0) };
}

/** One process as /proc/<pid>/stat shows it: parent, own CPU ticks, and ticks of its reaped children. */
export interface ProcTicks {
  pid: number;
  ppid: number;
  own: number;
  reaped: number;
}

/**
 * CPU ticks of `root` and every live descendant: each one's own time plus what its reaped children
 * used. A process that dies is then counted once, in its reaper's `reaped` (its parent's, or
 * further up), so the difference of two readings is what the tree used in between, even for
 * processes born or gone meanwhile (sshd's per-session children, which sshd reaps, not us).
 */
export function treeTicks(procs: readonly ProcTicks[], root: number): number {
  const children = new Map<number, ProcTicks[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  let sum = 0;
  const stack = procs.filter((p) => p.pid === root);
  const seen = new Set<number>();
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    sum += p.own + p.reaped;
    stack.push(...(children.get(p.pid) ?? []));
  }
  return sum;
}

/** Every process's ticks from /proc. */
function readProcs(): ProcTicks[] {
  const out: ProcTicks[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push({ pid: Number(name), ...readStat(Number(name)) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Like watchCpu, but "ours" is this process's whole live tree (see treeTicks), so it can be read
 * while the path's processes still run: for the rate phases alone, before the memory phases.
 */
export function watchTreeCpu(): () => CpuLoad {
  return watch(() => ({ ...machine(), ours: treeTicks(readProcs(), process.pid) }));
}

export interface CpuLoad {
  /** Other processes' CPU as % of the whole machine (all cores). */
  otherPct: number;
  /** Hypervisor steal as % of the whole machine. */
  stealPct: number;
}

/** Start watching; call the returned function after every child of the phase has been reaped. */
export function watchCpu(helpers: number[]): () => CpuLoad {
  return watch(() => snap(helpers));
}

/** A snapshot now; the returned function takes another and says what others and the hypervisor used in between. */
function watch(take: () => Snap): () => CpuLoad {
  const a = take();
  return () => {
    const b = take();
    const total = Math.max(1, b.total - a.total);
    const other = Math.max(0, b.busy - a.busy - (b.ours - a.ours));
    return { otherPct: (100 * other) / total, stealPct: (100 * (b.steal - a.steal)) / total };
  };
}
