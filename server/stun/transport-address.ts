/** How the STUN listener names the addresses of what it receives. */
import { formatHostPort, unmapAddress } from '../../shared/net/address.js';
import { canonicalAddress } from '../../shared/stun/address.js';
import type { TransportAddress } from '../../shared/stun/message.js';
import type { ClientProtocol } from './client-transport.js';

/** A TransportAddress from a socket's view: IPv4-mapped IPv6 is shown as IPv4, IPv6 in canonical form. */
export function transportAddress(address: string, port: number): TransportAddress {
  // Per datagram: an IPv4 source needs no parsing (no ':'); only IPv6 is canonicalised.
  if (!address.includes(':')) return { family: 'IPv4', address, port };
  const a = unmapAddress(address);
  return a.includes(':') ? { family: 'IPv6', address: canonicalAddress('IPv6', a), port } : { family: 'IPv4', address: a, port };
}

/** ClientTransport.key: "protocol|remote ip|remote port|local ip|local port". */
export function transportKey(protocol: ClientProtocol, remote: TransportAddress, local: TransportAddress): string {
  return `${protocol}|${remote.address}|${remote.port}|${local.address}|${local.port}`;
}

/** "ip:port" / "[v6]:port" for logs. */
export function fmt(a: TransportAddress): string {
  return formatHostPort(a.address, a.port);
}
