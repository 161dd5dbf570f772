/**
 * `burrow server`: the control listener (TLS by default), client sessions, and the registry of
 * secret tunnels. Admin API and metrics attach to it through `snapshot()` and `disconnect()`.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { TLS_CIPHERS } from '../io/tls-suites.js';
import type { Logger } from 'pino';
import { randomHex } from '../io/auth-proof.js';
import { monotonicClock } from '../io/clock.js';
import type { FramedConnection } from '../io/framed-connection.js';
import { ensureSelfSignedIdentity, loadIdentity, type TlsIdentity } from '../io/tls-identity.js';
import type { Clock } from '../shared/clock.js';
import { stunTlsListen, type ServerConfig } from '../shared/config/server-config.js';
import { formatHostPort, parseHostPort } from '../shared/net/address.js';
import type { MessageOf } from '../shared/protocol/messages.js';
import type { ServerCounters, ServerSnapshot } from '../shared/types/server-status.js';
import { BURROW_VERSION } from '../shared/version.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';
import { ControlSession } from './control-session.js';
import { handshake, type HandshakeContext } from './handshake.js';
import type { StunTurnService } from './stun-turn-service.js';
import { serverTunnelTypes } from './tunnels/registry.js';
import { P2pSignalling } from './p2p-signalling.js';
import { VisitorTargets } from './visitor-targets.js';

export interface BurrowServerOptions {
  logger: Logger;
  /** Resolved state directory (for the self-signed certificate). */
  stateDir: string;
  /** The monotonic clock for heartbeats and the failed-login window (default: `performance.now()`). */
  clock?: Clock;
}

export class BurrowServer {
  private config: ServerConfig;
  private listener: Server | undefined;
  private identity: TlsIdentity | undefined;
  private readonly sessionsById = new Map<string, ControlSession>();
  private readonly sessionsByClient = new Map<string, ControlSession>();
  private readonly visitorTargets = new VisitorTargets();
  /** P2P signalling between logged-in clients (issue 9). */
  readonly p2p: P2pSignalling;
  private readonly sockets = new Set<Socket>();
  private limiter: AuthFailureLimiter;
  private stunTurn: StunTurnService | undefined;
  private readonly startedAt = new Date();
  readonly counters: ServerCounters = {
    loginsSucceeded: 0,
    loginsFailed: 0,
    loginsRateLimited: 0,
    protocolErrors: 0,
    refusedByAccessList: 0,
    workConnTimeouts: 0,
    visitorsRefused: 0,
  };
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(
    config: ServerConfig,
    private readonly options: BurrowServerOptions,
  ) {
    this.config = config;
    this.logger = options.logger;
    this.p2p = new P2pSignalling({
      target: (name) => this.visitorTargets.get(name),
      sessionOf: (clientId) => {
        const s = this.sessionsByClient.get(clientId);
        return s && !s.isClosed ? s : undefined;
      },
      now: () => Date.now(),
      logger: this.logger,
    });
    this.clock = options.clock ?? monotonicClock;
    this.limiter = newLimiter(config);
    this.handshakeContext = this.handshakeContextFor(options.logger);
  }

  /** True when start() created a new self-signed certificate. */
  get createdCertificate(): boolean {
    return this.identity?.created ?? false;
  }

  get fingerprint(): string | undefined {
    return this.identity?.fingerprint;
  }

  get address(): AddressInfo {
    const a = this.listener?.address();
    if (!a || typeof a === 'string') throw new Error('server is not listening');
    return a;
  }

  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.config.listen)!;
    let server: Server;
    if (this.config.tls) {
      this.identity = await this.loadIdentity();
      server = createTlsServer({
        cert: this.identity.cert,
        key: this.identity.key,
        allowHalfOpen: true,
        handshakeTimeout: this.config.handshakeTimeout * 1000,
        minVersion: 'TLSv1.2',
        ciphers: TLS_CIPHERS,
        // The server's order decides (io/tls-suites.ts), not the client's: node's client default
        // puts AES-256 first. (node:tls servers do this by default; said here on purpose.)
        honorCipherOrder: true,
      });
      server.on('secureConnection', (socket: Socket) => this.accept(socket));
      server.on('tlsClientError', (err: Error, socket: Socket) => {
        this.counters.protocolErrors++;
        this.logger.info({ remote: socket.remoteAddress, reason: err.message }, 'TLS handshake failed');
        socket.destroy();
      });
    } else {
      server = createTcpServer({ allowHalfOpen: true, noDelay: true });
      server.on('connection', (socket: Socket) => this.accept(socket));
    }
    // Track raw connections from the first byte (TLS ones before their handshake ends) so stop()
    // can close them all without waiting for handshake timeouts.
    server.on('connection', (raw: Socket) => {
      this.sockets.add(raw);
      raw.once('close', () => this.sockets.delete(raw));
    });
    server.on('error', (err) => this.logger.error({ err: err.message }, 'control listener error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listener = server;
    if (this.config.stun) {
      // STUN over TLS (on by default) uses the control channel's certificate (made now if the control channel is plain).
      const tlsListen = stunTlsListen(this.config.stun);
      const identity = tlsListen ? (this.identity ?? (await this.loadIdentity())) : undefined;
      const config = { ...this.config, stun: { ...this.config.stun, tlsListen } };
      try {
        // Loaded only when the config has a `stun` section: the STUN/TURN codecs and SASLprep's
        // Unicode tables (about 2 MB of heap on their own) are not needed by a relay without it.
        const { StunTurnService } = await import('./stun-turn-service.js');
        this.stunTurn = await StunTurnService.start(config, { logger: this.logger, tls: identity });
      } catch (err) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        this.listener = undefined;
        throw err;
      }
    }
    this.logger.info(
      { listen: formatHostPort(this.address.address, this.address.port), tls: this.config.tls, fingerprint: this.fingerprint },
      'server listening',
    );
  }

  private async loadIdentity(): Promise<TlsIdentity> {
    const identity =
      this.config.tlsCert && this.config.tlsKey
        ? await loadIdentity(this.config.tlsCert, this.config.tlsKey)
        : await ensureSelfSignedIdentity(this.options.stateDir);
    if (identity.created) this.logger.info({ stateDir: this.options.stateDir }, 'created a self-signed certificate');
    this.identity = identity;
    return identity;
  }

  /** The STUN/TURN service, when the config has a `stun` section. */
  get stunTurnService(): StunTurnService | undefined {
    return this.stunTurn;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.on('error', () => {});
    handshake(socket, this.handshakeContext).catch((err: Error) => {
      this.logger.error({ err: err.message }, 'handshake crashed');
      socket.destroy();
    });
  }

  private readonly handshakeContext: HandshakeContext;

  private handshakeContextFor(logger: Logger): HandshakeContext {
    return {
    logger,
    config: () => this.config,
    counters: this.counters,
    limiter: () => this.limiter,
    visitorTargets: this.visitorTargets,
    session: (id) => this.sessionsById.get(id),
    openSession: (conn, login) => this.openSession(conn, login),
    clock: this.clock,
    stunPort: () => this.stunTurn?.addresses().udp[0]?.port,
    };
  }

  private async openSession(conn: FramedConnection, login: MessageOf<'Login'>): Promise<ControlSession> {
    const previous = this.sessionsByClient.get(login.clientId);
    if (previous) await previous.close('replaced by a new login of the same client');
    const session = new ControlSession(conn, randomHex(16), login.clientId, login.version, {
      logger: this.logger,
      config: () => this.config,
      tunnelTypes: serverTunnelTypes,
      visitorTargets: this.visitorTargets,
      counters: this.counters,
      clock: this.clock,
      p2p: this.p2p,
      onClosed: (s) => {
        if (this.sessionsById.get(s.sessionId) === s) this.sessionsById.delete(s.sessionId);
        if (this.sessionsByClient.get(s.clientId) === s) this.sessionsByClient.delete(s.clientId);
      },
    });
    this.sessionsById.set(session.sessionId, session);
    this.sessionsByClient.set(session.clientId, session);
    this.logger.info({ clientId: login.clientId, remote: conn.remoteAddress, version: login.version }, 'client logged in');
    return session;
  }

  /** Apply a new config. Listen address and TLS settings need a restart; the rest applies now. */
  reload(config: ServerConfig): void {
    const restartOnly = (['listen', 'tls', 'tlsCert', 'tlsKey', 'handshakeTimeout', 'stateDir'] as const).filter(
      (k) => config[k] !== this.config[k],
    );
    if (restartOnly.length > 0) this.logger.warn({ keys: restartOnly }, 'these settings take effect after a restart');
    if (JSON.stringify(config.authFailureLimit) !== JSON.stringify(this.config.authFailureLimit)) {
      this.limiter = newLimiter(config);
    }
    this.config = { ...config, listen: this.config.listen, tls: this.config.tls, tlsCert: this.config.tlsCert, tlsKey: this.config.tlsKey };
    this.logger.info('configuration reloaded');
  }

  /** Drop a client's session (admin API). Returns false when no such client is connected. */
  async disconnect(clientId: string): Promise<boolean> {
    const session = this.sessionsByClient.get(clientId);
    if (!session) return false;
    await session.close('disconnected by administrator');
    return true;
  }

  snapshot(): ServerSnapshot {
    return {
      version: BURROW_VERSION,
      startedAt: this.startedAt.toISOString(),
      listen: this.listener ? formatHostPort(this.address.address, this.address.port) : this.config.listen,
      tls: this.config.tls,
      fingerprint: this.fingerprint,
      clients: [...this.sessionsByClient.values()].map((s) => s.info()),
      counters: { ...this.counters },
      ...(this.stunTurn ? this.stunTurn.snapshot() : {}),
    };
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    const closed = listener ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve();
    await Promise.all([...this.sessionsByClient.values()].map((s) => s.close('server shutting down')));
    await this.stunTurn?.stop();
    this.stunTurn = undefined;
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/** Failures from all addresses together within the window, as a multiple of the per-address limit. */
const GLOBAL_FAILURES_PER_SOURCE_LIMIT = 20;

function newLimiter(config: ServerConfig): AuthFailureLimiter {
  return new AuthFailureLimiter({
    failures: config.authFailureLimit.failures,
    windowMs: config.authFailureLimit.windowSeconds * 1000,
    globalFailures: config.authFailureLimit.failures * GLOBAL_FAILURES_PER_SOURCE_LIMIT,
  });
}
