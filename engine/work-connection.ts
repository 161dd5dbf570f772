/**
 * One work connection: opened ahead of demand (or a stream the server opened on the multiplexed
 * connection), it waits for the server's StartWorkConn, then joins the user's connection to the
 * local service (tcp/secret) or carries datagrams (udp).
 */
import { connect } from 'node:net';
import type { Logger } from 'pino';
import { workConnProof } from '../io/auth-proof.js';
import type { FramedConnection } from '../io/framed-connection.js';
import { resetStream, splice } from '../io/splice.js';
import { createThrottle } from '../io/throttle.js';
import { parseHostPort } from '../shared/net/address.js';
import type { MessageOf } from '../shared/protocol/messages.js';
import type { ClientTunnel } from './client-tunnel.js';
import type { ServerDialer } from './server-dialer.js';
import { forwardUdp } from './udp-forwarder.js';

export interface WorkConnDeps {
  dialer: ServerDialer;
  token: () => string;
  tunnel: (name: string) => ClientTunnel | undefined;
  logger: Logger;
  /** Tracks live connections so stop() and session loss can close them. */
  track: (conn: FramedConnection) => void;
  /** False once the session this connection was opened for has ended (or the engine stopped). */
  current: (sessionId: string) => boolean;
  /** False once the server is known dead: asked before a FIN from a raw work connection is passed on (io/peer-alive.ts). */
  peerAlive?: () => Promise<boolean>;
}

export async function openWorkConnection(sessionId: string, deps: WorkConnDeps): Promise<void> {
  const { conn, challenge } = await deps.dialer.open();
  if (!deps.current(sessionId)) {
    conn.destroy();
    return;
  }
  deps.track(conn);
  conn.send({ type: 'NewWorkConn', sessionId, proof: workConnProof(deps.token(), challenge.nonce, sessionId) });
  await serveWorkConnection(conn, deps);
}

/** Waits for StartWorkConn on an authenticated connection or stream, then carries that user connection. */
export async function serveWorkConnection(conn: FramedConnection, deps: Pick<WorkConnDeps, 'tunnel' | 'logger' | 'peerAlive'>): Promise<void> {
  // tcp and secret tunnels switch to raw bytes right after StartWorkConn; udp stays framed.
  conn.rawAfter = (m) => m.type === 'StartWorkConn' && deps.tunnel(m.tunnel)?.config.type !== 'udp';
  // Waits as long as the server keeps it in the pool.
  const start = await conn.next().catch(() => undefined);
  if (!start) return;
  if (start.type !== 'StartWorkConn') {
    if (start.type === 'Error') deps.logger.warn({ code: start.code, reason: start.message }, 'work connection refused');
    conn.destroy();
    return;
  }
  const tunnel = deps.tunnel(start.tunnel);
  if (!tunnel) {
    deps.logger.warn({ tunnel: start.tunnel }, 'work connection for an unknown tunnel');
    conn.destroy();
    return;
  }
  if (tunnel.config.type === 'udp') {
    forwardUdp(conn, tunnel, deps.logger);
    return;
  }
  await joinLocalService(conn, start, tunnel, deps.logger, deps.peerAlive);
}

async function joinLocalService(conn: FramedConnection, start: MessageOf<'StartWorkConn'>, tunnel: ClientTunnel, logger: Logger, peerAlive?: () => Promise<boolean>): Promise<void> {
  const work = conn.release();
  const { host, port } = parseHostPort(tunnel.config.local)!;
  const local = connect({ host, port, allowHalfOpen: true, noDelay: true });
  tunnel.stats.opened();
  try {
    await new Promise<void>((resolve, reject) => {
      local.once('connect', resolve);
      local.once('error', reject);
    });
  } catch (err) {
    logger.warn({ tunnel: tunnel.name, local: tunnel.config.local, err: (err as Error).message }, 'local service unreachable');
    resetStream(work); // the user sees a reset, as when connecting to a closed port directly
    tunnel.stats.closed();
    return;
  }
  logger.debug({ tunnel: tunnel.name, from: `${start.srcAddr}:${start.srcPort}` }, 'user connection');
  await splice(work, local, {
    onAToB: (n) => (tunnel.stats.bytesIn += n),
    onBToA: (n) => (tunnel.stats.bytesOut += n),
    aToB: tunnel.inbound && createThrottle(tunnel.inbound, () => tunnel.clock.now()),
    bToA: tunnel.outbound && createThrottle(tunnel.outbound, () => tunnel.clock.now()),
    confirmFinFromA: peerAlive,
  });
  tunnel.stats.closed();
}
