/**
 * Client side of a udp tunnel: datagrams arrive over the work connection tagged with the remote
 * sender; each sender gets its own local UDP socket (a session), so the local service's replies
 * map back to the right sender. Sessions expire after the tunnel's idleTimeout.
 */
import type { Logger } from 'pino';
import type { FramedConnection } from '../../io/framed-connection.js';
import type { TunnelConfigOf } from '../../shared/config/client-config.js';
import type { ClientTunnel, EngineTunnelType } from '../client-tunnel.js';
import { LocalUdpSessions } from './local-udp-sessions.js';
import { publicAddressStatus } from './public-address.js';

type UdpTunnelConfig = TunnelConfigOf<'udp'>;

/** udp on the client: a public UDP port on the server; the work connection carries UdpDatagram frames. */
export const udpTunnelType: EngineTunnelType<UdpTunnelConfig> = {
  carries: 'datagrams',
  // idleTimeout: the server expires remote senders after the same idle time as this end.
  request: (t) => ({ name: t.name, kind: 'udp', remotePort: t.remotePort, allow: t.allow, deny: t.deny, idleTimeout: t.idleTimeout }),
  serve: async (conn, _start, tunnel, deps) => forwardUdp(conn, tunnel, deps.logger),
  statusFields: publicAddressStatus,
};

/** Datagrams are dropped (UDP semantics) rather than queued beyond this much unsent data. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function forwardUdp(conn: FramedConnection, tunnel: ClientTunnel<UdpTunnelConfig>, logger: Logger): void {
  const sessions = new LocalUdpSessions({
    local: tunnel.config.local,
    idleMs: tunnel.config.idleTimeout * 1000,
    clock: tunnel.clock,
    logger,
    onOpen: () => tunnel.stats.opened(),
    onClose: () => tunnel.stats.closed(),
    onReply: (key, reply) => {
      if (conn.socket.writableLength > MAX_BUFFERED_BYTES) return;
      const bar = key.lastIndexOf('|');
      tunnel.stats.bytesOut += reply.length;
      conn.send({ type: 'UdpDatagram', address: key.slice(0, bar), port: Number(key.slice(bar + 1)), data: reply });
    },
  });
  conn.dispatch((m) => {
    if (m.type !== 'UdpDatagram') return;
    tunnel.stats.bytesIn += m.data.length;
    sessions.send(`${m.address}|${m.port}`, m.data);
  });
  conn.onFailure = () => sessions.closeAll();
}
