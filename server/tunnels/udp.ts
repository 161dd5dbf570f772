/**
 * A public UDP port. Datagrams from every remote sender travel to the client over one work
 * connection as UdpDatagram frames that name the sender, so the client can keep a session per
 * sender and replies come back to the right one. Datagram boundaries are kept by the framing.
 * UDP semantics under pressure: when the work connection is backed up, datagrams are dropped,
 * never queued without bound.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { DeadlineTimer } from '../../io/deadline-timer.js';
import type { AccessList } from '../../io/access-list.js';
import type { FramedConnection } from '../../io/framed-connection.js';
import { UdpSessionTable } from '../../shared/udp-session-table.js';
import { TrafficStats } from '../../shared/traffic-stats.js';
import type { ServerTunnel, TunnelContext } from '../server-tunnel.js';
import { TunnelError } from '../server-tunnel.js';
import { openOnPublicPort } from './public-port.js';
import type { ServerTunnelType } from './tunnel-type.js';

/** Bytes allowed to wait in the work connection's write buffer before datagrams are dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Datagrams held while the work connection is being opened. */
const MAX_PENDING = 256;
/**
 * A sender counts as an active session for this long after its last datagram, unless the client
 * sent its tunnel's `idleTimeout` (older clients do not): then both ends expire it together.
 */
const DEFAULT_SENDER_IDLE_MS = 60_000;
/** Bounds for an idle time from the wire (setInterval needs a 32-bit delay). */
const MIN_SENDER_IDLE_MS = 50;
const MAX_SENDER_IDLE_MS = 2 ** 31 - 1;

export class UdpTunnel implements ServerTunnel {
  readonly type = 'udp';
  readonly stats = new TrafficStats();
  readonly createdAt = new Date();
  dropped = 0;
  private work: FramedConnection | undefined;
  private opening = false;
  private closed = false;
  private pending: Array<{ data: Buffer; address: string; port: number }> = [];
  private readonly senders: UdpSessionTable<true>;
  /** Armed for the moment the least recently seen sender goes idle (no polling). */
  private readonly expiry: DeadlineTimer;

  private constructor(
    readonly name: string,
    readonly remotePort: number,
    private readonly socket: UdpSocket,
    private readonly access: AccessList,
    private readonly ctx: TunnelContext,
    idleMs: number,
  ) {
    this.senders = new UdpSessionTable<true>(idleMs);
    socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
    socket.on('error', (err) => ctx.logger.warn({ tunnel: name, err: err.message }, 'udp socket error'));
    this.expiry = new DeadlineTimer(
      { nextExpiry: () => this.senders.nextExpiry(), handleExpiry: (now) => this.expireSenders(now) },
      () => ctx.clock.now(),
    );
  }

  /** `idleMs`: the client's idleTimeout for this tunnel (default 60 s). */
  static async open(name: string, bindHost: string, port: number, access: AccessList, ctx: TunnelContext, idleMs = DEFAULT_SENDER_IDLE_MS): Promise<UdpTunnel> {
    const idle = Math.min(MAX_SENDER_IDLE_MS, Math.max(MIN_SENDER_IDLE_MS, idleMs));
    const socket = createSocket({ type: isIPv6(bindHost) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(new TunnelError(err.code === 'EADDRINUSE' ? `udp port ${port} is already in use` : `cannot bind udp port ${port}: ${err.message}`));
      });
      socket.bind({ address: bindHost, port, exclusive: true }, () => resolve());
    });
    socket.removeAllListeners('error');
    return new UdpTunnel(name, socket.address().port, socket, access, ctx, idle);
  }

  private onDatagram(data: Buffer, rinfo: RemoteInfo): void {
    if (!this.access.allows(rinfo.address)) {
      this.ctx.counters.refusedByAccessList++;
      return;
    }
    const now = this.ctx.clock.now();
    const key = `${rinfo.address}|${rinfo.port}`;
    if (this.senders.get(key, now) === undefined) {
      // A full table evicts its least recently seen sender: that session ends too.
      if (this.senders.set(key, true, now) !== undefined) this.stats.closed();
      this.stats.opened();
      this.expiry.rearm();
    }
    this.stats.bytesIn += data.length;
    const work = this.work;
    if (work && !work.closed) {
      if (work.socket.writableLength > MAX_BUFFERED_BYTES) {
        this.dropped++;
        return;
      }
      work.send({ type: 'UdpDatagram', address: rinfo.address, port: rinfo.port, data });
      return;
    }
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push({ data, address: rinfo.address, port: rinfo.port });
    this.openWorkConn();
  }

  private openWorkConn(): void {
    if (this.opening || this.closed) return;
    this.opening = true;
    this.ctx.workConns.takeWorkConn(this.ctx.workConnTimeoutMs()).then(
      (work) => {
        this.opening = false;
        if (this.closed) {
          this.ctx.workConns.returnWorkConn(work);
          return;
        }
        work.send({ type: 'StartWorkConn', tunnel: this.name, connId: 0, srcAddr: '', srcPort: 0 });
        this.work = work;
        work.onFailure = () => {
          if (this.work === work) this.work = undefined;
        };
        work.dispatch((m) => {
          if (m.type !== 'UdpDatagram') return;
          this.stats.bytesOut += m.data.length;
          this.socket.send(m.data, m.port, m.address);
        });
        const queued = this.pending;
        this.pending = [];
        for (const d of queued) work.send({ type: 'UdpDatagram', address: d.address, port: d.port, data: d.data });
      },
      (err: Error) => {
        this.opening = false;
        this.ctx.counters.workConnTimeouts++;
        this.dropped += this.pending.length;
        this.pending = [];
        this.ctx.logger.warn({ tunnel: this.name, err: err.message }, 'no work connection for udp tunnel');
      },
    );
  }

  private expireSenders(now: number): void {
    for (const _ of this.senders.handleExpiry(now)) this.stats.closed();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.expiry.stop();
    this.work?.destroy();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** udp: a public UDP port; one work connection per tunnel carries UdpDatagram frames. */
export const udpTunnelType: ServerTunnelType = {
  open(req, env) {
    const idleMs = req.idleTimeout !== undefined ? req.idleTimeout * 1000 : undefined;
    return openOnPublicPort(req, env, (host, port, access) => UdpTunnel.open(req.name, host, port, access, env.session, idleMs));
  },
};
