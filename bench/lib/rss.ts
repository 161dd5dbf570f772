/** Memory of a process (optionally with its descendants), read from /proc. */
import { readFileSync } from 'node:fs';
import { processTree } from './proc.js';

export interface MemSample {
  /** Sum of VmRSS over the processes, in MB (10^6 bytes). Shared pages are counted once per process. */
  rssMB: number;
  /** Sum of Pss (shared pages split between sharers), in MB; closer to the real cost of forking relays. */
  pssMB: number;
  processes: number;
}

function kbField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** VmRSS of one process in kB (0 if it is gone). */
export function vmRssKb(pid: number): number {
  try {
    return kbField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return 0;
  }
}

function pssKb(pid: number): number {
  try {
    return kbField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    return 0;
  }
}

export function sampleMemory(pid: number, includeChildren: boolean): MemSample {
  const pids = includeChildren ? processTree(pid) : [pid];
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const p of pids) {
    const r = vmRssKb(p);
    if (r === 0) continue;
    rss += r;
    pss += pssKb(p);
    processes++;
  }
  return { rssMB: (rss * 1024) / 1e6, pssMB: (pss * 1024) / 1e6, processes };
}

/** Element-wise maximum of two samples (peak tracking). */
export function maxSample(a: MemSample | undefined, b: MemSample): MemSample {
  if (!a) return b;
  return { rssMB: Math.max(a.rssMB, b.rssMB), pssMB: Math.max(a.pssMB, b.pssMB), processes: Math.max(a.processes, b.processes) };
}
