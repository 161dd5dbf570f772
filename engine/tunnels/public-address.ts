/** Status of a tunnel on a public port of the server (tcp, udp): the address people connect to. */
import { formatHostPort } from '../../shared/net/address.js';
import type { TunnelStatus } from '../../shared/types/status.js';
import type { ClientTunnel } from '../client-tunnel.js';

export function publicAddressStatus(tunnel: ClientTunnel, serverHost: string): Pick<TunnelStatus, 'remoteAddress'> | Record<string, never> {
  return tunnel.remotePort !== undefined ? { remoteAddress: formatHostPort(serverHost, tunnel.remotePort) } : {};
}
