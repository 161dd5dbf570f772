/**
 * RFC 6062 TCP relaying for TCP allocations: Connect (the server dials the peer), ConnectionAttempt
 * (a peer dialled the relayed address), ConnectionBind (a new client connection is spliced to the
 * peer's). The connection states live in the pure TcpConnectionTable (tcp-connections.ts); this
 * file owns their sockets and the splice. The TURN core (turn-server.ts) has already checked the
 * Connect request and its peer (allocation, family, policy) before it calls `connect`.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../io/logger.js';
import { splice } from '../../io/splice.js';
import { createThrottle } from '../../io/throttle.js';
import { ErrorCode, StunMethod } from '../../shared/stun/constants.js';
import { getAttribute, type DecodedStunMessage } from '../../shared/stun/message.js';
import type { ClientTransport } from '../stun/client-transport.js';
import type { PeerAddress } from './allocation.js';
import { canonicalIp, formatHostPort, ipFamily } from '../../shared/net/address.js';
import { MAX_CLIENT_BACKLOG, type LiveAllocation } from './live-allocation.js';
import type { RelayAddressSource } from './relay-addresses.js';
import type { RelayFactory } from './relay-factory.js';
import { TcpConnectionTable, type TcpConnection } from './tcp-connections.js';
import type { Authed, TurnResponder } from './turn-responder.js';

/** RFC 6062 §5.2: "The timeout value MUST be at least 30 seconds." */
const CONNECT_TIMEOUT_MS = 30_000;

/** What TCP relaying needs from the TURN core. */
export interface TcpRelayHost {
  /** The live allocation with this id. */
  allocationById(id: number): LiveAllocation | undefined;
  /** The live allocation of this client 5-tuple. */
  allocationFor(clientKey: string): LiveAllocation | undefined;
  /** The server is closing: new sockets are destroyed. */
  isClosed(): boolean;
  /** A request used the wrong credentials (counted in the stats). */
  authFailure(): void;
  /** A deadline may have come forward (a connection became pending). */
  deadlinesChanged(): void;
}

export interface TcpRelayOptions {
  host: TcpRelayHost;
  relays: RelayFactory;
  addresses: RelayAddressSource;
  responder: TurnResponder;
  logger: Logger;
  now: () => number;
  connections?: TcpConnectionTable;
}

export class TcpRelay {
  private readonly host: TcpRelayHost;
  private readonly relays: RelayFactory;
  private readonly addresses: RelayAddressSource;
  private readonly respond: TurnResponder;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly connections: TcpConnectionTable;
  /** Peer data connections' sockets, and the client data connections they are spliced to. */
  private readonly peerSockets = new Map<number, Socket>();
  private readonly clientDataSockets = new Map<number, Socket>();

  constructor(options: TcpRelayOptions) {
    this.host = options.host;
    this.relays = options.relays;
    this.addresses = options.addresses;
    this.respond = options.responder;
    this.logger = options.logger;
    this.now = options.now;
    this.connections = options.connections ?? new TcpConnectionTable();
  }

  /** RFC 6062 §5.2: Connect to a peer the core has checked. */
  connect(message: DecodedStunMessage, client: ClientTransport, authed: Authed, live: LiveAllocation, peer: PeerAddress, now: number): void {
    // RFC 6062 §5.2: a Connect for a peer that is being connected to, or whose connection is
    // pending or active, "MUST return a 446 (Connection Already Exists) error".
    const connection = this.connections.create(live.state.id, peer, true, now);
    if (connection === 'exists') return this.respond.error(message, client, ErrorCode.ConnectionAlreadyExists, authed);
    if (connection === 'capacity') return this.respond.error(message, client, ErrorCode.InsufficientCapacity, authed);
    const localIp = this.addresses.bindIp(peer.family)!;
    // RFC 6062 §5.2: "the server MUST initiate an outgoing TCP connection [...] If the connection
    // attempt fails or times out, the server MUST return a 447 (Connection Timeout or Failure)
    // error. The timeout value MUST be at least 30 seconds." (Local end: see relay-factory.ts.)
    this.relays.connectTcp(localIp, peer, CONNECT_TIMEOUT_MS).then(
      (socket) => {
        if (live.closed || this.host.isClosed() || this.connections.get(connection.id) !== connection) {
          socket.destroy();
          return;
        }
        // "If the connection is successful, it is now called a peer data connection. The server
        // MUST buffer any data received from the client [peer]" — the socket stays paused, so the
        // kernel's receive window does the buffering. "The server MUST include the CONNECTION-ID
        // attribute in the Connect success response."
        this.connections.markPending(connection.id, this.now());
        this.registerPeerSocket(connection, socket);
        this.host.deadlinesChanged();
        this.respond.success(message, client, authed, [{ type: 'CONNECTION-ID', id: connection.id }]);
      },
      (err: unknown) => {
        if (this.connections.get(connection.id) === connection) this.connections.remove(connection.id);
        this.logger.debug({ peer: formatHostPort(peer.address, peer.port), err: (err as Error).message }, 'TURN Connect failed');
        if (!live.closed && !this.host.isClosed()) this.respond.error(message, client, ErrorCode.ConnectionTimeoutOrFailure, authed);
      },
    );
  }

  /** RFC 6062 §5.3: a peer connected to a TCP allocation's relayed transport address. */
  acceptPeer(live: LiveAllocation, socket: Socket): void {
    const now = this.now();
    const ip = canonicalIp(socket.remoteAddress ?? '');
    const port = socket.remotePort;
    if (live.closed || this.host.isClosed() || ip === undefined || port === undefined) {
      socket.destroy();
      return;
    }
    // "If no permission for this peer has been installed for this allocation, the server MUST
    // close the connection with the peer immediately after it has been accepted."
    if (!live.state.hasPermission(ip, now) || live.client.pendingBytes > MAX_CLIENT_BACKLOG) {
      socket.destroy();
      return;
    }
    const connection = this.connections.create(live.state.id, { family: ipFamily(ip)!, address: ip, port }, false, now);
    if (typeof connection === 'string') {
      socket.destroy();
      return;
    }
    this.registerPeerSocket(connection, socket);
    this.host.deadlinesChanged();
    // "Otherwise, the server sends a ConnectionAttempt indication to the client over the control
    // connection. The indication MUST include an XOR-PEER-ADDRESS attribute containing the peer's
    // address, as well as a CONNECTION-ID attribute uniquely identifying the peer data connection."
    live.client.send(
      this.respond.indication(StunMethod.ConnectionAttempt, [
        { type: 'XOR-PEER-ADDRESS', address: { family: connection.peer.family, address: ip, port } },
        { type: 'CONNECTION-ID', id: connection.id },
      ]),
    );
  }

  /** RFC 6062 §5.4: ConnectionBind, on a new client connection. */
  bind(message: DecodedStunMessage, client: ClientTransport, authed: Authed): void {
    // RFC 6062 §5.4: "If the client connection transport is not TCP or TLS, the server MUST return
    // a 400 (Bad Request) error." "If the request does not contain the CONNECTION-ID attribute, or
    // if this attribute does not refer to an existing pending connection, the server MUST return
    // a 400 (Bad Request) error."
    if (client.protocol === 'udp' || !client.takeOver) return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'ConnectionBind needs a TCP or TLS connection');
    const id = getAttribute(message, 'CONNECTION-ID')?.id;
    const connection = id === undefined ? undefined : this.connections.get(id);
    const peerSocket = connection ? this.peerSockets.get(connection.id) : undefined;
    const live = connection ? this.host.allocationById(connection.allocationId) : undefined;
    if (!connection || connection.state !== 'pending' || !peerSocket || !live || live.closed) {
      return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'No such pending connection');
    }
    // Our rule: only the allocation's owner may bind its connections.
    if (live.state.username !== authed.user.username) {
      this.host.authFailure();
      return this.respond.error(message, client, ErrorCode.WrongCredentials, authed);
    }
    // A connection that carries an allocation is a control connection; it cannot become a data one.
    if (this.host.allocationFor(client.key)) return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'This connection holds an allocation');

    this.connections.markBound(connection.id);
    this.respond.success(message, client, authed, []);
    // "Otherwise, the client connection is now called a client data connection. Data received on
    // it MUST be sent as-is to the associated peer data connection. Data received on the associated
    // peer data connection MUST be sent as-is on this client data connection."
    const clientSocket = client.takeOver();
    this.clientDataSockets.set(connection.id, clientSocket);
    const { toPeer, fromPeer } = live.state.buckets;
    const counters = live.state.counters;
    void splice(clientSocket, peerSocket, {
      onAToB: (n) => {
        counters.bytesToPeers += n;
        counters.packetsToPeers++;
      },
      onBToA: (n) => {
        counters.bytesFromPeers += n;
        counters.packetsFromPeers++;
      },
      ...(toPeer ? { aToB: createThrottle(toPeer, this.now) } : {}),
      ...(fromPeer ? { bToA: createThrottle(fromPeer, this.now) } : {}),
    }).then(() => {
      // RFC 6062 §5.5: closing either data connection closes the other (splice does), and the
      // connection is gone.
      if (this.connections.get(connection.id) === connection) this.connections.remove(connection.id);
      this.peerSockets.delete(connection.id);
      this.clientDataSockets.delete(connection.id);
    });
  }

  /** RFC 6062 §5.5: an allocation that goes takes its peer and client data connections with it. */
  closeAllocation(allocationId: number): void {
    for (const c of this.connections.forAllocation(allocationId)) {
      this.connections.remove(c.id);
      this.destroySockets(c.id);
    }
  }

  /** When the earliest pending connection's 30 s for a ConnectionBind run out. */
  nextExpiry(): number | undefined {
    return this.connections.nextExpiry();
  }

  /** RFC 6062 §5.2, §5.3: pending connections not bound within 30 s "MUST be closed". */
  handleExpiry(now: number): void {
    for (const c of this.connections.handleExpiry(now)) {
      this.logger.debug({ connectionId: c.id }, 'TURN peer connection not bound within 30 s: closed');
      this.destroySockets(c.id);
    }
  }

  close(): void {
    for (const socket of this.peerSockets.values()) socket.destroy();
    for (const socket of this.clientDataSockets.values()) socket.destroy();
    this.peerSockets.clear();
    this.clientDataSockets.clear();
  }

  private registerPeerSocket(connection: TcpConnection, socket: Socket): void {
    this.peerSockets.set(connection.id, socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      // Before the bind, a peer that goes away takes its pending connection with it.
      if (this.connections.get(connection.id) === connection && connection.state !== 'bound') {
        this.connections.remove(connection.id);
        this.peerSockets.delete(connection.id);
      }
    });
  }

  private destroySockets(id: number): void {
    this.peerSockets.get(id)?.destroy();
    this.clientDataSockets.get(id)?.destroy();
    this.peerSockets.delete(id);
    this.clientDataSockets.delete(id);
  }
}
