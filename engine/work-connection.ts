/**
 * One work connection: opened ahead of demand (or a stream the server opened on the multiplexed
 * connection), it waits for the server's StartWorkConn, then hands the connection to the named
 * tunnel's type (engine/tunnels/): a byte pipe to the local service (tcp/secret) or datagrams (udp).
 */
import type { Logger } from 'pino';
import { workConnProof } from '../io/auth-proof.js';
import type { FramedConnection } from '../io/framed-connection.js';
import type { ClientTunnel } from './client-tunnel.js';
import type { ServerDialer } from './server-dialer.js';

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
  // Byte-carrying tunnels (tcp, secret) switch to raw bytes right after StartWorkConn; udp stays framed.
  conn.rawAfter = (m) => m.type === 'StartWorkConn' && deps.tunnel(m.tunnel)?.tunnelType.carries !== 'datagrams';
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
  await tunnel.tunnelType.serve(conn, start, tunnel, deps);
}
