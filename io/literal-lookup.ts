import dns from 'node:dns';
import { isIP } from 'node:net';

/**
 * A `lookup` for dgram sockets that only ever send to IP literals (STUN/TURN answers go back to
 * the address a datagram came from; relays send to permitted peer IPs). Node's default runs
 * dns.lookup, which answers an IP literal on the next tick: measured by `npm run bench:turn`'s
 * profile at about 8% of the relay's time. This answers at once.
 */
export function literalLookup(hostname: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  const literal = isIP(hostname);
  if (literal !== 0) callback(null, hostname, literal);
  // A host name (a listen address such as "localhost:3478" when binding) still resolves.
  else dns.lookup(hostname, { family: family === 6 ? 6 : family === 4 ? 4 : 0 }, callback);
}

/**
 * Receive buffer for sockets that take bursts (a STUN/TURN listener shared by every client, a
 * relay socket that a TCP client's many ChannelData frames flush into). The kernel caps it at
 * net.core.rmem_max. With Linux's 208 KiB default, `npm run bench:turn` lost up to a quarter of
 * turnutils_uclient's packets in bursts; with this, none.
 */
export const UDP_BURST_BUFFER_BYTES = 4 * 1024 * 1024;
