/**
 * Ports for servers that listen on UDP and TCP at once (STUN/TURN), and blocks of free ports for
 * relay ranges. Loopback only; nothing here assumes a well-known port (such as 3478) is free.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { procNetPort, procNetRows } from './proc-net.js';
import { freePort, HOST } from './ports.js';

/** True if a UDP socket can be bound to HOST:port right now. */
function udpBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: HOST, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A port that was free for both TCP and UDP on HOST a moment ago. */
export async function freeTcpUdpPort(exclude: Iterable<number> = []): Promise<number> {
  const skip = new Set(exclude);
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    if (skip.has(port)) continue;
    if (await udpBindable(port)) return port;
  }
  throw new Error('could not find a port free for both TCP and UDP');
}

/** Local ports in use by any socket (TCP or UDP, v4 or v6), from /proc/net. */
export function portsInUse(): Set<number> {
  const used = new Set<number>();
  for (const cols of procNetRows(['tcp', 'tcp6', 'udp', 'udp6'])) used.add(procNetPort(cols[1]!));
  return used;
}

/** True if some UDP socket is bound to port (any address), per /proc/net/udp{,6}. */
export function isUdpBound(port: number): boolean {
  for (const cols of procNetRows(['udp', 'udp6'])) if (procNetPort(cols[1]!) === port) return true;
  return false;
}

/** The kernel's ephemeral port range (ports the OS hands out to unbound sockets). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux, or hidden
  }
  return [32768, 60999];
}

/**
 * `size` consecutive ports, none of them in use now, outside the ephemeral range where possible
 * (so the OS will not hand them to another socket meanwhile), and not overlapping `avoid`.
 */
export function freePortBlock(size: number, avoid: Array<[number, number]> = []): [number, number] {
  const [ephLo, ephHi] = ephemeralRange();
  const candidates: Array<[number, number]> = [];
  if (ephLo - 10_000 > 1024 + size) candidates.push([Math.max(10_000, 1025), ephLo - size - 1]);
  if (ephHi + size < 65_535) candidates.push([ephHi + 1, 65_535 - size]);
  if (candidates.length === 0) candidates.push([1025, 65_535 - size]);
  for (let attempt = 0; attempt < 200; attempt++) {
    const used = portsInUse();
    const [lo, hi] = candidates[attempt % candidates.length]!;
    const base = lo + Math.floor(Math.random() * Math.max(1, hi - lo));
    const last = base + size - 1;
    if (avoid.some(([a, b]) => base <= b && last >= a)) continue;
    let clash = false;
    for (let p = base; p <= last && !clash; p++) clash = used.has(p);
    if (!clash) return [base, last];
  }
  throw new Error(`could not find ${size} consecutive free ports`);
}
