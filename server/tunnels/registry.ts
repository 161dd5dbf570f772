/**
 * The server's tunnel types, by the `kind` of a NewTunnel request. Each type is one module in this
 * folder; the mapped type makes the compiler insist on one entry per tunnel type of the config
 * (shared/config/client-config.ts), so a type cannot be half added.
 */
import type { TunnelKind } from '../../shared/protocol/messages.js';
import { p2pTunnelType } from './p2p.js';
import { secretTunnelType } from './secret.js';
import { tcpTunnelType } from './tcp.js';
import type { ServerTunnelType } from './tunnel-type.js';
import { udpTunnelType } from './udp.js';

export const serverTunnelTypes: { readonly [K in TunnelKind]: ServerTunnelType } = {
  tcp: tcpTunnelType,
  udp: udpTunnelType,
  secret: secretTunnelType,
  p2p: p2pTunnelType,
};
