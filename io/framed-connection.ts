/**
 * I/O adapter: a socket speaking control-protocol frames. Decoding is the pure codec's job;
 * this only moves bytes between the socket and the decoder and hands out typed messages.
 *
 * Two ways to read: `next()` for step-by-step handshakes, or `dispatch(handler)` for a session loop.
 * `release()` ends framing and gives the raw socket back with any already-read bytes pushed back
 * in front, so a work connection can become a byte pipe without losing data.
 */
import type { Duplex } from 'node:stream';
import { unmapAddress } from '../shared/net/address.js';
import { ProtocolError } from '../shared/protocol/frame.js';
import { encodeMessage, MessageDecoder, type Message } from '../shared/protocol/messages.js';

export type MessageHandler = (message: Message) => void;

/** A TCP/TLS socket, or a multiplexed stream (which has no addresses of its own). */
export type ByteStream = Duplex & { readonly remoteAddress?: string; readonly remotePort?: number };

/** After a graceful end(), give the peer this long to close before destroying. */
const CLOSE_GRACE_MS = 2000;

interface Waiter {
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export class FramedConnection {
  private readonly decoder: MessageDecoder;
  private readonly queue: Message[] = [];
  private waiter: Waiter | undefined;
  private handler: MessageHandler | undefined;
  private failure: Error | undefined;
  private released = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  /** A framed connection is never half-open: the peer's FIN ends it (a mux stream would otherwise linger). */
  private readonly onEnd = () => {
    const first = this.failure === undefined && !this.released;
    this.fail(new Error('connection closed by peer'));
    if (first) this.socket.destroy();
  };
  private readonly onClose = () => this.fail(new Error('connection closed'));
  private readonly onError = (err: Error) => this.fail(err);
  /**
   * Ends framing right after a message for which this returns true: the connection is switching
   * to raw bytes, and whatever follows in the same chunk must reach `release()`'s reader untouched.
   */
  rawAfter: ((message: Message) => boolean) | undefined;
  /** Called once when the connection fails or closes (not after release). */
  onFailure: ((error: Error) => void) | undefined;

  constructor(
    readonly socket: ByteStream,
    maxPayload?: number,
  ) {
    this.decoder = new MessageDecoder(maxPayload);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  get remoteAddress(): string {
    return unmapAddress(this.socket.remoteAddress ?? '');
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  get closed(): boolean {
    return this.failure !== undefined || this.socket.destroyed;
  }

  /** Writes one message; returns the socket's backpressure signal. */
  send(message: Message): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(encodeMessage(message));
  }

  /** The next message, or a rejection on timeout, close or protocol error. */
  next(timeoutMs?: number): Promise<Message> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('next() already pending'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiter = undefined;
          reject(new Error(`no message within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiter = waiter;
    });
  }

  /** Deliver every (queued and future) message to `handler`. */
  dispatch(handler: MessageHandler): void {
    this.handler = handler;
    while (this.queue.length > 0 && this.handler === handler) handler(this.queue.shift()!);
  }

  /**
   * Stop framing: returns the socket, paused, with bytes that arrived after the last frame
   * pushed back so the next reader sees them first.
   */
  release(): ByteStream {
    this.released = true;
    this.socket.pause();
    this.detach();
    const rest = this.decoder.takeRemainder();
    if (rest.length > 0) this.socket.unshift(Buffer.from(rest.buffer, rest.byteOffset, rest.length));
    return this.socket;
  }

  /** Send an Error frame (best effort) and close; `retryAfter` (seconds) goes with a rate-limited refusal. */
  closeWithError(code: string, message: string, retryAfter?: number): void {
    if (!this.socket.destroyed) {
      this.send(retryAfter === undefined ? { type: 'Error', code, message } : { type: 'Error', code, message, retryAfter });
      this.endGracefully();
    }
    this.fail(new ProtocolError('unexpected-message', `${code}: ${message}`));
  }

  destroy(): void {
    this.socket.destroy();
    this.fail(new Error('connection closed'));
  }

  private endGracefully(): void {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  private receive(chunk: Buffer): void {
    let messages: Message[];
    try {
      messages = this.decoder.push(chunk, this.rawAfter);
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('bad-payload', String(err));
      this.protocolViolation(e);
      return;
    }
    for (const m of messages) {
      if (this.released || this.failure) return;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        if (w.timer) clearTimeout(w.timer);
        w.resolve(m);
      } else if (this.handler) {
        this.handler(m);
      } else {
        this.queue.push(m);
      }
    }
  }

  /** A bad frame closes this one connection with an Error frame naming the reason. */
  private protocolViolation(error: ProtocolError): void {
    if (!this.socket.destroyed) {
      this.send({ type: 'Error', code: error.code, message: error.message });
      this.endGracefully();
    }
    this.fail(error);
  }

  private fail(error: Error): void {
    if (this.failure || this.released) return;
    this.failure = error;
    this.detach();
    this.socket.on('error', () => {});
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
    this.onFailure?.(error);
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
  }
}

