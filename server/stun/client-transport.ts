/**
 * The seam between the STUN/TURN listener (which owns the UDP, TCP and TLS sockets and decodes
 * what arrives) and the services that answer: the STUN Binding handler and the TURN core.
 */
import type { Socket } from 'node:net';
import type { TransportAddress } from '../../shared/stun/message.js';

export type ClientProtocol = 'udp' | 'tcp' | 'tls';

/** One client 5-tuple as seen by the server: where it came from, where it arrived, how to answer. */
export interface ClientTransport {
  readonly protocol: ClientProtocol;
  /** The server's address the message arrived on. */
  readonly local: TransportAddress;
  /** The client's address (its server-reflexive address). */
  readonly remote: TransportAddress;
  /** A stable key for this 5-tuple, e.g. "udp|203.0.113.5|4000|0.0.0.0|3478". */
  readonly key: string;
  /** Send one STUN message or ChannelData to the client (stream transports frame/pad it as needed). */
  send(bytes: Uint8Array): void;
  /** Bytes waiting to be written on a stream transport (0 for UDP): used to drop instead of queueing. */
  readonly pendingBytes: number;
  /** Close a stream transport (no-op for UDP). */
  close(): void;
  /**
   * Stream transports only (RFC 6062 ConnectionBind): stop STUN framing and hand over the raw
   * socket, with any bytes already read after the last message pushed back in front of it.
   */
  takeOver?(): Socket;
}

/** What the TURN core offers the listener. */
export interface TurnHandler {
  /** A decoded STUN request/indication of a TURN method (Allocate … ConnectionAttempt). */
  handleMessage(message: import('../../shared/stun/message.js').DecodedStunMessage, client: ClientTransport): void;
  handleChannelData(channel: number, data: Uint8Array, client: ClientTransport): void;
  /** A stream transport closed: its allocations end (RFC 8656 §3.1: a TCP/TLS 5-tuple's allocation dies with it). */
  clientClosed(client: ClientTransport): void;
  /** Whether the transport holds an allocation (or one is being set up): stream idle timeouts spare it. */
  holdsAllocation?(client: ClientTransport): boolean;
  close(): Promise<void>;
}
