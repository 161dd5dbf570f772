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
import type { Clock } from '../shared/clock.js';
import type { ServerConfig } from '../shared/config/server-config.js';
import { ProtocolError } from '../shared/protocol/frame.js';
import type { MessageOf } from '../shared/protocol/messages.js';
import type { ServerCounters } from '../shared/types/server-status.js';
import { BURROW_VERSION } from '../shared/version.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { ControlSession } from './control-session.js';
import type { VisitorTargets } from './visitor-targets.js';

/** Logins whose timestamp is further than this from the server's clock are refused. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** A failure from a rate-limited source (or while the global budget is spent) is answered this late. */
export const RATE_LIMITED_ANSWER_DELAY_MS = 1000;
/** At most this many connections are held for a late answer at once; past it they are answered at once. */
const MAX_HELD_FAILURES = 1000;
let heldFailures = 0;

export interface HandshakeContext {
  readonly logger: Logger;
  readonly config: () => ServerConfig;
  readonly counters: ServerCounters;
  readonly limiter: () => AuthFailureLimiter;
  readonly visitorTargets: VisitorTargets;
  readonly session: (sessionId: string) => ControlSession | undefined;
  /** Creates and starts the session; resolves once a previous session of the same client is gone. */
  readonly openSession: (conn: FramedConnection, login: MessageOf<'Login'>) => Promise<ControlSession>;
  /** The monotonic clock the failed-login window runs on. */
  readonly clock: Clock;
  /** The primary STUN port (UDP), told to clients for their P2P candidates; none without STUN. */
  readonly stunPort?: () => number | undefined;
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
  const now = ctx.clock.now();
  // Every proof is checked (an HMAC and a constant-time compare: cheap, and the same work whether
  // it is right or wrong) before the failure limiter is consulted: a correct proof is never
  // refused because strangers behind the same address failed. Failures are counted per address
  // and in total; past either budget they are answered late, as "rate-limited" with a retry hint.
  /**
   * Records a failure; undefined, or the seconds to wait when the source is over its budget.
   * `login`: counted in loginsFailed/loginsRateLimited (a wrong visitor secret counts as visitorsRefused).
   */
  const failure = (login = true): number | undefined => {
    const limiter = ctx.limiter();
    const limited = limiter.isBlocked(source, now);
    limiter.recordFailure(source, now);
    if (!limited) {
      if (login) ctx.counters.loginsFailed++;
      return undefined;
    }
    if (login) ctx.counters.loginsRateLimited++;
    return Math.max(1, limiter.retryAfterSeconds(source, now));
  };
  /** Runs `answer` after the rate-limit delay (at once when too many are already waiting). */
  const late = (answer: () => void) => {
    if (heldFailures >= MAX_HELD_FAILURES) return answer();
    heldFailures++;
    setTimeout(() => {
      heldFailures--;
      answer();
    }, RATE_LIMITED_ANSWER_DELAY_MS).unref();
  };
  const authFailed = (reason: string, clientId?: string) => {
    const retry = failure();
    if (retry === undefined) {
      ctx.logger.warn({ remote: source, clientId, reason }, 'authentication failed');
      conn.closeWithError('auth-failed', 'authentication failed');
      return;
    }
    ctx.logger.warn({ remote: source, clientId, reason, retryAfter: retry }, 'authentication failed; too many failed logins from this address');
    late(() => conn.closeWithError('rate-limited', `authentication failed; too many failed logins from ${source}; retry in ${retry} s`, retry));
  };

  switch (first.type) {
    case 'Login': {
      // Wall clock on purpose: the client's timestamp is its wall clock, compared with ours.
      if (Math.abs(Date.now() - first.timestamp) > MAX_CLOCK_SKEW_MS) {
        ctx.logger.warn({ remote: source, clientId: first.clientId }, 'login refused: clock skew');
        conn.closeWithError('clock-skew', `client clock differs from the server's by more than ${MAX_CLOCK_SKEW_MS / 60000} minutes`);
        return;
      }
      const expected = loginProof(config.token, nonce, first.nonce, first.timestamp, first.clientId);
      if (!proofsEqual(expected, first.proof)) return authFailed('bad token proof', first.clientId);
      // No recordSuccess: others' failures from this address stay counted (a success here must
      // not hand a guesser behind the same NAT a fresh budget), and they do not hold this login up.
      ctx.counters.loginsSucceeded++;
      const session = await ctx.openSession(conn, first);
      conn.send({
        type: 'LoginResult',
        sessionId: session.sessionId,
        proof: loginResultProof(config.token, first.nonce, session.sessionId),
        server: BURROW_VERSION,
        ...(ctx.stunPort?.() !== undefined ? { stunPort: ctx.stunPort()! } : {}),
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
      const tunnel = ctx.visitorTargets.get(first.tunnel);
      const refuse = (error: string) => {
        ctx.counters.visitorsRefused++;
        ctx.logger.warn({ remote: source, clientId: session.clientId, tunnel: first.tunnel, reason: error }, 'visitor refused');
        conn.send({ type: 'VisitorResult', ok: false, error });
        conn.socket.end();
      };
      if (!tunnel) return refuse(`no secret tunnel named "${first.tunnel}"`);
      if (!proofsEqual(visitorProof(tunnel.secretKey, nonce, first.sessionId), first.secretProof)) {
        const retry = failure(false);
        if (retry === undefined) return refuse('wrong secret');
        return late(() => refuse(`wrong secret; too many failed attempts from ${source}; retry in ${retry} s`));
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
