/** Pure view logic: states in words, byte rates for people, samples into chart series. */
import type { TrafficSample } from '../../shared/ipc/contract.js';
import type { ConnectionState } from '../../shared/types/status.js';

export function stateInWords(state: ConnectionState, error?: string): string {
  switch (state) {
    case 'online':
      return 'Online';
    case 'connecting':
      return error ? `Connecting (${error})` : 'Connecting…';
    case 'error':
      return `Error: ${error ?? 'unknown reason'}`;
    case 'stopped':
      return 'Off';
  }
}

export function formatRate(bytesPerSec: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSec;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** The highest total rate in the window. */
export function peak(samples: readonly TrafficSample[], direction: 'inPerSec' | 'outPerSec'): number {
  return samples.reduce((max, s) => Math.max(max, s.total[direction]), 0);
}

/** Keep the samples of the last `windowMs` (default 10 minutes) ending at the newest one. */
export function trimWindow(samples: readonly TrafficSample[], windowMs = 10 * 60_000): TrafficSample[] {
  const last = samples.at(-1);
  if (!last) return [];
  return samples.filter((s) => s.at > last.at - windowMs);
}

/** uPlot's columns: [seconds since epoch, in bytes/s, out bytes/s] for one tunnel or the total. */
export function chartSeries(samples: readonly TrafficSample[], tunnel?: string): [number[], number[], number[]] {
  const x: number[] = [];
  const inRate: number[] = [];
  const outRate: number[] = [];
  for (const s of samples) {
    const r = tunnel === undefined ? s.total : s.tunnels.find((t) => t.name === tunnel);
    x.push(s.at / 1000);
    inRate.push(r?.inPerSec ?? 0);
    outRate.push(r?.outPerSec ?? 0);
  }
  return [x, inRate, outRate];
}

// ---- chart axes: time relative to the newest sample, in whole seconds/minutes ----

/** Tick spacings (seconds) uPlot may choose from: always whole seconds or minutes. */
export const TIME_INCREMENTS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
/** Tick spacings for counts (connections): whole numbers only. */
export const COUNT_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** A tick at `secondsAgo` (≤ 0) in words: "now", "−30 s", "−2 min", "−1 min 30 s". */
export function relativeTimeLabel(secondsAgo: number): string {
  const s = Math.round(-secondsAgo);
  if (s <= 0) return 'now';
  if (s < 60) return `−${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest === 0 ? `−${m} min` : `−${m} min ${rest} s`;
}

/** The x range: at least the last minute, at most the last 10, ending at 0 (the newest sample). */
export function timeRange(x: readonly number[]): [number, number] {
  const first = x[0] ?? 0;
  return [Math.max(-600, Math.min(-60, Math.floor(first))), 0];
}

/** Seconds of each sample relative to the newest one (≤ 0), for the x axis. */
export function relativeSeconds(samples: readonly TrafficSample[]): number[] {
  const last = samples.at(-1)?.at ?? 0;
  return samples.map((s) => (s.at - last) / 1000);
}

/** [x, in, out] for one tunnel or the total, x relative to the newest sample. */
export function rateSeries(samples: readonly TrafficSample[], tunnel?: string): [number[], number[], number[]] {
  const [, inRate, outRate] = chartSeries(samples, tunnel);
  return [relativeSeconds(samples), inRate, outRate];
}

/** [x, total, then one column per tunnel]: open connections. */
export function connectionSeries(samples: readonly TrafficSample[], tunnels: readonly string[]): number[][] {
  return [relativeSeconds(samples), samples.map((s) => s.total.activeConnections), ...tunnels.map((n) => samples.map((s) => s.tunnels.find((t) => t.name === n)?.activeConnections ?? 0))];
}

/** The tunnel names seen in the window, in order of appearance. */
export function tunnelNames(samples: readonly TrafficSample[]): string[] {
  const names = new Set<string>();
  for (const s of samples) for (const t of s.tunnels) names.add(t.name);
  return [...names];
}

// ---- the path traffic takes ----

export type PathKind = 'relay' | 'direct' | 'connecting' | undefined;

/**
 * How a tunnel's or visitor's traffic travels: relay, direct, connecting (a p2p side still on its
 * first punch), or undefined ("—") when it does not apply or is not known. p2p entries carry it in
 * their status's `p2p.path`.
 */
export function pathOf(entry: { type?: string; state: string; path?: unknown; p2p?: { path?: unknown } }): PathKind {
  if (entry.state !== 'online') return undefined;
  const path = entry.p2p?.path ?? entry.path;
  if (path === 'direct' || path === 'relay' || path === 'connecting') return path;
  if (entry.type === 'tcp' || entry.type === 'udp' || entry.type === 'secret') return 'relay';
  return undefined;
}

export function pathInWords(p: PathKind): string {
  return p === 'direct' ? 'direct' : p === 'relay' ? 'relay' : p === 'connecting' ? 'punching…' : '—';
}

// ---- NAT wizard ----

export type NatStep = 'local-addresses' | 'stun-mapping' | 'mapping-behaviour' | 'filtering-behaviour' | 'hairpinning' | 'binding-lifetime' | 'port-mapping';
export const NAT_STEPS: ReadonlyArray<{ step: NatStep; title: string }> = [
  { step: 'local-addresses', title: 'Local addresses' },
  { step: 'stun-mapping', title: 'Address seen from outside (STUN)' },
  { step: 'mapping-behaviour', title: 'Mapping: does the public port depend on the destination? (RFC 5780)' },
  { step: 'filtering-behaviour', title: 'Filtering: who may send to the public port? (RFC 5780)' },
  { step: 'hairpinning', title: 'Hairpinning: can this machine reach its own public address?' },
  { step: 'binding-lifetime', title: 'Binding lifetime (optional)' },
];

export type StepState = 'waiting' | 'running' | 'done' | 'no-reply' | 'failed' | 'skipped';

export function stepStateInWords(state: StepState, detail?: string): string {
  switch (state) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return detail ? `running… (${detail})` : 'running…';
    case 'done':
      return detail ?? 'done';
    case 'no-reply':
      return detail && /no reply/.test(detail) ? detail : `no reply${detail ? ` (${detail})` : ''}`;
    case 'failed':
      return `failed${detail ? `: ${detail}` : ''}`;
    case 'skipped':
      return `skipped${detail ? ` (${detail})` : ''}`;
  }
}

export function mappingInWords(b: string): string {
  switch (b) {
    case 'endpoint-independent':
      return 'The same public address for every destination (endpoint-independent): peers can be told it in advance.';
    case 'address-dependent':
      return 'A new public port for each destination host (address-dependent): a peer cannot know it in advance.';
    case 'address-and-port-dependent':
      return 'A new public port for each destination host and port (address-and-port-dependent): a peer cannot know it in advance.';
    default:
      return 'No reply to the mapping test: unknown.';
  }
}

export function filteringInWords(b: string): string {
  switch (b) {
    case 'endpoint-independent':
      return 'Anyone may send to the public port once it is open (endpoint-independent).';
    case 'address-dependent':
      return 'Only hosts this machine has sent to may answer (address-dependent).';
    case 'address-and-port-dependent':
      return 'Only the exact host and port this machine has sent to may answer (address-and-port-dependent).';
    default:
      return 'No reply to the filtering test: unknown.';
  }
}

const PEER_NAMES: Record<string, string> = {
  'open internet': 'a peer with no NAT',
  'full cone': 'a peer behind an easy NAT (full cone)',
  'restricted cone': 'a peer behind an easy NAT (restricted cone)',
  'port-restricted cone': 'a peer behind a port-restricted NAT',
  symmetric: 'a peer behind a hard (symmetric) NAT',
};

export interface NatVerdictWords {
  headline: string;
  /** easy: direct paths with most peers; hard: the relay with many; none: no NAT at all. */
  difficulty: 'easy' | 'hard' | 'none' | 'unknown';
  peers: Array<{ peer: string; path: string }>;
  advice: string[];
}

export function natVerdictWords(r: { mapping: string; filtering: string; ownKind: string; classicName: string; hairpinning: boolean | 'unknown'; mappedAddress: string | null; peers: ReadonlyArray<{ kind: string; path: string }> }): NatVerdictWords {
  const difficulty = r.ownKind === 'unknown' ? 'unknown' : r.ownKind === 'open internet' ? 'none' : r.ownKind === 'symmetric' || r.ownKind === 'port-restricted cone' ? 'hard' : 'easy';
  const headline =
    difficulty === 'none'
      ? 'No NAT: this machine is reachable directly. Direct connections work with every kind of peer.'
      : difficulty === 'easy'
        ? 'Easy NAT: direct connections work with every kind of peer.'
        : difficulty === 'hard'
          ? r.ownKind === 'symmetric'
            ? 'Hard NAT: direct connections work only with peers behind easy NATs or no NAT; with others Burrow uses the relay.'
            : 'Fairly hard NAT: direct connections work with most peers, but not with peers behind hard (symmetric) NATs; those use the relay.'
          : 'The NAT could not be classified: Burrow will try direct connections and use the relay when they fail.';
  const peers = r.peers.map((p) => ({
    peer: PEER_NAMES[p.kind] ?? p.kind,
    path: p.path === 'direct' ? 'direct connection' : p.path === 'relay' ? 'through the relay' : 'unknown',
  }));
  const advice: string[] = [];
  if (difficulty === 'hard') {
    advice.push('Turning on UPnP or NAT-PMP in your router helps: the router then keeps one public port for this machine.');
    advice.push('Forwarding a UDP port on the router to this machine makes it reachable like a machine without NAT.');
  }
  if (difficulty === 'unknown') advice.push('Check that the STUN server is right and that UDP is not blocked by a firewall, then run the check again.');
  if (r.hairpinning === false) advice.push('Your router does not hairpin: two machines behind this same router reach each other through the relay unless they are on the same network.');
  if (difficulty === 'easy' || difficulty === 'none') advice.push('Nothing to do: peer-to-peer tunnels can connect directly.');
  advice.push('Whatever the NAT, the relay always works: a hard NAT makes connections slower, not impossible.');
  return { headline, difficulty, peers, advice };
}

/** The report for "copy report": plain text, one fact a line. */
export function natReportText(r: { server: string; localAddresses: readonly string[]; mappedAddress: string | null; mapping: string; filtering: string; hairpinning: boolean | 'unknown'; classicName: string; verdict: string; notes: readonly string[] } & Parameters<typeof natVerdictWords>[0]): string {
  const w = natVerdictWords(r);
  return [
    `Burrow NAT check via ${r.server}`,
    `Verdict: ${w.headline}`,
    `Local addresses: ${r.localAddresses.join(', ') || 'none'}`,
    `Seen from outside as: ${r.mappedAddress ?? 'no reply'}`,
    `Mapping: ${r.mapping === 'unknown' ? 'no reply' : r.mapping}`,
    `Filtering: ${r.filtering === 'unknown' ? 'no reply' : r.filtering}`,
    `Hairpinning: ${r.hairpinning === 'unknown' ? 'no reply' : r.hairpinning ? 'yes' : 'no'}`,
    ...w.peers.map((p) => `With ${p.peer}: ${p.path}`),
    `Classic name: ${r.classicName}`,
    `Detail: ${r.verdict}`,
    ...r.notes.map((n) => `Note: ${n}`),
  ].join('\n');
}

// ---- logs ----

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogView {
  at: number;
  level: LogLevel;
  message: string;
  tunnel?: string;
  detail?: string;
}

/** The lines at `minLevel` or above, and of `tunnel` when one is chosen ("" for all). */
export function filterLogs<L extends LogView>(lines: readonly L[], minLevel: LogLevel, tunnel: string): L[] {
  const min = LOG_LEVELS.indexOf(minLevel);
  return lines.filter((l) => LOG_LEVELS.indexOf(l.level) >= min && (tunnel === '' || l.tunnel === tunnel));
}

export function logLineText(l: LogView): string {
  const d = new Date(l.at);
  const t = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${t} ${l.level.toUpperCase().padEnd(5)} ${l.message}${l.detail ? `  ${l.detail}` : ''}`;
}
