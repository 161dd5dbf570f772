/**
 * p2p on the client (issue 9): registered with the server like a secret tunnel (the server gets a
 * key derived from the secret, never the secret), so visitors always have the relay; visitors of
 * type p2p also try a direct path (engine/p2p/). A relay work connection is one TCP connection of
 * the user (protocol tcp) or one session of datagrams, length-prefixed (protocol udp).
 */
import { secretTunnelKey } from '../../io/auth-proof.js';
import type { TunnelConfigOf } from '../../shared/config/client-config.js';
import type { EngineTunnelType } from '../client-tunnel.js';
import { serveRelayDatagrams } from '../p2p/udp-serving.js';
import { joinLocalService } from './local-service.js';

export const p2pTunnelType: EngineTunnelType<TunnelConfigOf<'p2p'>> = {
  carries: 'bytes',
  request: (t) => ({ name: t.name, kind: 'p2p', secretKey: secretTunnelKey(t.secret, t.name) }),
  serve: (conn, start, tunnel, deps) => (tunnel.config.protocol === 'udp' ? serveRelayDatagrams(conn.release(), tunnel, deps.logger) : joinLocalService(conn, start, tunnel, deps)),
  statusFields: () => ({}),
};
