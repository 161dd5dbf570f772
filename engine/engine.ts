/**
 * The client engine: runs headless as `burrow client` and, later, inside the desktop app's main
 * process. Imports nothing from Electron. Owns the control client, the tunnels, the work
 * connection pool and the visitors; `reload()` applies a new config without touching tunnels
 * whose config did not change.
 */
import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { monotonicClock } from '../io/clock.js';
import type { FramedConnection } from '../io/framed-connection.js';
import { TrustStore } from '../io/trust-store.js';
import type { Clock } from '../shared/clock.js';
import { resetStream } from '../io/splice.js';
import type { ClientConfig, TunnelConfig, TunnelConfigOf, VisitorConfig } from '../shared/config/client-config.js';
import { parseHostPort } from '../shared/net/address.js';
import type { Message } from '../shared/protocol/messages.js';
import type { ClientStatus, TunnelStatus, VisitorStatus } from '../shared/types/status.js';
import type { ClientTunnel } from './client-tunnel.js';
import { ControlClient } from './control-client.js';
import { MuxConnection } from './mux-connection.js';
import { ServerDialer } from './server-dialer.js';
import { clientTunnelFor } from './tunnels/registry.js';
import type { DirectTransport } from './p2p/direct-transport.js';
import type { P2pManager } from './p2p/p2p-manager.js';
import { serveDirectDatagrams } from './p2p/udp-serving.js';
import type { PunchedPath } from './p2p/direct-path.js';
import { Visitor } from './visitor.js';
import type UDX from 'udx-native';
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { splice } from '../io/splice.js';
import type { P2pNatReport } from '../shared/protocol/p2p-messages.js';
import type { P2pStatus, PathCounters } from '../shared/types/status.js';
import { openWorkConnection, type WorkConnDeps } from './work-connection.js';

export interface EngineOptions {
  logger: Logger;
  /** Resolved state directory (remembered server fingerprints). */
  stateDir: string;
  /** The monotonic clock for heartbeats, bandwidth limits and session expiry (default: `performance.now()`). */
  clock?: Clock;
}

export class Engine {
  private config: ClientConfig;
  private readonly tunnels = new Map<string, ClientTunnel>();
  private readonly visitors = new Map<string, Visitor>();
  private readonly workConns = new Set<FramedConnection>();
  private muxConn: MuxConnection | undefined;
  private readonly control: ControlClient;
  private readonly dialer: ServerDialer;
  private readonly logger: Logger;
  private readonly clock: Clock;
  /**
   * Peer-to-peer (issue 9): its modules are imported (`loadP2p`) only when a config has a p2p
   * tunnel or visitor or the server sends a P2p message, and the puncher is made on first use, so
   * a config without p2p never loads udx or sodium.
   */
  private p2pStack: typeof import('./p2p/stack.js') | undefined;
  private p2pLoading: Promise<void> | undefined;
  private p2pState: { udx: UDX; manager: P2pManager } | undefined;
  private natReport: Promise<P2pNatReport> | undefined;
  private readonly servedP2p = new Set<string>();
  /** Serving side: direct paths per p2p tunnel, and what they carried. */
  private readonly p2pServing = new Map<string, { transports: Set<DirectTransport>; direct: PathCounters; datagramsDropped: number }>();

  constructor(config: ClientConfig, options: EngineOptions) {
    this.config = config;
    this.logger = options.logger;
    this.clock = options.clock ?? monotonicClock;
    this.dialer = new ServerDialer(() => this.config, new TrustStore(options.stateDir), this.logger);
    const clientId = config.clientId ?? sanitizeId(hostname());
    this.control = new ControlClient(
      () => this.config,
      clientId,
      this.dialer,
      {
        online: (sessionId) => this.onOnline(sessionId),
        offline: (reason) => this.onOffline(reason),
        message: (m) => this.onMessage(m),
      },
      this.logger,
      this.clock,
    );
    for (const t of config.tunnels) if (t.enabled !== false) this.tunnels.set(t.name, clientTunnelFor(t, this.clock));
  }

  /** Imports the p2p modules once (see `p2pStack`). */
  private loadP2p(): Promise<void> {
    this.p2pLoading ??= import('./p2p/stack.js').then((stack) => {
      this.p2pStack = stack;
    });
    return this.p2pLoading;
  }

  /** The p2p modules when a config needs them: before `serveP2p` or a p2p visitor. */
  private async loadP2pFor(config: ClientConfig): Promise<void> {
    if (config.tunnels.some((t) => t.type === 'p2p') || config.visitors.some((v) => v.type === 'p2p')) await this.loadP2p();
  }

  /** The puncher, made on first use (after `loadP2p`). */
  private p2p(): { udx: UDX; manager: P2pManager } {
    if (this.p2pState) return this.p2pState;
    const stack = this.p2pStack;
    if (!stack) throw new Error('internal: the p2p modules are not loaded');
    const udx = new stack.UDX();
    const manager = new stack.P2pManager({
      udx,
      send: (m) => this.control.send(m),
      controlSessionId: () => this.control.sessionId,
      serverHost: () => parseHostPort(this.config.server)!.host,
      stunPort: () => this.control.stunPort,
      tunnelSecret: (name) => {
        const t = this.tunnels.get(name)?.config;
        return t?.type === 'p2p' ? t.secret : undefined;
      },
      natReport: () => this.ownNatReport(),
      clock: this.clock,
      logger: this.logger.child({ component: 'p2p' }),
    });
    this.p2pState = { udx, manager };
    return this.p2pState;
  }

  /** This side's NAT report against the server's STUN (RFC 5780 when it has an alternate address), once per session. */
  private ownNatReport(): Promise<P2pNatReport> {
    const stunPort = this.control.stunPort;
    const unknown = this.p2pStack!.UNKNOWN_NAT; // asked by the puncher only: loaded
    if (stunPort === undefined) return Promise.resolve(unknown);
    // The STUN client (and SASLprep's Unicode tables under its codecs, about 2 MB of heap) is
    // loaded with the first report: a client without p2p never needs it.
    this.natReport ??= import('./stun/nat-discovery.js')
      .then(({ discoverNat }) =>
        discoverNat({ host: parseHostPort(this.config.server)!.host, port: stunPort }, {
          rtoMs: 100,
          // the strategy needs mapping and filtering only; a NAT that does not hairpin made every first offer wait 500 ms for this test
          hairpin: false,
        }),
      )
      .then(
      (r) => ({ mapping: r.mapping, filtering: r.filtering, portAllocation: r.portAllocation }),
      (err: Error) => {
        this.logger.warn({ err: err.message }, 'NAT detection failed; peer-to-peer attempts assume nothing about this NAT');
        return unknown;
      },
    );
    return this.natReport;
  }

  /** Serving side of a p2p tunnel: each punched path's streams go to the tunnel's local service. */
  private serveP2p(name: string): void {
    if (this.servedP2p.has(name)) return;
    this.servedP2p.add(name);
    const { manager, udx } = this.p2p();
    const serving = { transports: new Set<DirectTransport>(), direct: { bytesIn: 0, bytesOut: 0, connections: 0 }, datagramsDropped: 0 };
    this.p2pServing.set(name, serving);
    manager.onPath(name, (path: PunchedPath) => {
      const tunnel = this.tunnels.get(name);
      if (!tunnel || tunnel.config.type !== 'p2p') return void path.close();
      const transport = new this.p2pStack!.DirectTransport(path, tunnel.config.secret, udx);
      serving.transports.add(transport);
      transport.once('close', () => serving.transports.delete(transport));
      // a visitor whose protocol differs from the tunnel's gets nothing through: say why, once per path
      const protocol = tunnel.config.protocol;
      let warned = false;
      const mismatch = (what: string) => {
        if (!warned) this.logger.warn({ tunnel: name, protocol }, `a visitor sends ${what} to this p2p tunnel with protocol ${protocol}: set the same protocol on both sides`);
        warned = true;
      };
      if (protocol === 'udp') {
        // a udp tunnel takes datagrams only; a stream opened to it is refused
        transport.on('stream', (stream: Duplex) => (mismatch('TCP connections'), resetStream(stream)));
        serveDirectDatagrams(transport, tunnel as ClientTunnel<TunnelConfigOf<'p2p'>>, serving.direct, this.logger, () => serving.datagramsDropped++);
      } else {
        transport.on('stream', (stream: Duplex) => void this.serveDirectStream(name, stream, serving.direct));
        transport.on('datagram', () => mismatch('UDP datagrams'));
      }
      void transport.start();
    });
  }

  private async serveDirectStream(name: string, stream: Duplex, counters: PathCounters): Promise<void> {
    const tunnel = this.tunnels.get(name);
    if (!tunnel) return resetStream(stream);
    const { host, port } = parseHostPort(tunnel.config.local)!;
    const local = tcpConnect({ host, port, allowHalfOpen: true, noDelay: true });
    stream.on('error', () => {});
    tunnel.stats.opened();
    counters.connections++;
    try {
      await new Promise<void>((resolve, reject) => {
        local.once('connect', resolve);
        local.once('error', reject);
      });
    } catch (err) {
      this.logger.warn({ tunnel: name, local: tunnel.config.local, err: (err as Error).message }, 'local service unreachable');
      resetStream(stream);
      tunnel.stats.closed();
      return;
    }
    await splice(stream, local, {
      onAToB: (n) => ((tunnel.stats.bytesIn += n), (counters.bytesIn += n)),
      onBToA: (n) => ((tunnel.stats.bytesOut += n), (counters.bytesOut += n)),
    });
    tunnel.stats.closed();
  }

  private p2pTunnelStatus(name: string, relay: PathCounters): P2pStatus | undefined {
    const serving = this.p2pServing.get(name);
    if (!serving || !this.p2pState) return undefined;
    const attempts = [...this.p2pState.manager.attempts(name)];
    const strategies = this.p2pState.manager.strategies(name);
    const live = [...serving.transports].find((t) => !t.closed);
    const cfg = this.tunnels.get(name)?.config;
    const udp = cfg?.type === 'p2p' && cfg.protocol === 'udp';
    const p = live?.path;
    // the live path's reports, or those of the latest attempt that got a visitor's (also one that chose the relay)
    const nat = p ? { local: p.localNat, remote: p.remoteNat } : this.p2pState.manager.nat(name);
    return {
      path: live ? 'direct' : attempts.length === 0 ? 'connecting' : 'relay',
      ...(p ? { pair: { local: `${p.local.ip}:${p.local.port}`, remote: `${p.remote.ip}:${p.remote.port}` }, rttMs: p.rttMs } : {}),
      ...(nat ? { nat } : {}),
      attempts,
      ...(strategies.length > 0 ? { strategies } : {}),
      rejectedProbes: this.p2pState.manager.rejectedProbes(name),
      direct: { ...serving.direct },
      relay,
      ...(udp ? { datagramsDropped: serving.datagramsDropped } : {}),
    };
  }

  async start(): Promise<void> {
    await this.loadP2pFor(this.config);
    for (const t of this.config.tunnels) if (t.type === 'p2p') this.serveP2p(t.name);
    await Promise.all(this.config.visitors.filter((v) => v.enabled !== false).map((v) => this.addVisitor(v)));
    this.control.start();
  }

  async stop(): Promise<void> {
    await this.control.stop();
    this.muxConn?.close();
    for (const c of this.workConns) resetStream(c.socket); // users in flight see a reset, not a clean end
    await Promise.all([...this.visitors.values()].map((v) => v.close()));
    for (const s of this.p2pServing.values()) for (const t of s.transports) t.close('client stopping');
  }

  /** Apply a new config: added tunnels come up, removed ones go down, unchanged ones are untouched. */
  async reload(next: ClientConfig): Promise<void> {
    await this.loadP2pFor(next);
    const prev = this.config;
    this.config = next;
    const serverChanged = prev.server !== next.server || prev.token !== next.token || prev.tls !== next.tls || prev.serverFingerprint !== next.serverFingerprint || prev.mux !== next.mux;
    const wanted = new Map(next.tunnels.filter((t) => t.enabled !== false).map((t) => [t.name, t]));
    for (const [name, tunnel] of this.tunnels) {
      const cfg = wanted.get(name);
      if (!cfg || !isDeepStrictEqual(cfg, tunnel.config)) {
        this.tunnels.delete(name);
        if (!serverChanged) this.control.send({ type: 'CloseTunnel', name });
        this.logger.info({ tunnel: name }, 'tunnel removed');
      }
    }
    for (const cfg of next.tunnels) {
      if (cfg.enabled === false || this.tunnels.has(cfg.name)) continue;
      const tunnel = clientTunnelFor(cfg, this.clock);
      this.tunnels.set(cfg.name, tunnel);
      if (cfg.type === 'p2p') this.serveP2p(cfg.name);
      this.logger.info({ tunnel: cfg.name }, 'tunnel added');
      if (!serverChanged && this.control.sessionId) this.register(tunnel);
    }
    const wantedVisitors = new Map(next.visitors.filter((v) => v.enabled !== false).map((v) => [v.name, v]));
    for (const [name, visitor] of this.visitors) {
      const cfg = wantedVisitors.get(name);
      if (!cfg || !isDeepStrictEqual(cfg, visitor.config)) {
        this.visitors.delete(name);
        await visitor.close();
      }
    }
    for (const cfg of wantedVisitors.values()) if (!this.visitors.has(cfg.name)) await this.addVisitor(cfg);
    if (serverChanged) this.control.reconnectNow();
    this.logger.info({ tunnels: next.tunnels.length, visitors: next.visitors.length }, 'configuration reloaded');
  }

  status(): ClientStatus {
    const host = parseHostPort(this.config.server)!.host;
    return {
      server: this.config.server,
      clientId: this.control.clientId,
      state: this.control.state,
      ...(this.control.error !== undefined && this.control.state !== 'online' ? { error: this.control.error } : {}),
      ...(this.control.fingerprint ? { serverFingerprint: this.control.fingerprint } : {}),
      ...(this.control.onlineSince !== undefined ? { uptimeMs: Math.round(this.clock.now() - this.control.onlineSince) } : {}),
      reconnects: this.control.reconnects,
      ...(this.control.lastDisconnect ? { lastDisconnect: { ...this.control.lastDisconnect } } : {}),
      // In config order; a switched-off tunnel (`enabled: false`) is listed as stopped.
      tunnels: this.config.tunnels.map((cfg) => {
        const t = this.tunnels.get(cfg.name)?.status(host) ?? stoppedTunnel(cfg);
        if (cfg.type !== 'p2p') return t;
        const serving = this.p2pServing.get(cfg.name);
        const direct = serving?.direct ?? { bytesIn: 0, bytesOut: 0, connections: 0 };
        const relay = { bytesIn: Math.max(0, t.bytesIn - direct.bytesIn), bytesOut: Math.max(0, t.bytesOut - direct.bytesOut), connections: Math.max(0, t.totalConnections - direct.connections) };
        const p2p = this.p2pTunnelStatus(cfg.name, relay);
        return p2p ? { ...t, p2p } : t;
      }),
      // In config order too; a switched-off visitor (`enabled: false`, no local port) is listed as stopped.
      visitors: this.config.visitors.map((cfg) => this.visitors.get(cfg.name)?.status() ?? stoppedVisitor(cfg)),
    };
  }

  private async addVisitor(cfg: VisitorConfig): Promise<void> {
    if (cfg.type === 'p2p') await this.loadP2p();
    const visitor = new Visitor(cfg, {
      dialer: this.dialer,
      token: () => this.config.token,
      sessionId: () => this.control.sessionId,
      logger: this.logger,
      clock: this.clock,
      peerAlive: () => this.control.peerAlive(),
      ...(cfg.type === 'p2p'
        ? {
            direct: new this.p2pStack!.DirectRoute({
              dialer: this.p2p().manager,
              udx: this.p2p().udx,
              tunnel: cfg.tunnel,
              secret: cfg.secret,
              logger: this.logger.child({ visitor: cfg.name }),
              online: () => this.control.state === 'online',
            }),
          }
        : {}),
    });
    this.visitors.set(cfg.name, visitor);
    await visitor.start();
  }

  private onOnline(sessionId: string): void {
    this.natReport = undefined; // a new session may be a new network
    for (const tunnel of this.tunnels.values()) this.register(tunnel);
    for (const v of this.visitors.values()) {
      v.sessionUp();
      v.directRoute?.kick();
    }
    if (this.config.mux) {
      this.muxConn = new MuxConnection(sessionId, this.workConnDeps());
      this.muxConn.start();
    } else {
      for (let i = 0; i < this.config.poolSize; i++) this.openWorkConn(sessionId);
    }
  }

  private onOffline(reason: string): void {
    for (const tunnel of this.tunnels.values()) {
      tunnel.state = 'connecting';
      tunnel.error = `server connection lost: ${reason}`;
    }
    this.muxConn?.close();
    this.muxConn = undefined;
    for (const c of this.workConns) resetStream(c.socket); // users in flight see a reset, not a clean end
  }

  private register(tunnel: ClientTunnel): void {
    tunnel.state = 'connecting';
    tunnel.error = undefined;
    this.control.send({ type: 'NewTunnel', ...tunnel.tunnelType.request(tunnel.config) });
  }

  private onMessage(m: Message): void {
    if (m.type.startsWith('P2p')) {
      if (this.p2pStack) this.p2p().manager.handle(m);
      else
        this.loadP2p().then(
          () => this.p2p().manager.handle(m),
          (err: Error) => this.logger.warn({ err: err.message }, 'cannot load the peer-to-peer modules'),
        );
      return;
    }
    switch (m.type) {
      case 'ReqWorkConn':
        if (this.control.sessionId) this.openWorkConn(this.control.sessionId);
        return;
      case 'TunnelResult': {
        const tunnel = this.tunnels.get(m.name);
        if (!tunnel) return;
        if (m.ok) {
          tunnel.state = 'online';
          tunnel.error = undefined;
          tunnel.remotePort = m.remotePort;
          this.logger.info({ tunnel: m.name, remotePort: m.remotePort }, 'tunnel online');
        } else {
          tunnel.state = 'error';
          tunnel.error = m.error ?? 'refused by server';
          this.logger.error({ tunnel: m.name, reason: tunnel.error }, 'tunnel refused by server');
        }
        return;
      }
      default:
        this.logger.debug({ type: m.type }, 'ignored message');
    }
  }

  private workConnDeps(): WorkConnDeps {
    return {
      dialer: this.dialer,
      token: () => this.config.token,
      tunnel: (name) => this.tunnels.get(name),
      logger: this.logger,
      current: (id) => this.control.sessionId === id,
      peerAlive: () => this.control.peerAlive(),
      track: (conn) => {
        this.workConns.add(conn);
        conn.socket.once('close', () => this.workConns.delete(conn));
      },
    };
  }

  private openWorkConn(sessionId: string): void {
    openWorkConnection(sessionId, this.workConnDeps()).catch((err: Error) => {
      if (this.control.sessionId === sessionId) this.logger.warn({ err: err.message }, 'work connection failed');
    });
  }
}

function sanitizeId(text: string): string {
  const id = text.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return id.length > 0 ? id : 'burrow-client';
}

function stoppedVisitor(cfg: VisitorConfig): VisitorStatus {
  return { name: cfg.name, tunnel: cfg.tunnel, bind: cfg.bind, type: cfg.type, state: 'stopped', bytesIn: 0, bytesOut: 0, activeConnections: 0, totalConnections: 0 };
}

function stoppedTunnel(cfg: TunnelConfig): TunnelStatus {
  return { name: cfg.name, type: cfg.type, local: cfg.local, state: 'stopped', bytesIn: 0, bytesOut: 0, activeConnections: 0, totalConnections: 0 };
}
