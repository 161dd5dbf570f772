/**
 * The framing state of one TCP/TLS STUN connection, without the socket: bytes go in with
 * `push()`, what they frame comes out of `next()` in stream order. Pure (no sockets, no timers);
 * StreamConnection (stream-connection.ts) moves the bytes and owns the timers.
 *
 *   framing ──hold(txid)──▶ held ──answered(error response to txid)──▶ framing
 *      │                      │
 *      └──────── take() ──────┴──▶ taken
 *
 * - framing: STUN messages and ChannelData are framed (StunStreamDecoder). A stream whose first
 *   byte does not start a STUN message is invalid at once (ChannelData needs an allocation, so it
 *   is not TURN: this ends e.g. "GET / HTTP/1.1" without waiting for 0x5420 bytes of
 *   "ChannelData"). Undecodable bytes make the stream invalid, but only after the messages before
 *   them in stream order were handed out (a ConnectionBind may be followed by relayed data in the
 *   same segment).
 * - held: a ConnectionBind request went to TURN (RFC 6062 §5.4); what follows it may be relayed
 *   data, so it is kept, not framed, until TURN answers with an error (framing resumes with it)
 *   or takes the connection over.
 * - taken: `take()` returned every byte read and not handed out, byte for byte, so the new owner
 *   sees the stream from just after the ConnectionBind.
 */
import { StunClass } from '../../shared/stun/constants.js';
import { channelDataStreamLength, decodeStun, peekStunHeader, type DecodedStunMessage } from '../../shared/stun/message.js';
import { firstByteKind, StunStreamDecoder, type StreamItem } from '../../shared/stun/stream.js';
import { ByteQueue } from './byte-queue.js';

export type FramingState = 'framing' | 'held' | 'taken';

export type FramedItem =
  /** A STUN message; `first` for the stream's first one. */
  | { kind: 'stun'; message: DecodedStunMessage; first: boolean }
  | { kind: 'channel'; channel: number; data: Uint8Array }
  /** The stream cannot be framed any further: close it. Given once; nothing follows. */
  | { kind: 'invalid'; reason: string };

export class StunStreamFraming {
  private readonly decoder = new StunStreamDecoder();
  /** Items decoded and not yet handed out, in stream order. */
  private readonly items: StreamItem[] = [];
  /** Chunks read while held (not given to the decoder: they may be relayed data). */
  private held: Buffer[] = [];
  /**
   * Every byte read and not yet handed out, in stream order: `items`, what the decoder still
   * buffers, and `held`. This is what take() returns.
   */
  private readonly unhandled = new ByteQueue();
  private current: FramingState = 'framing';
  private heldTransaction: Uint8Array | undefined;
  private gotMessage = false;
  /** The decoder failed (its message): nothing after the queued items can be framed. */
  private poisoned: string | undefined;
  /** Why the stream is invalid, once it is; reported by next() once. */
  private failure: string | undefined;
  private failed = false;

  get state(): FramingState {
    return this.current;
  }

  /** Whether a STUN message has been framed on this stream yet. */
  get hasMessage(): boolean {
    return this.gotMessage;
  }

  /** Bytes read from the stream. Ignored once taken or invalid. */
  push(chunk: Buffer): void {
    if (this.current === 'taken' || this.failure !== undefined) return;
    this.unhandled.push(chunk);
    if (this.current === 'held') {
      this.held.push(chunk);
      return;
    }
    if (!this.gotMessage && this.items.length === 0 && firstByteKind(this.unhandled.firstByte()!) !== 'stun') {
      this.failure = 'the stream does not start with a STUN message';
      return;
    }
    this.decode(chunk);
  }

  /** The next framed item, or undefined while there is none (or the stream is held or taken). */
  next(): FramedItem | undefined {
    if (this.failed) return undefined;
    if (this.failure !== undefined) return this.fail(this.failure);
    if (this.current !== 'framing') return undefined;
    const item = this.items.shift();
    if (!item) return this.poisoned !== undefined ? this.fail(this.poisoned) : undefined;
    this.unhandled.skip(rawLength(item));
    if (item.kind === 'channel') return item;
    let message: DecodedStunMessage;
    try {
      message = decodeStun(item.bytes);
    } catch (err) {
      return this.fail((err as Error).message);
    }
    const first = !this.gotMessage;
    this.gotMessage = true;
    return { kind: 'stun', message, first };
  }

  /** A ConnectionBind request (this transaction) is going to TURN: keep what follows unframed. */
  hold(transactionId: Uint8Array): void {
    if (this.current !== 'framing') return;
    this.current = 'held';
    this.heldTransaction = transactionId;
  }

  /**
   * Something was sent on the stream. If it is the error response to the held ConnectionBind,
   * framing resumes with the bytes that waited; returns true then.
   */
  answered(bytes: Uint8Array): boolean {
    if (this.current !== 'held' || !this.heldTransaction || !isErrorResponseTo(bytes, this.heldTransaction)) return false;
    this.current = 'framing';
    this.heldTransaction = undefined;
    const chunks = this.held;
    this.held = [];
    for (const c of chunks) this.decode(c);
    return true;
  }

  /** Ends framing for good: every byte read and not handed out, in stream order. */
  take(): Buffer {
    if (this.current === 'taken') throw new Error('the connection was already taken over');
    this.current = 'taken';
    const rest = this.unhandled.length > 0 ? this.unhandled.bytes() : Buffer.alloc(0);
    this.unhandled.clear();
    this.items.length = 0;
    this.held = [];
    return rest;
  }

  /**
   * Feeds the decoder. On garbage the messages before it still count: they are queued, and the
   * stream is `poisoned`, which makes it invalid once they are handed out.
   */
  private decode(chunk: Buffer): void {
    if (this.poisoned !== undefined) return;
    try {
      for (const item of this.decoder.push(chunk)) this.items.push(item);
    } catch (err) {
      this.poisoned = (err as Error).message;
      let queued = 0;
      for (const item of this.items) queued += rawLength(item);
      for (const item of decodeValidPrefix(this.unhandled.bytes().subarray(queued))) this.items.push(item);
    }
  }

  private fail(reason: string): FramedItem {
    this.failed = true;
    return { kind: 'invalid', reason };
  }
}

/** Bytes an item took on the stream (ChannelData is padded to 4 there, RFC 8656 §12.5). */
function rawLength(item: StreamItem): number {
  return item.kind === 'stun' ? item.bytes.length : channelDataStreamLength(item.data.length);
}

/**
 * The items in the longest prefix of `bytes` that StunStreamDecoder accepts. The decoder checks a
 * stream in order, so a prefix that fails makes every longer one fail: a binary search finds it.
 */
function decodeValidPrefix(bytes: Uint8Array): StreamItem[] {
  const accepts = (n: number): boolean => {
    try {
      new StunStreamDecoder().push(bytes.subarray(0, n));
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (accepts(mid)) lo = mid;
    else hi = mid - 1;
  }
  return new StunStreamDecoder().push(bytes.subarray(0, lo));
}

/** True when `bytes` is an error response with this transaction id. */
function isErrorResponseTo(bytes: Uint8Array, transactionId: Uint8Array): boolean {
  const header = peekStunHeader(bytes);
  if (!header || header.cls !== StunClass.ErrorResponse) return false;
  for (let i = 0; i < 12; i++) if (header.transactionId[i] !== transactionId[i]) return false;
  return true;
}
