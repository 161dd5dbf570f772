/** An allocation (the pure state of allocation.ts) with its I/O: the client it belongs to and its relay sockets. */
import type { ClientTransport } from '../stun/client-transport.js';
import type { Allocation } from './allocation.js';
import type { IpFamily } from '../../shared/net/address.js';
import type { RelaySocket, RelayTcpListener } from './relay-factory.js';

export interface LiveAllocation {
  readonly state: Allocation;
  readonly client: ClientTransport;
  readonly udp: Map<IpFamily, RelaySocket>;
  readonly tcp: Map<IpFamily, RelayTcpListener>;
  closed: boolean;
}

/** Datagrams or connections for a stream client with more than this queued are dropped (it is not reading). */
export const MAX_CLIENT_BACKLOG = 1024 * 1024;
