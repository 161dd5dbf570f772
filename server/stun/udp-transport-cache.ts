/**
 * The UdpTransport of each recently seen UDP 5-tuple, so that a datagram does not allocate a
 * transport, its TransportAddress and its key string (one per datagram was a measurable share of
 * the TURN relay's CPU: issue 12). A UdpTransport holds nothing but its addresses, so handing the
 * same one out again is the same as building a new one.
 *
 * Bounded: a flood of (spoofed) sources never grows it past `maxEntries`; when it is full it is
 * emptied and fills again with the sources that are still sending.
 */
import type { UdpRole } from './udp-transport.js';
import { UdpTransport } from './udp-transport.js';

export const UDP_TRANSPORT_CACHE_ENTRIES = 4096;

export class UdpTransportCache {
  /** Per listener socket: source port -> source address (as the socket spells it) -> transport. */
  private readonly byRole = new Map<UdpRole, Map<number, Map<string, UdpTransport>>>();
  private count = 0;

  constructor(private readonly maxEntries = UDP_TRANSPORT_CACHE_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
  }

  get size(): number {
    return this.count;
  }

  /** The transport for a datagram from `address`:`port` on `role`'s socket. Throws like UdpTransport's constructor. */
  get(role: UdpRole, address: string, port: number): UdpTransport {
    let ports = this.byRole.get(role);
    const hit = ports?.get(port)?.get(address);
    if (hit) return hit;
    const transport = new UdpTransport(role, address, port);
    if (this.count >= this.maxEntries) {
      this.byRole.clear();
      this.count = 0;
      ports = undefined;
    }
    if (!ports) this.byRole.set(role, (ports = new Map()));
    let addresses = ports.get(port);
    if (!addresses) ports.set(port, (addresses = new Map()));
    addresses.set(address, transport);
    this.count++;
    return transport;
  }

  /** Forget every transport (the listener's sockets closed). */
  clear(): void {
    this.byRole.clear();
    this.count = 0;
  }
}
