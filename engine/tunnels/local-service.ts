/**
 * Serving a byte-carrying work connection (tcp, secret): after StartWorkConn it is a raw byte pipe,
 * joined to a new connection to the tunnel's local service, through its bandwidth throttles.
 */
import { connect, type NetConnectOpts } from 'node:net';
import type { FramedConnection } from '../../io/framed-connection.js';
import { resetStream, splice, SPLICED_SOCKET_HIGH_WATER_MARK } from '../../io/splice.js';
import { createThrottle } from '../../io/throttle.js';
import type { TunnelConfig } from '../../shared/config/client-config.js';
import { parseHostPort } from '../../shared/net/address.js';
import type { MessageOf } from '../../shared/protocol/messages.js';
import type { ClientTunnel, WorkConnServeDeps } from '../client-tunnel.js';

export async function joinLocalService(
  conn: FramedConnection,
  start: MessageOf<'StartWorkConn'>,
  tunnel: ClientTunnel<TunnelConfig>,
  { logger, peerAlive }: WorkConnServeDeps,
): Promise<void> {
  const work = conn.release();
  const { host, port } = parseHostPort(tunnel.config.local)!;
  // net.Socket takes stream options (node's types omit them).
  const options: NetConnectOpts & { writableHighWaterMark: number } = { host, port, allowHalfOpen: true, noDelay: true, writableHighWaterMark: SPLICED_SOCKET_HIGH_WATER_MARK };
  const local = connect(options);
  tunnel.stats.opened();
  try {
    await new Promise<void>((resolve, reject) => {
      // 'on': each fires at most once here, and the error listener stays until splice() has its own.
      local.on('connect', resolve);
      local.on('error', reject);
    });
  } catch (err) {
    logger.warn({ tunnel: tunnel.name, local: tunnel.config.local, err: (err as Error).message }, 'local service unreachable');
    // the reset is delivered as an 'error' on the stream: without a listener it would take the process down
    work.on('error', () => {});
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
