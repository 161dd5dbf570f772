/**
 * A public TCP port: each incoming user connection is handed to one of the client's work
 * connections and the two are spliced until both sides close.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AccessList } from '../../io/access-list.js';
import { unmapAddress } from '../../shared/net/address.js';
import { resetStream, splice, SPLICED_SOCKET_HIGH_WATER_MARK } from '../../io/splice.js';
import { TrafficStats } from '../../shared/traffic-stats.js';
import type { ServerTunnel, TunnelContext } from '../server-tunnel.js';
import { TunnelError } from '../server-tunnel.js';
import { openOnPublicPort } from './public-port.js';
import type { ServerTunnelType } from './tunnel-type.js';

/** tcp: a public TCP port; each user connection is spliced to a work connection (raw bytes). */
export const tcpTunnelType: ServerTunnelType = {
  open: (req, env) => openOnPublicPort(req, env, (host, port, access) => TcpTunnel.open(req.name, host, port, access, env.session)),
};

export class TcpTunnel implements ServerTunnel {
  readonly type = 'tcp';
  readonly stats = new TrafficStats();
  readonly createdAt = new Date();
  private readonly sockets = new Set<Duplex>();
  private nextConnId = 1;

  private constructor(
    readonly name: string,
    readonly remotePort: number,
    private readonly server: Server,
    private readonly access: AccessList,
    private readonly ctx: TunnelContext,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
  }

  static async open(name: string, bindHost: string, port: number, access: AccessList, ctx: TunnelContext): Promise<TcpTunnel> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, highWaterMark: SPLICED_SOCKET_HIGH_WATER_MARK });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new TunnelError(err.code === 'EADDRINUSE' ? `port ${port} is already in use` : `cannot listen on port ${port}: ${err.message}`));
      });
      server.listen({ host: bindHost, port, backlog: 1024 }, () => resolve());
    });
    server.on('error', (err) => ctx.logger.error({ tunnel: name, err: err.message }, 'tunnel listener error'));
    const actual = (server.address() as { port: number }).port;
    return new TcpTunnel(name, actual, server, access, ctx);
  }

  private onConnection(user: Socket): void {
    const address = unmapAddress(user.remoteAddress ?? '');
    if (!this.access.allows(address)) {
      this.ctx.counters.refusedByAccessList++;
      this.ctx.logger.info({ tunnel: this.name, remote: address }, 'connection refused by access list');
      user.destroy();
      return;
    }
    const connId = this.nextConnId++;
    this.sockets.add(user);
    this.stats.opened();
    user.on('error', () => {});
    user.once('close', () => this.sockets.delete(user));
    this.ctx.workConns.takeWorkConn(this.ctx.workConnTimeoutMs()).then(
      (work) => {
        if (user.destroyed) {
          this.ctx.workConns.returnWorkConn(work);
          this.stats.closed();
          return;
        }
        work.send({ type: 'StartWorkConn', tunnel: this.name, connId, srcAddr: address, srcPort: user.remotePort ?? 0 });
        const workSocket = work.release();
        this.sockets.add(workSocket);
        void splice(user, workSocket, {
          onAToB: (n) => (this.stats.bytesIn += n),
          onBToA: (n) => (this.stats.bytesOut += n),
          confirmFinFromB: this.ctx.peerAlive,
        }).then(() => {
          this.sockets.delete(workSocket);
          this.stats.closed();
        });
      },
      (err: Error) => {
        this.ctx.counters.workConnTimeouts++;
        this.ctx.logger.warn({ tunnel: this.name, remote: address, err: err.message }, 'no work connection for user connection');
        user.destroy();
        this.stats.closed();
      },
    );
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Connections in flight are cut: their users see a reset, not a clean end.
    for (const s of this.sockets) resetStream(s);
    await closed;
  }
}
