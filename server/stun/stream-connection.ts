/**
 * One TCP or TLS connection of the STUN listener: the ClientTransport of its 5-tuple. It only
 * moves bytes: what arrives goes to its StunStreamFraming (stream-framing.ts) and what that frames
 * goes to the listener; it owns the socket and the two timers (first message, ConnectionBind
 * hold).
 */
import type { Server, Socket } from 'node:net';
import { channelDataPadding, type DecodedStunMessage, type TransportAddress } from '../../shared/stun/message.js';
import type { BindingContext } from './binding-handler.js';
import type { ClientTransport } from './client-transport.js';
import { StunStreamFraming } from './stream-framing.js';
import { transportAddress, transportKey } from './transport-address.js';

/** A stream whose unsent bytes pass this is closed instead of being answered by the listener. */
export const MAX_STREAM_BACKLOG = 1024 * 1024;
/** How long a stream waits after a ConnectionBind for TURN to take it over or refuse. */
export const HOLD_TIMEOUT_MS = 30_000;

/** A listening TCP or TLS socket of the STUN service. */
export interface StreamSide {
  readonly protocol: 'tcp' | 'tls';
  readonly server: Server;
  readonly local: TransportAddress;
  readonly ctx: BindingContext;
}

/** What a connection tells the listener. */
export interface StreamOwner {
  readonly firstMessageTimeoutMs: number;
  streamStun(c: StreamConnection, message: DecodedStunMessage): void;
  streamChannelData(c: StreamConnection, channel: number, data: Uint8Array): void;
  streamClosed(c: StreamConnection): void;
  streamTakenOver(c: StreamConnection): void;
  streamInvalid(c: StreamConnection, reason: string): void;
  streamTimedOut(c: StreamConnection, what: string): void;
}

export class StreamConnection implements ClientTransport {
  readonly protocol: 'tcp' | 'tls';
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  readonly key: string;
  private readonly framing = new StunStreamFraming();
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    private readonly socket: Socket,
    readonly side: StreamSide,
    private readonly owner: StreamOwner,
  ) {
    this.protocol = side.protocol;
    this.local = transportAddress(socket.localAddress ?? side.local.address, socket.localPort ?? side.local.port);
    this.remote = transportAddress(socket.remoteAddress ?? '0.0.0.0', socket.remotePort ?? 0);
    this.key = transportKey(this.protocol, this.remote, this.local);
    this.arm(owner.firstMessageTimeoutMs, 'no STUN message in time');
    socket.on('data', this.onData);
    socket.once('close', () => {
      this.disarm();
      if (this.framing.state !== 'taken') owner.streamClosed(this);
    });
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  /** Writes a STUN message or ChannelData; ChannelData is padded to a multiple of 4 (RFC 8656 §12.5). */
  send(bytes: Uint8Array): void {
    if (this.framing.state === 'taken' || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(bytes);
    const padding = channelDataPadding(bytes);
    if (padding > 0) this.socket.write(Buffer.alloc(padding));
    if (this.framing.answered(bytes)) {
      // TURN refused the ConnectionBind: frame again what waited.
      this.disarm();
      this.socket.resume();
      // Not from inside the TURN core's send(): dispatch on the next microtask.
      queueMicrotask(() => this.pump());
    }
  }

  /** Sends, unless the client has stopped reading: then the connection is closed. */
  sendChecked(bytes: Uint8Array): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    if (this.socket.writableLength > MAX_STREAM_BACKLOG) {
      this.destroy();
      return false;
    }
    this.send(bytes);
    return true;
  }

  close(): void {
    if (this.framing.state === 'taken' || this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  destroy(): void {
    if (this.framing.state !== 'taken') this.socket.destroy();
  }

  takeOver(): Socket {
    const rest = this.framing.take();
    this.disarm();
    this.socket.pause();
    this.socket.off('data', this.onData);
    if (rest.length > 0) this.socket.unshift(rest);
    this.owner.streamTakenOver(this);
    return this.socket;
  }

  /** A ConnectionBind request is going to TURN: what follows it may be relayed data (RFC 6062 §5.4). */
  hold(transactionId: Uint8Array): void {
    this.framing.hold(transactionId);
    this.socket.pause();
    this.arm(HOLD_TIMEOUT_MS, 'ConnectionBind neither taken over nor refused');
  }

  private receive(chunk: Buffer): void {
    if (this.framing.state === 'taken') return;
    this.framing.push(chunk);
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.socket.destroyed) {
        const item = this.framing.next();
        if (!item) break;
        if (item.kind === 'invalid') {
          this.owner.streamInvalid(this, item.reason);
          this.socket.destroy();
          return;
        }
        if (item.kind === 'channel') {
          this.owner.streamChannelData(this, item.channel, item.data);
          continue;
        }
        if (item.first) this.disarm();
        this.owner.streamStun(this, item.message);
      }
    } finally {
      this.pumping = false;
    }
  }

  private arm(ms: number, what: string): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.owner.streamTimedOut(this, what);
      this.socket.destroy();
    }, ms);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
