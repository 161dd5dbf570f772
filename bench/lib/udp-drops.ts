/**
 * Where UDP datagrams were dropped by the kernel: the per-socket "drops" counter of /proc/net/udp
 * (receive buffer full), attributed to the sockets of given processes via /proc/PID/fd. Sockets
 * come and go during a run (TURN relay sockets close when allocations end), so sample often and
 * keep each socket's highest count.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { procNetPort, procNetRows } from './proc-net.js';

interface SocketRow {
  port: number;
  drops: number;
}

function readUdpTable(): Map<string, SocketRow> {
  const out = new Map<string, SocketRow>();
  for (const cols of procNetRows(['udp', 'udp6'])) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    const inode = cols[9];
    const drops = Number(cols[12]);
    if (!inode || inode === '0' || !Number.isFinite(drops)) continue;
    out.set(inode, { port: procNetPort(cols[1]!), drops });
  }
  return out;
}

/** Socket inodes held open by pid. */
function socketInodes(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

export interface DropCounts {
  /** Server sockets bound to the STUN/TURN port. */
  listen: number;
  /** Other server sockets (relayed transport addresses). */
  relay: number;
  /** The load generator's sockets. */
  client: number;
}

export class UdpDropWatcher {
  /** inode -> owner, port, first and highest drop count seen. */
  private readonly sockets = new Map<string, { owner: 'server' | 'client'; port: number; first: number; max: number }>();
  private readonly preexisting = new Set<string>();

  constructor(private readonly serverPid: number, private readonly listenPort: number) {
    for (const inode of socketInodes(serverPid)) this.preexisting.add(inode);
  }

  sample(clientPid?: number): void {
    const table = readUdpTable();
    const note = (inode: string, owner: 'server' | 'client'): void => {
      const row = table.get(inode);
      if (!row) return;
      const s = this.sockets.get(inode);
      if (s) s.max = Math.max(s.max, row.drops);
      // Sockets the server had before the run count from their current value; new ones from 0.
      else this.sockets.set(inode, { owner, port: row.port, first: this.preexisting.has(inode) ? row.drops : 0, max: row.drops });
    };
    for (const inode of socketInodes(this.serverPid)) note(inode, 'server');
    if (clientPid !== undefined && clientPid > 0) for (const inode of socketInodes(clientPid)) note(inode, 'client');
  }

  counts(): DropCounts {
    const c: DropCounts = { listen: 0, relay: 0, client: 0 };
    for (const s of this.sockets.values()) {
      const d = s.max - s.first;
      if (s.owner === 'client') c.client += d;
      else if (s.port === this.listenPort) c.listen += d;
      else c.relay += d;
    }
    return c;
  }
}
