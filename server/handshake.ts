/**
 * The first exchange on every connection to the control port. The server speaks first with a
 * fresh Challenge nonce; the client's first frame says what the connection is for:
 *   Login          -> a new control session (token proof over the nonce)
 *   NewWorkConn    -> a data connection for an existing session
 *   NewMuxConn     -> the session's multiplexed connection (one stream per user connection)
 *   NewVisitorConn -> a visitor reaching a secret tunnel (session proof + secret proof)
 * Anything else, a bad proof, garbage or silence closes this one connection with a reason.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  loginProof,
  loginResultProof,
  proofsEqual,
  randomHex,
  visitorProof,
  workConnProof,
} from '../io/auth-proof.js';
import { FramedConnection } from '../io/framed-connection.js';
import type { ServerConfig } from '../shared/config/server-config.js';
import { ProtocolError } from '../shared/protocol/frame.js';
import type { MessageOf } from '../shared/protocol/messages.js';
import type { ServerCounters } from '../shared/types/server-status.js';
import { BURROW_VERSION } from '../shared/version.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { ControlSession } from './control-session.js';
import type { SecretTunnelRegistry } from './secret-tunnel.js';

/** Logins whose timestamp is further than this from the server's clock are refused. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

export interface HandshakeContext {
  readonly logger: Logger;
  readonly config: () => ServerConfig;
  readonly counters: ServerCounters;
  readonly limiter: () => AuthFailureLimiter;
  readonly secrets: SecretTunnelRegistry;
  readonly session: (sessionId: string) => ControlSession | undefined;
  /** Creates and starts the session; resolves once a previous session of the same client is gone. */
  readonly openSession: (conn: FramedConnection, login: MessageOf<'Login'>) => Promise<ControlSession>;
}

export async function handshake(socket: Socket, ctx: HandshakeContext): Promise<void> {
  const conn = new FramedConnection(socket);
  // A multiplexed connection's yamux frames may share a chunk with NewMuxConn: keep them raw.
  conn.rawAfter = (m) => m.type === 'NewMuxConn';
  const source = conn.remoteAddress;
  const config = ctx.config();
  const nonce = randomHex(16);
  conn.send({ type: 'Challenge', nonce, time: Date.now(), server: BURROW_VERSION });
  let first;
  try {
    first = await conn.next(config.handshakeTimeout * 1000);
  } catch (err) {
    ctx.logger.info({ remote: source, reason: (err as Error).message }, 'connection closed during handshake');
    // A protocol violation already answered with an Error frame and a graceful close.
    if (err instanceof ProtocolError) ctx.counters.protocolErrors++;
    else conn.destroy();
    return;
  }
  const now = Date.now();
  if (first.type === 'Login' || first.type === 'NewWorkConn' || first.type === 'NewMuxConn' || first.type === 'NewVisitorConn') {
    if (ctx.limiter().isBlocked(source, now)) {
      ctx.counters.loginsRateLimited++;
      const retry = ctx.limiter().retryAfterSeconds(source, now);
      ctx.logger.warn({ remote: source }, 'connection refused: too many failed logins');
      conn.closeWithError('rate-limited', `too many failed logins from ${source}; retry in ${retry} s`);
      return;
    }
  }
  const authFailed = (reason: string, clientId?: string) => {
    ctx.limiter().recordFailure(source, now);
    ctx.counters.loginsFailed++;
    ctx.logger.warn({ remote: source, clientId, reason }, 'authentication failed');
    conn.closeWithError('auth-failed', 'authentication failed');
  };

  switch (first.type) {
    case 'Login': {
      if (Math.abs(now - first.timestamp) > MAX_CLOCK_SKEW_MS) {
        ctx.logger.warn({ remote: source, clientId: first.clientId }, 'login refused: clock skew');
        conn.closeWithError('clock-skew', `client clock differs from the server's by more than ${MAX_CLOCK_SKEW_MS / 60000} minutes`);
        return;
      }
      const expected = loginProof(config.token, nonce, first.nonce, first.timestamp, first.clientId);
      if (!proofsEqual(expected, first.proof)) return authFailed('bad token proof', first.clientId);
      ctx.limiter().recordSuccess(source);
      ctx.counters.loginsSucceeded++;
      const session = await ctx.openSession(conn, first);
      conn.send({
        type: 'LoginResult',
        sessionId: session.sessionId,
        proof: loginResultProof(config.token, first.nonce, session.sessionId),
        server: BURROW_VERSION,
      });
      session.start();
      return;
    }
    case 'NewWorkConn':
    case 'NewMuxConn': {
      const session = ctx.session(first.sessionId);
      if (!session || !proofsEqual(workConnProof(config.token, nonce, first.sessionId), first.proof)) {
        return authFailed(first.type === 'NewWorkConn' ? 'bad work connection proof' : 'bad mux connection proof');
      }
      if (first.type === 'NewWorkConn') session.addWorkConn(conn);
      else session.attachMux(conn.release());
      return;
    }
    case 'NewVisitorConn': {
      const session = ctx.session(first.sessionId);
      if (!session || !proofsEqual(workConnProof(config.token, nonce, first.sessionId), first.proof)) {
        return authFailed('bad visitor session proof');
      }
      const tunnel = ctx.secrets.get(first.tunnel);
      const refuse = (error: string) => {
        ctx.counters.visitorsRefused++;
        ctx.logger.warn({ remote: source, clientId: session.clientId, tunnel: first.tunnel, reason: error }, 'visitor refused');
        conn.send({ type: 'VisitorResult', ok: false, error });
        conn.socket.end();
      };
      if (!tunnel) return refuse(`no secret tunnel named "${first.tunnel}"`);
      if (!proofsEqual(visitorProof(tunnel.secretKey, nonce, first.sessionId), first.secretProof)) {
        ctx.limiter().recordFailure(source, now);
        return refuse('wrong secret');
      }
      conn.send({ type: 'VisitorResult', ok: true });
      const raw = conn.release();
      tunnel.connectVisitor(raw, source, raw.remotePort ?? 0).catch((err: Error) => {
        ctx.logger.warn({ tunnel: first.tunnel, err: err.message }, 'visitor connection failed');
      });
      return;
    }
    default:
      ctx.counters.protocolErrors++;
      ctx.logger.warn({ remote: source, type: first.type }, 'unexpected first message');
      conn.closeWithError('unexpected-message', `expected Login, NewWorkConn, NewMuxConn or NewVisitorConn, got ${first.type}`);
  }
}
