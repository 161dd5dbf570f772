/** The ClientTransport of one UDP 5-tuple of the STUN listener: answers go out of the socket it arrived on. */
import type { DatagramSocket } from '../../io/datagram-socket.js';
import type { TransportAddress } from '../../shared/stun/message.js';
import type { BindingContext } from './binding-handler.js';
import type { ClientTransport } from './client-transport.js';
import { transportAddress, transportKey } from './transport-address.js';

export type Bit = 0 | 1;

/** One UDP socket of the listener and its place in the RFC 5780 grid (IP A1/A2, port P1/P2). */
export interface UdpRole {
  readonly socket: DatagramSocket;
  readonly ip: Bit;
  readonly port: Bit;
  readonly local: TransportAddress;
  /** Binding context, set once every socket is bound. */
  ctx: BindingContext;
}

export class UdpTransport implements ClientTransport {
  readonly protocol = 'udp' as const;
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  readonly key: string;
  readonly pendingBytes = 0;

  /** `address`/`port`: the datagram's source as the socket reports it. */
  constructor(
    readonly role: UdpRole,
    private readonly address: string,
    private readonly port: number,
  ) {
    this.local = role.local;
    this.remote = transportAddress(address, port);
    this.key = transportKey('udp', this.remote, this.local);
  }

  send(bytes: Uint8Array): void {
    this.sendVia(this.role.socket, bytes, undefined);
  }

  /** Sends from `socket` (another socket of the grid, for CHANGE-REQUEST) to the client, or to `toPort`. */
  sendVia(socket: DatagramSocket, bytes: Uint8Array, toPort: number | undefined): void {
    socket.send(bytes, toPort ?? this.port, this.address);
  }

  close(): void {}
}
