/**
 * Client side of a udp tunnel: datagrams arrive over the work connection tagged with the remote
 * sender; each sender gets its own local UDP socket (a session), so the local service's replies
 * map back to the right sender. Sessions expire after the tunnel's idleTimeout.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { DeadlineTimer } from '../../io/deadline-timer.js';
import type { FramedConnection } from '../../io/framed-connection.js';
import type { TunnelConfigOf } from '../../shared/config/client-config.js';
import { parseHostPort } from '../../shared/net/address.js';
import { UdpSessionTable } from '../../shared/udp-session-table.js';
import type { ClientTunnel, EngineTunnelType } from '../client-tunnel.js';
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

interface UdpSession {
  socket: UdpSocket;
  /** Datagrams that arrived before the local socket finished connecting. */
  pending: Buffer[] | undefined;
}

export function forwardUdp(conn: FramedConnection, tunnel: ClientTunnel<UdpTunnelConfig>, logger: Logger): void {
  const { host, port } = parseHostPort(tunnel.config.local)!;
  const sessions = new UdpSessionTable<UdpSession>(tunnel.config.idleTimeout * 1000);
  const closeSession = (session: UdpSession) => {
    session.socket.close();
    tunnel.stats.closed();
  };
  // One timer, armed for the moment the least recently used session goes idle (no polling).
  const expiry = new DeadlineTimer(
    {
      nextExpiry: () => sessions.nextExpiry(),
      handleExpiry: (now) => {
        for (const [, session] of sessions.handleExpiry(now)) closeSession(session);
      },
    },
    () => tunnel.clock.now(),
  );

  const openSession = (key: string, address: string, senderPort: number, now: number): UdpSession => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const session: UdpSession = { socket, pending: [] };
    socket.on('error', (err) => logger.debug({ tunnel: tunnel.name, err: err.message }, 'udp session error'));
    socket.on('message', (reply) => {
      sessions.get(key, tunnel.clock.now());
      if (conn.socket.writableLength > MAX_BUFFERED_BYTES) return;
      tunnel.stats.bytesOut += reply.length;
      conn.send({ type: 'UdpDatagram', address, port: senderPort, data: reply });
    });
    socket.connect(port, host, () => {
      const queued = session.pending ?? [];
      session.pending = undefined;
      for (const d of queued) socket.send(d);
    });
    const evicted = sessions.set(key, session, now);
    if (evicted) closeSession(evicted);
    tunnel.stats.opened();
    expiry.rearm();
    return session;
  };

  conn.dispatch((m) => {
    if (m.type !== 'UdpDatagram') return;
    const key = `${m.address}|${m.port}`;
    const now = tunnel.clock.now();
    const session = sessions.get(key, now) ?? openSession(key, m.address, m.port, now);
    tunnel.stats.bytesIn += m.data.length;
    if (session.pending) session.pending.push(Buffer.from(m.data));
    else session.socket.send(m.data);
  });
  conn.onFailure = () => {
    expiry.stop();
    for (const session of sessions.values()) closeSession(session);
  };
}
