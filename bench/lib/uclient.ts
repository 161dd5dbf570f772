/**
 * coturn's load generator, `turnutils_uclient`, run to completion with its output timestamped
 * line by line, and its summary parsed.
 *
 * What uclient does (coturn 4.6): it allocates on the server (-m clients; -y pairs them so each
 * client sends to another client's relayed address), then starts every client at a random time
 * 1-6 s later. A 1 ms timer sends up to 50 messages per client per tick when the client is behind
 * its -z schedule (-z 0: always behind, so bursts of 50). About once per second it prints cumulative
 * counters ("msz=…, tot_send_msgs=…, tot_recv_msgs=…"); at the end it prints totals, "Total transmit
 * time is N" (whole seconds, from the end of the connect phase, so it includes the random start
 * offsets), lost packets and the average round trip. A client that has sent everything but still
 * misses replies waits up to STOPPING_TIME (10 s) for them, so any loss also stretches the run.
 */
import { performance } from 'node:perf_hooks';
import { killTree, spawnTracked } from './proc.js';

export interface UclientSample {
  /** ms since uclient was started (our clock). */
  tMs: number;
  sent: number;
  recv: number;
}

export interface UclientResult {
  command: string;
  /** Summary lines were seen (the run completed). */
  complete: boolean;
  timedOut: boolean;
  exit: number | string;
  sentMsgs?: number;
  recvMsgs?: number;
  sentBytes?: number;
  recvBytes?: number;
  lostMsgs?: number;
  lossPct?: number;
  rttAvgMs?: number;
  rttMinMs?: number;
  rttMaxMs?: number;
  /** "Total transmit time is N" (seconds, truncated). */
  transmitSecondsReported?: number;
  /** Same interval timed by us from the line timestamps, in ms. */
  transmitMs?: number;
  /** Received messages / transmitMs. */
  pktPerSec?: number;
  /** Best ~1 s window of the per-second counters: received messages per second. */
  peakPktPerSec?: number;
  samples: UclientSample[];
  /** Last lines of output, for errors. */
  tail: string;
}

export interface TimedLine {
  tMs: number;
  text: string;
}

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));

/** Parse timestamped uclient output (pure; exported for tests). */
export function parseUclient(lines: TimedLine[]): Omit<UclientResult, 'command' | 'timedOut' | 'exit' | 'tail'> {
  const samples: UclientSample[] = [];
  let connectAt: number | undefined;
  let finalAt: number | undefined;
  const r: Omit<UclientResult, 'command' | 'timedOut' | 'exit' | 'tail'> = { complete: false, samples };
  for (const { tMs, text } of lines) {
    let m: RegExpExecArray | null;
    if (/Total connect time is/.test(text)) {
      connectAt = tMs;
    } else if ((m = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(text))) {
      const sent = Number(m[1]);
      const recv = Number(m[2]);
      if (/msz=/.test(text)) {
        samples.push({ tMs, sent, recv });
      } else {
        finalAt = tMs;
        r.sentMsgs = sent;
        r.recvMsgs = recv;
        r.complete = true;
      }
    } else if ((m = /tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)/.exec(text))) {
      r.sentBytes = Number(m[1]);
      r.recvBytes = Number(m[2]);
    } else if ((m = /Total transmit time is (\d+)/.exec(text))) {
      r.transmitSecondsReported = Number(m[1]);
    } else if ((m = /Total lost packets (\d+) \(([\d.]+|nan|-?inf)%?/i.exec(text))) {
      r.lostMsgs = Number(m[1]);
      r.lossPct = Number.isFinite(Number(m[2])) ? Number(m[2]) : undefined;
    } else if ((m = /Average round trip delay ([\d.]+) ms; min = (\d+) ms, max = (\d+) ms/.exec(text))) {
      r.rttAvgMs = num(m[1]);
      r.rttMinMs = num(m[2]);
      r.rttMaxMs = num(m[3]);
    }
  }
  if (r.complete && r.recvMsgs !== undefined && finalAt !== undefined && connectAt !== undefined && finalAt > connectAt) {
    r.transmitMs = finalAt - connectAt;
    r.pktPerSec = r.recvMsgs / (r.transmitMs / 1000);
    samples.push({ tMs: finalAt, sent: r.sentMsgs ?? 0, recv: r.recvMsgs });
  }
  if (r.lossPct === undefined && r.sentMsgs && r.recvMsgs !== undefined) r.lossPct = (100 * (r.sentMsgs - r.recvMsgs)) / r.sentMsgs;
  let peak = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = b.tMs - a.tMs;
    // The last interval (progress line -> summary) can be a few ms long: only count ~1 s windows.
    if (dt >= 500) peak = Math.max(peak, ((b.recv - a.recv) * 1000) / dt);
  }
  if (peak > 0) r.peakPktPerSec = peak;
  return r;
}

export interface UclientRun {
  args: string[];
  /** Core to pin uclient to, or undefined. */
  core?: number;
  timeoutMs: number;
  /** Called every sampleMs while uclient runs (e.g. to sample the server's memory), with uclient's pid. */
  onTick?: (uclientPid: number) => void;
  sampleMs?: number;
  /** Called for every output line as it arrives. */
  onLine?: (text: string) => void;
}

export async function runUclient(run: UclientRun): Promise<UclientResult> {
  const [cmd, argv] = run.core === undefined ? ['turnutils_uclient', run.args] : ['taskset', ['-c', String(run.core), 'turnutils_uclient', ...run.args]];
  const t0 = performance.now();
  const proc = spawnTracked('turnutils_uclient', cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: TimedLine[] = [];
  const splitter = (): ((d: Buffer) => void) => {
    let partial = '';
    return (d: Buffer) => {
      const tMs = performance.now() - t0;
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) {
        lines.push({ tMs, text });
        run.onLine?.(text);
      }
    };
  };
  proc.child.stdout?.on('data', splitter());
  proc.child.stderr?.on('data', splitter());
  const onTick = run.onTick;
  const tick = onTick ? setInterval(() => onTick(proc.pid), run.sampleMs ?? 200) : undefined;
  onTick?.(proc.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void killTree(proc, 500);
  }, run.timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  if (tick) clearInterval(tick);
  onTick?.(-1);
  const parsed = parseUclient(lines);
  return {
    ...parsed,
    command: [cmd, ...argv].join(' '),
    timedOut,
    exit,
    tail: lines
      .slice(-8)
      .map((l) => l.text)
      .join(' | ')
      .slice(-1200),
  };
}

/** uclient's usage text (to see which options this build has: 4.6.1 has no -Y, for one). */
export async function uclientHelp(): Promise<string> {
  const proc = spawnTracked('turnutils_uclient -h', 'turnutils_uclient', ['-h'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const timer = setTimeout(() => void killTree(proc, 200), 5000);
  await proc.exited;
  clearTimeout(timer);
  return out;
}
