/**
 * A visitor: a local port that reaches another client's secret tunnel through the server.
 * Each local connection opens its own server connection, proves the session and the secret,
 * and on the server's OK becomes a plain byte pipe. A p2p visitor with `protocol: udp` listens
 * on a UDP port instead (engine/udp-visitor.ts): one relay stream per user session there.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { secretTunnelKey, visitorProof, workConnProof } from '../io/auth-proof.js';
import { resetStream, splice } from '../io/splice.js';
import type { VisitorConfig } from '../shared/config/client-config.js';
import { parseHostPort } from '../shared/net/address.js';
import { TrafficStats } from '../shared/traffic-stats.js';
import type { ConnectionState, PathCounters, VisitorStatus } from '../shared/types/status.js';
import type { Clock } from '../shared/clock.js';
import type { DirectRoute } from './p2p/direct-route.js';
import { DEFAULT_P2P_UDP_IDLE_S } from './p2p/udp-serving.js';
import type { ServerConnection, ServerDialer } from './server-dialer.js';

import { UdpVisitorPort } from './udp-visitor.js';

const VISITOR_REPLY_TIMEOUT_MS = 10_000;
/** Longest fallbackTimeout for which the relay is dialled while waiting (the server's handshake timeout is longer). */
const PREDIAL_MAX_WAIT_MS = 5_000;
/** How long a connection made before the login waits for it. */
const SESSION_WAIT_MS = 10_000;

export interface VisitorDeps {
  dialer: ServerDialer;
  token: () => string;
  sessionId: () => string | undefined;
  logger: Logger;
  /** False once the server is known dead: asked before a FIN from the server connection is passed on (io/peer-alive.ts). */
  peerAlive?: () => Promise<boolean>;
  /** p2p visitors: the direct path (engine/p2p/direct-route.ts). */
  direct?: DirectRoute;
  /** The monotonic clock udp sessions expire on. */
  clock: Clock;
}

export class Visitor {
  readonly stats = new TrafficStats();
  /** What went through the server's relay (p2p status). */
  private readonly relay: PathCounters = { bytesIn: 0, bytesOut: 0, connections: 0 };
  state: ConnectionState = 'connecting';
  error: string | undefined;
  private server: Server | undefined;
  private udp: UdpVisitorPort | undefined;
  private readonly sockets = new Set<Duplex>();
  private readonly key: string;
  /** Connections that arrived before the login, waiting for it (sessionUp). */
  private readonly sessionWaiters = new Set<() => void>();

  constructor(
    readonly config: VisitorConfig,
    private readonly deps: VisitorDeps,
  ) {
    this.key = secretTunnelKey(config.secret, config.tunnel);
  }

  async start(): Promise<void> {
    if (this.config.protocol === 'udp') return this.startUdp();
    const { host, port } = parseHostPort(this.config.bind)!;
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    server.on('connection', (socket) => void this.onLocal(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => resolve());
      });
    } catch (err) {
      this.state = 'error';
      this.error = `cannot listen on ${this.config.bind}: ${(err as Error).message}`;
      this.deps.logger.error({ visitor: this.config.name, reason: this.error }, 'visitor failed');
      return;
    }
    this.server = server;
    this.state = 'online';
  }

  private async startUdp(): Promise<void> {
    const udp = new UdpVisitorPort({
      name: this.config.name,
      bind: this.config.bind,
      idleMs: (this.config.idleTimeout ?? DEFAULT_P2P_UDP_IDLE_S) * 1000,
      clock: this.deps.clock,
      logger: this.deps.logger,
      ...(this.deps.direct ? { direct: this.deps.direct } : {}),
      fallback: this.config.fallback ?? 'relay',
      fallbackTimeoutMs: (this.config.fallbackTimeout ?? 1) * 1000,
      openRelay: async () => {
        const relay = await this.openRelay();
        this.sockets.add(relay);
        relay.once('close', () => this.sockets.delete(relay));
        return relay;
      },
      stats: this.stats,
      relay: this.relay,
      onRelayResult: (error) => {
        if (error !== undefined) {
          this.state = 'error';
          this.error = error;
        } else if (this.state === 'error') {
          this.state = 'online';
          this.error = undefined;
        }
      },
    });
    try {
      await udp.start();
    } catch (err) {
      this.state = 'error';
      this.error = `cannot listen on ${this.config.bind} (udp): ${(err as Error).message}`;
      this.deps.logger.error({ visitor: this.config.name, reason: this.error }, 'visitor failed');
      return;
    }
    this.udp = udp;
    this.state = 'online';
  }

  /** The direct path of a p2p visitor. */
  get directRoute(): DirectRoute | undefined {
    return this.deps.direct;
  }

  get port(): number | undefined {
    if (this.udp) return this.udp.port;
    const a = this.server?.address();
    return a && typeof a !== 'string' ? a.port : undefined;
  }

  private async onLocal(local: Socket): Promise<void> {
    let predial: Promise<ServerConnection | undefined> | undefined;
    local.on('error', () => {});
    this.sockets.add(local);
    local.once('close', () => this.sockets.delete(local));
    const direct = this.deps.direct;
    if (direct) {
      // the first connection never waits longer than fallbackTimeout for punching
      // (with no attempt in flight it does not wait at all, unless fallback is none: then there is nothing else to take)
      const fallbackMs = (this.config.fallbackTimeout ?? 1) * 1000;
      // While it waits for a punch, the relay connection is dialled alongside (TCP, TLS, the server's
      // challenge): a fallback then costs one request round trip, not a handshake more. Nothing is
      // asked of the tunnel's owner unless the relay is taken; unused, it is just closed.
      predial = this.config.fallback !== 'none' && fallbackMs <= PREDIAL_MAX_WAIT_MS && direct.pending ? this.deps.dialer.open().catch(() => undefined) : undefined;
      const transport = await direct.get(fallbackMs, this.config.fallback === 'none');
      const stream = transport && (await transport.openStream().catch(() => undefined));
      if (stream) {
        void predial?.then((d) => d?.conn.socket.destroy());
        this.stats.opened();
        direct.directCounters.connections++;
        this.sockets.add(stream);
        await splice(local, stream, {
          onAToB: (n) => ((this.stats.bytesOut += n), (direct.directCounters.bytesOut += n)),
          onBToA: (n) => ((this.stats.bytesIn += n), (direct.directCounters.bytesIn += n)),
        });
        this.sockets.delete(stream);
        this.stats.closed();
        return;
      }
      if (this.config.fallback === 'none') {
        this.deps.logger.warn({ visitor: this.config.name, tunnel: this.config.tunnel }, 'no direct path within the fallback timeout and fallback is none: connection refused');
        resetStream(local);
        return;
      }
      if (local.destroyed) {
        void predial?.then((d) => d?.conn.socket.destroy());
        return;
      }
    }
    this.relay.connections++;
    // A user who connects while the client is still logging in (it just started, or is
    // reconnecting) waits for the login rather than being cut off.
    if (!this.deps.sessionId()) await this.waitForSession(SESSION_WAIT_MS);
    if (!this.deps.sessionId() || local.destroyed) {
      void predial?.then((d) => d?.conn.socket.destroy());
      local.destroy();
      return;
    }
    let relay: Duplex;
    try {
      relay = await this.openRelay(predial);
    } catch (err) {
      this.state = 'error';
      this.error = (err as Error).message;
      this.deps.logger.warn({ visitor: this.config.name, tunnel: this.config.tunnel, reason: this.error }, 'visitor connection refused');
      local.destroy();
      return;
    }
    if (this.state === 'error') {
      this.state = 'online';
      this.error = undefined;
    }
    this.stats.opened();
    await splice(local, relay, {
      onAToB: (n) => ((this.stats.bytesOut += n), (this.relay.bytesOut += n)),
      onBToA: (n) => ((this.stats.bytesIn += n), (this.relay.bytesIn += n)),
      confirmFinFromB: this.deps.peerAlive,
    });
    this.stats.closed();
  }

  /** The engine is logged in (again): connections waiting for it go on. */
  sessionUp(): void {
    for (const w of [...this.sessionWaiters]) w();
  }

  private waitForSession(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sessionWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sessionWaiters.add(done);
    });
  }

  /** A new connection through the server's relay to the tunnel, after the server's OK; rejects with the server's reason. */
  private async openRelay(predialed?: Promise<ServerConnection | undefined>): Promise<Duplex> {
    const sessionId = this.deps.sessionId();
    if (!sessionId) throw new Error('not logged in to the server');
    const early = await predialed;
    const usable = early && !early.conn.socket.destroyed ? early : undefined;
    if (early && !usable) early.conn.socket.destroy();
    const { conn, challenge } = usable ?? (await this.deps.dialer.open());
    this.sockets.add(conn.socket);
    conn.socket.once('close', () => this.sockets.delete(conn.socket));
    try {
      conn.send({
        type: 'NewVisitorConn',
        sessionId,
        proof: workConnProof(this.deps.token(), challenge.nonce, sessionId),
        tunnel: this.config.tunnel,
        secretProof: visitorProof(this.key, challenge.nonce, sessionId),
      });
      // The owner's service may speak first: its bytes can share a chunk with VisitorResult.
      conn.rawAfter = (m) => m.type === 'VisitorResult' && m.ok;
      const reply = await conn.next(VISITOR_REPLY_TIMEOUT_MS);
      if (reply.type !== 'VisitorResult' || !reply.ok) {
        const reason = reply.type === 'VisitorResult' ? (reply.error ?? 'refused') : reply.type === 'Error' ? reply.message : `unexpected ${reply.type}`;
        throw new Error(reason);
      }
    } catch (err) {
      conn.socket.destroy();
      throw err;
    }
    return conn.release();
  }

  status(): VisitorStatus {
    return {
      name: this.config.name,
      tunnel: this.config.tunnel,
      bind: this.config.bind,
      type: this.config.type,
      state: this.state,
      ...(this.error !== undefined ? { error: this.error } : {}),
      ...(this.deps.direct ? { p2p: { ...this.deps.direct.status(this.relay), ...(this.udp ? { datagramsDropped: this.udp.dropped } : {}) } } : {}),
      ...this.stats.snapshot(),
    };
  }

  async close(): Promise<void> {
    this.state = 'stopped';
    const server = this.server;
    this.server = undefined;
    // Connections in flight are cut: their local users see a reset, not a clean end.
    for (const s of this.sockets) resetStream(s);
    this.udp?.close();
    this.udp = undefined;
    this.deps.direct?.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
