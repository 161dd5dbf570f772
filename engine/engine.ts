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
import type { ClientConfig, TunnelConfig, VisitorConfig } from '../shared/config/client-config.js';
import { parseHostPort } from '../shared/net/address.js';
import type { Message } from '../shared/protocol/messages.js';
import type { ClientStatus, TunnelStatus } from '../shared/types/status.js';
import type { ClientTunnel } from './client-tunnel.js';
import { ControlClient } from './control-client.js';
import { MuxConnection } from './mux-connection.js';
import { ServerDialer } from './server-dialer.js';
import { clientTunnelFor } from './tunnels/registry.js';
import { Visitor } from './visitor.js';
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

  async start(): Promise<void> {
    await Promise.all(this.config.visitors.map((v) => this.addVisitor(v)));
    this.control.start();
  }

  async stop(): Promise<void> {
    await this.control.stop();
    this.muxConn?.close();
    for (const c of this.workConns) resetStream(c.socket); // users in flight see a reset, not a clean end
    await Promise.all([...this.visitors.values()].map((v) => v.close()));
  }

  /** Apply a new config: added tunnels come up, removed ones go down, unchanged ones are untouched. */
  async reload(next: ClientConfig): Promise<void> {
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
      this.logger.info({ tunnel: cfg.name }, 'tunnel added');
      if (!serverChanged && this.control.sessionId) this.register(tunnel);
    }
    const wantedVisitors = new Map(next.visitors.map((v) => [v.name, v]));
    for (const [name, visitor] of this.visitors) {
      const cfg = wantedVisitors.get(name);
      if (!cfg || !isDeepStrictEqual(cfg, visitor.config)) {
        this.visitors.delete(name);
        await visitor.close();
      }
    }
    for (const cfg of next.visitors) if (!this.visitors.has(cfg.name)) await this.addVisitor(cfg);
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
      tunnels: this.config.tunnels.map((cfg) => this.tunnels.get(cfg.name)?.status(host) ?? stoppedTunnel(cfg)),
      visitors: [...this.visitors.values()].map((v) => v.status()),
    };
  }

  private async addVisitor(cfg: VisitorConfig): Promise<void> {
    const visitor = new Visitor(cfg, {
      dialer: this.dialer,
      token: () => this.config.token,
      sessionId: () => this.control.sessionId,
      logger: this.logger,
      peerAlive: () => this.control.peerAlive(),
    });
    this.visitors.set(cfg.name, visitor);
    await visitor.start();
  }

  private onOnline(sessionId: string): void {
    for (const tunnel of this.tunnels.values()) this.register(tunnel);
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

function stoppedTunnel(cfg: TunnelConfig): TunnelStatus {
  return { name: cfg.name, type: cfg.type, local: cfg.local, state: 'stopped', bytesIn: 0, bytesOut: 0, activeConnections: 0, totalConnections: 0 };
}
