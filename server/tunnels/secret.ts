/**
 * A secret tunnel has no public port: a visitor that proves knowledge of the tunnel's secret
 * (through the key derived from it) is spliced to one of the owner's work connections.
 * Names of secret tunnels are unique on the server.
 */
import type { Duplex } from 'node:stream';
import { resetStream, splice } from '../../io/splice.js';
import { TrafficStats } from '../../shared/traffic-stats.js';
import type { ServerTunnel, TunnelContext } from '../server-tunnel.js';
import { TunnelError } from '../server-tunnel.js';
import type { VisitorTarget, VisitorTargets } from '../visitor-targets.js';
import type { ServerTunnelType } from './tunnel-type.js';

/** secret: no public port; visitors that prove the secret reach it by name (raw bytes). */
export const secretTunnelType: ServerTunnelType = {
  async open(req, env) {
    if (!req.secretKey) throw new TunnelError('secret tunnel without a key');
    const tunnel = new SecretTunnel(req.name, req.secretKey, env.session, env.visitorTargets);
    env.visitorTargets.register(tunnel);
    return tunnel;
  },
};

export class SecretTunnel implements ServerTunnel, VisitorTarget {
  readonly stats = new TrafficStats();
  readonly createdAt = new Date();
  private readonly sockets = new Set<Duplex>();
  private nextConnId = 1;

  constructor(
    readonly name: string,
    /** Hex key derived from the secret by the owner; visitors prove they can derive it too. */
    readonly secretKey: string,
    private readonly ctx: TunnelContext,
    private readonly registry: VisitorTargets,
    /** p2p tunnels are secret tunnels on the relay (server/tunnels/p2p.ts). */
    readonly type: 'secret' | 'p2p' = 'secret',
  ) {}

  get clientId(): string {
    return this.ctx.clientId;
  }

  /** Join an authenticated visitor's raw socket to a work connection of the owner. */
  async connectVisitor(visitor: Duplex, srcAddr: string, srcPort: number): Promise<void> {
    this.stats.opened();
    this.sockets.add(visitor);
    visitor.once('close', () => this.sockets.delete(visitor));
    visitor.on('error', () => {});
    let work;
    try {
      work = await this.ctx.workConns.takeWorkConn(this.ctx.workConnTimeoutMs());
    } catch (err) {
      this.ctx.counters.workConnTimeouts++;
      this.stats.closed();
      visitor.destroy();
      throw err;
    }
    if (visitor.destroyed) {
      this.ctx.workConns.returnWorkConn(work);
      this.stats.closed();
      return;
    }
    work.send({ type: 'StartWorkConn', tunnel: this.name, connId: this.nextConnId++, srcAddr, srcPort });
    const workSocket = work.release();
    this.sockets.add(workSocket);
    await splice(visitor, workSocket, {
      onAToB: (n) => (this.stats.bytesIn += n),
      onBToA: (n) => (this.stats.bytesOut += n),
      confirmFinFromB: this.ctx.peerAlive,
    });
    this.sockets.delete(workSocket);
    this.stats.closed();
  }

  async close(): Promise<void> {
    this.registry.unregister(this);
    // Connections in flight are cut: their visitors see a reset, not a clean end.
    for (const s of this.sockets) resetStream(s);
  }
}
