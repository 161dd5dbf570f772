/**
 * The client's control connection: log in with an HMAC proof, keep the heartbeat, and on any
 * loss reconnect with exponential backoff and jitter. The engine learns about sessions coming
 * and going through callbacks and re-registers its tunnels on each new session.
 */
import type { Logger } from 'pino';
import { loginProof, loginResultProof, proofsEqual, randomHex } from '../io/auth-proof.js';
import type { FramedConnection } from '../io/framed-connection.js';
import type { Clock } from '../shared/clock.js';
import { PeerAliveProbe } from '../io/peer-alive.js';
import type { ClientConfig } from '../shared/config/client-config.js';
import { Heartbeat } from '../shared/protocol/heartbeat.js';
import type { Message } from '../shared/protocol/messages.js';
import type { ConnectionState, DisconnectInfo } from '../shared/types/status.js';
import { BURROW_VERSION } from '../shared/version.js';
import { Backoff } from './backoff.js';
import type { ServerDialer } from './server-dialer.js';

const LOGIN_TIMEOUT_MS = 10_000;

/** The server refused the login; `retryAfterMs` is how long it asked us to wait (0: no hint). */
export class LoginRefusedError extends Error {
  override readonly name = 'LoginRefusedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The server's retry hint: the Error's `retryAfter`, or "retry in N s" in an older server's message. */
export function retryAfterMs(error: { code: string; message: string; retryAfter?: number }): number {
  if (error.code !== 'rate-limited') return 0;
  if (error.retryAfter !== undefined) return error.retryAfter * 1000;
  const m = /retry in (\d+) s/.exec(error.message);
  return m ? Number(m[1]) * 1000 : 0;
}

export interface ControlEvents {
  online(sessionId: string): void;
  offline(reason: string): void;
  message(message: Message): void;
}

export class ControlClient {
  state: ConnectionState = 'stopped';
  error: string | undefined;
  sessionId: string | undefined;
  fingerprint: string | undefined;
  /** The server's STUN port (from LoginResult), when it runs STUN. */
  stunPort: number | undefined;
  /** When the session came up, on the injected monotonic clock (for uptime only). */
  onlineSince: number | undefined;
  reconnects = 0;
  /** Why the last session ended, and when (wall-clock date, for people to read). */
  lastDisconnect: DisconnectInfo | undefined;
  private conn: FramedConnection | undefined;
  /** Set when we drop the connection on purpose, so the disconnect is recorded with why. */
  private dropReason: string | undefined;
  private stopped = true;
  private wake: (() => void) | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private loop: Promise<void> | undefined;
  /** The live session's answer to "is the server alive after this FIN?" (io/peer-alive.ts). */
  private alive: PeerAliveProbe | undefined;

  constructor(
    private readonly config: () => ClientConfig,
    readonly clientId: string,
    private readonly dialer: Pick<ServerDialer, 'open'>,
    private readonly events: ControlEvents,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** False once the server is known dead (or there is no session): asked before a FIN from a raw work connection is passed on. */
  peerAlive(): Promise<boolean> {
    return this.alive ? this.alive.ask() : Promise.resolve(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    this.conn?.destroy();
    this.wake?.();
    await this.loop;
  }

  /** Drop the current connection and reconnect now (config change of server/token). */
  reconnectNow(): void {
    this.dropReason = 'the server connection settings changed in the config';
    this.conn?.destroy();
    this.backoff.reset();
    this.wake?.();
  }

  send(message: Message): boolean {
    return this.conn?.send(message) ?? false;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.state = 'connecting';
      // The server's retry-after, when it gave one: the next attempt waits at least that long.
      let waitAtLeastMs = 0;
      try {
        const conn = await this.login();
        this.backoff.reset();
        const reason = await this.serve(conn);
        if (!this.stopped) {
          // Not online any more while the backoff runs: the next loop turn reconnects.
          this.state = 'connecting';
          this.lastDisconnect = { reason, at: new Date().toISOString() };
          this.logger.warn({ reason }, 'connection to server lost; reconnecting');
        }
      } catch (err) {
        if (err instanceof LoginRefusedError) waitAtLeastMs = err.retryAfterMs;
        const message = (err as Error).message;
        this.error = message;
        this.state = 'error';
        this.logger.error({ server: this.config().server, reason: message }, message.startsWith('authentication failed') ? 'authentication failed' : 'cannot connect to server');
      }
      if (this.sessionId) {
        this.sessionId = undefined;
        this.onlineSince = undefined;
        this.events.offline(this.error ?? 'connection lost');
      }
      if (this.stopped) break;
      this.reconnects++;
      const delay = Math.max(this.backoff.next(), waitAtLeastMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async login(): Promise<FramedConnection> {
    const config = this.config();
    const { conn, challenge, fingerprint } = await this.dialer.open();
    this.conn = conn;
    try {
      const nonce = randomHex(16);
      const timestamp = Date.now();
      conn.send({
        type: 'Login',
        version: BURROW_VERSION,
        clientId: this.clientId,
        timestamp,
        nonce,
        proof: loginProof(config.token, challenge.nonce, nonce, timestamp, this.clientId),
      });
      const reply = await conn.next(LOGIN_TIMEOUT_MS);
      if (reply.type === 'Error') {
        const refusedToken = reply.code === 'auth-failed' || (reply.code === 'rate-limited' && reply.message.startsWith('authentication failed; '));
        const detail = reply.code === 'rate-limited' ? `; ${reply.message.replace(/^authentication failed; /, '')}` : '';
        throw new LoginRefusedError(
          refusedToken ? `authentication failed: the server refused the token${detail}` : `${reply.code}: ${reply.message}`,
          retryAfterMs(reply),
        );
      }
      if (reply.type !== 'LoginResult') throw new Error(`unexpected ${reply.type} in reply to Login`);
      if (!proofsEqual(loginResultProof(config.token, nonce, reply.sessionId), reply.proof)) {
        throw new Error('authentication failed: the server could not prove it holds the token');
      }
      this.sessionId = reply.sessionId;
      this.fingerprint = fingerprint;
      this.stunPort = reply.stunPort;
      this.error = undefined;
      this.state = 'online';
      this.onlineSince = this.clock.now();
      this.logger.info({ server: config.server, session: reply.sessionId.slice(0, 8), fingerprint }, 'logged in');
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  /**
   * Runs the session until the connection fails; resolves with the reason: "no heartbeat reply
   * for N s" when the server went silent (frozen, path black-holed), the server's own words when
   * it closed the session, otherwise what the socket said.
   */
  private serve(conn: FramedConnection): Promise<string> {
    const { interval, timeout } = this.config().heartbeat;
    const heartbeat = new Heartbeat({ intervalMs: interval * 1000, timeoutMs: timeout * 1000 }, this.clock.now());
    const alive = new PeerAliveProbe((time) => conn.send({ type: 'Ping', time }));
    this.alive = alive;
    return new Promise<string>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      let serverSaid: string | undefined;
      this.dropReason = undefined;
      const finish = (reason: string) => {
        // Once: destroying the connection below reports "connection closed" through onFailure,
        // which must not replace the reason that made us destroy it.
        if (done) return;
        done = true;
        clearTimeout(timer);
        alive.lost();
        if (this.alive === alive) this.alive = undefined;
        this.error = reason;
        resolve(reason);
        conn.destroy();
      };
      const tick = () => {
        const now = this.clock.now();
        const t = heartbeat.tick(now);
        if (t.dead) return finish(`no heartbeat reply for ${timeout} s`);
        if (t.sendPing) conn.send({ type: 'Ping', time: Math.floor(now) });
        timer = setTimeout(tick, Math.max(50, t.nextTickAt - now));
        timer.unref();
      };
      conn.onFailure = (err) =>
        finish(this.dropReason ?? (serverSaid !== undefined ? `server closed the session: ${serverSaid}` : err.message));
      this.events.online(this.sessionId!);
      conn.dispatch((m) => {
        heartbeat.received(this.clock.now());
        if (m.type === 'Pong') {
          alive.pong(m.time);
          return;
        }
        if (m.type === 'Ping') {
          conn.send({ type: 'Pong', time: m.time });
          return;
        }
        if (m.type === 'Error') {
          serverSaid = m.message;
          this.logger.warn({ code: m.code, reason: m.message }, 'server closed the session');
          return;
        }
        this.events.message(m);
      });
      tick();
    });
  }
}
