/**
 * One logged-in client: its control connection, its tunnels, and how user connections reach it:
 * a stream on the client's multiplexed connection when it has one (NewMuxConn), otherwise a work
 * connection from the pool of idle ones (ReqWorkConn asks for more). Watches the heartbeat; a
 * silent client is dropped and its ports are freed.
 */
import type { Logger } from 'pino';
import { FramedConnection, type ByteStream } from '../io/framed-connection.js';
import { MuxSession, MuxStream, RELAY_MUX_MAX_STREAMS, RELAY_MUX_WINDOW } from '../io/mux/session.js';
import type { Clock } from '../shared/clock.js';
import { PeerAliveProbe } from '../io/peer-alive.js';
import type { ServerConfig } from '../shared/config/server-config.js';
import { formatHostPort } from '../shared/net/address.js';
import { Heartbeat } from '../shared/protocol/heartbeat.js';
import type { Message, MessageOf, TunnelKind } from '../shared/protocol/messages.js';
import type { ServerClientInfo, ServerCounters } from '../shared/types/server-status.js';
import { TunnelError, type ServerTunnel, type TunnelContext, type WorkConnSource } from './server-tunnel.js';
import type { ServerTunnelType } from './tunnels/tunnel-type.js';
import type { P2pSignalling, SignalPeer } from './p2p-signalling.js';
import type { VisitorTargets } from './visitor-targets.js';

/** Idle work connections kept per client; extra ones are closed. */
const MAX_IDLE_WORK_CONNS = 64;

export interface SessionContext {
  readonly logger: Logger;
  readonly config: () => ServerConfig;
  /** How each tunnel type opens (server/tunnels/registry.ts). */
  readonly tunnelTypes: { readonly [K in TunnelKind]: ServerTunnelType };
  readonly visitorTargets: VisitorTargets;
  readonly counters: ServerCounters;
  readonly onClosed: (session: ControlSession) => void;
  /** The monotonic clock the heartbeat deadline runs on. */
  readonly clock: Clock;
  /** Peer-to-peer signalling between clients (server/p2p-signalling.ts). */
  readonly p2p?: P2pSignalling;
}

interface Waiter {
  resolve: (conn: FramedConnection) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class ControlSession implements WorkConnSource, SignalPeer {
  readonly tunnels = new Map<string, ServerTunnel>();
  readonly connectedAt = new Date();
  private readonly idle: FramedConnection[] = [];
  private mux: MuxSession | undefined;
  private readonly waiters: Waiter[] = [];
  private readonly heartbeat: Heartbeat;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly tunnelContext: TunnelContext;
  private readonly logger: Logger;
  /** Whether the client is alive after a FIN on one of its raw work connections (io/peer-alive.ts). */
  private readonly alive = new PeerAliveProbe((time) => this.control.send({ type: 'Ping', time }));
  /** Serialises tunnel changes so a quick add/remove/add of the same name stays ordered. */
  private tunnelOps: Promise<void> = Promise.resolve();

  constructor(
    private readonly control: FramedConnection,
    readonly sessionId: string,
    readonly clientId: string,
    readonly version: string,
    private readonly ctx: SessionContext,
  ) {
    this.logger = ctx.logger.child({ clientId, session: sessionId.slice(0, 8) });
    this.heartbeat = new Heartbeat({ intervalMs: Infinity, timeoutMs: ctx.config().heartbeatTimeout * 1000 }, ctx.clock.now());
    this.tunnelContext = {
      clientId,
      logger: this.logger,
      workConns: this,
      workConnTimeoutMs: () => ctx.config().workConnTimeout * 1000,
      counters: ctx.counters,
      clock: ctx.clock,
      peerAlive: () => this.alive.ask(),
    };
  }

  /** A message on this client's control connection (P2P signalling); false when it is gone. */
  send(message: Message): boolean {
    return this.control.send(message);
  }

  get address(): string {
    return this.control.remoteAddress;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  start(): void {
    this.control.onFailure = (err) => void this.close(err.message);
    this.control.dispatch((m) => this.onMessage(m));
    this.scheduleHeartbeat(this.ctx.clock.now());
  }

  private scheduleHeartbeat(now: number): void {
    const tick = this.heartbeat.tick(now);
    if (tick.dead) {
      void this.close(`no heartbeat for ${this.ctx.config().heartbeatTimeout} s`);
      return;
    }
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => this.scheduleHeartbeat(this.ctx.clock.now()), Math.max(100, tick.nextTickAt - now));
    this.heartbeatTimer.unref();
  }

  private onMessage(m: Message): void {
    this.heartbeat.received(this.ctx.clock.now());
    switch (m.type) {
      case 'Ping':
        this.control.send({ type: 'Pong', time: m.time });
        return;
      case 'Pong':
        this.alive.pong(m.time);
        return;
      case 'NewTunnel':
        this.tunnelOps = this.tunnelOps.then(() => this.openTunnel(m));
        return;
      case 'CloseTunnel':
        this.tunnelOps = this.tunnelOps.then(() => this.closeTunnel(m.name));
        return;
      case 'P2pOffer':
        if (this.ctx.p2p) this.ctx.p2p.offer(this, m);
        else this.control.send({ type: 'P2pRefused', sessionId: m.sessionId, reason: 'this server does not do peer-to-peer signalling' });
        return;
      case 'P2pAnswer':
        this.ctx.p2p?.answer(this, m);
        return;
      case 'P2pResult':
        this.ctx.p2p?.result(this, m);
        return;
      default:
        this.ctx.counters.protocolErrors++;
        this.logger.warn({ type: m.type }, 'unexpected message on control connection');
        this.control.closeWithError('unexpected-message', `${m.type} is not valid on a control connection`);
    }
  }

  private async openTunnel(req: MessageOf<'NewTunnel'>): Promise<void> {
    if (this.isClosed) return;
    const old = this.tunnels.get(req.name);
    if (old) {
      this.tunnels.delete(req.name);
      await old.close();
    }
    try {
      const tunnel = await this.createTunnel(req);
      if (this.isClosed) {
        await tunnel.close();
        return;
      }
      this.tunnels.set(req.name, tunnel);
      this.logger.info({ tunnel: req.name, type: req.kind, remotePort: tunnel.remotePort }, 'tunnel open');
      this.control.send({ type: 'TunnelResult', name: req.name, ok: true, remotePort: tunnel.remotePort });
    } catch (err) {
      const reason = err instanceof TunnelError ? err.message : `internal error: ${(err as Error).message}`;
      this.logger.warn({ tunnel: req.name, reason }, 'tunnel refused');
      this.control.send({ type: 'TunnelResult', name: req.name, ok: false, error: reason });
    }
  }

  private createTunnel(req: MessageOf<'NewTunnel'>): Promise<ServerTunnel> {
    return this.ctx.tunnelTypes[req.kind].open(req, {
      config: this.ctx.config(),
      session: this.tunnelContext,
      visitorTargets: this.ctx.visitorTargets,
    });
  }

  private async closeTunnel(name: string): Promise<void> {
    const tunnel = this.tunnels.get(name);
    if (!tunnel) return;
    this.tunnels.delete(name);
    await tunnel.close();
    this.logger.info({ tunnel: name }, 'tunnel closed');
  }

  addWorkConn(conn: FramedConnection): void {
    if (this.isClosed) {
      conn.destroy();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(conn);
      return;
    }
    // One asked for before the mux attached, arriving after: not needed while the mux lives.
    if (this.idle.length >= MAX_IDLE_WORK_CONNS || (this.mux && !this.mux.closed)) {
      conn.destroy();
      return;
    }
    conn.onFailure = () => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
    };
    this.idle.push(conn);
  }

  /** The client's multiplexed connection (authenticated by the handshake); replaces an earlier one. */
  attachMux(socket: ByteStream): void {
    if (this.isClosed) {
      socket.destroy();
      return;
    }
    const previous = this.mux;
    const mux = new MuxSession(socket, { client: false, maxStreams: RELAY_MUX_MAX_STREAMS, initialWindow: RELAY_MUX_WINDOW });
    this.mux = mux;
    previous?.close();
    // Streams are opened by this side only; one the client opens is refused (no 'stream' listener).
    mux.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'multiplexed connection failed'));
    mux.on('close', () => {
      if (this.mux === mux) this.mux = undefined;
      if (!this.isClosed) this.logger.info('multiplexed connection closed; using work connections until the client opens another');
    });
    this.logger.debug('multiplexed connection attached');
    // Idle work connections are not needed while the mux lives.
    for (const c of this.idle.splice(0)) c.destroy();
    while (this.waiters.length > 0) {
      const conn = this.openMuxStream();
      if (!conn) break;
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve(conn);
    }
  }

  /** A new stream on the multiplexed connection, framed, or undefined when there is none to be had. */
  private openMuxStream(): FramedConnection | undefined {
    if (!this.mux || this.mux.closed) return undefined;
    try {
      return new FramedConnection(this.mux.openStream());
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'no mux stream; falling back to a work connection');
      return undefined;
    }
  }

  takeWorkConn(timeoutMs: number): Promise<FramedConnection> {
    if (this.isClosed) return Promise.reject(new Error('client session closed'));
    const stream = this.openMuxStream();
    if (stream) return Promise.resolve(stream);
    // Ask for a replacement for every one taken, so the pool stays full ahead of demand.
    this.control.send({ type: 'ReqWorkConn' });
    for (;;) {
      const conn = this.idle.shift();
      if (!conn) break;
      if (conn.closed) continue;
      conn.onFailure = undefined;
      return Promise.resolve(conn);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error(`no work connection from ${this.clientId} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  returnWorkConn(conn: FramedConnection): void {
    if (conn.socket instanceof MuxStream) {
      // A stream costs nothing to open again; close it (the client's end sees it reset).
      conn.destroy();
      return;
    }
    if (conn.closed) return;
    this.addWorkConn(conn);
  }

  /** Closes the control connection, every tunnel and idle work connection; resolves when ports are free. */
  close(reason: string): Promise<void> {
    if (this.closing) return this.closing;
    this.logger.info({ reason }, 'client session closed');
    clearTimeout(this.heartbeatTimer);
    this.alive.lost();
    this.control.closeWithError('session-closed', reason);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`client session closed: ${reason}`));
    }
    for (const c of this.idle.splice(0)) c.destroy();
    this.mux?.close();
    const tunnels = [...this.tunnels.values()];
    this.tunnels.clear();
    this.closing = Promise.all(tunnels.map((t) => t.close())).then(() => this.ctx.onClosed(this));
    return this.closing;
  }

  info(): ServerClientInfo {
    const tunnels = [...this.tunnels.values()].map((t) => ({
      name: t.name,
      type: t.type,
      clientId: this.clientId,
      remotePort: t.remotePort,
      createdAt: t.createdAt.toISOString(),
      ...t.stats.snapshot(),
    }));
    const sum = (k: 'bytesIn' | 'bytesOut' | 'activeConnections' | 'totalConnections') => tunnels.reduce((n, t) => n + t[k], 0);
    return {
      clientId: this.clientId,
      sessionId: this.sessionId,
      address: formatHostPort(this.control.remoteAddress, this.control.remotePort),
      version: this.version,
      connectedAt: this.connectedAt.toISOString(),
      idleWorkConnections: this.idle.length,
      ...(this.mux ? { muxStreams: this.mux.streamCount } : {}),
      tunnels,
      bytesIn: sum('bytesIn'),
      bytesOut: sum('bytesOut'),
      activeConnections: sum('activeConnections'),
      totalConnections: sum('totalConnections'),
    };
  }
}
