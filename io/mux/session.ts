/**
 * I/O adapter: a yamux session (hashicorp/yamux spec.md) over one byte stream, usually a TLS socket.
 * Framing is shared/mux/frame.ts's job and per-stream flow control is shared/mux/stream-state.ts's;
 * this moves frames between the socket and the streams and owns the timers.
 *
 * - Opening: `openStream()` sends SYN at once (a WindowUpdate frame), so the acceptor learns of the
 *   stream even if the opener writes nothing first (server-speaks-first protocols such as SSH).
 *   Data written in the same turn of the event loop goes out in the same socket write.
 * - Accepting: a SYN from the peer becomes a `'stream'` event, answered with ACK at once, as yamux's
 *   Accept() does. A SYN is refused with RST when nobody listens for `'stream'`, when `maxStreams`
 *   streams are open, or after close().
 * - Flow control: a stream never sends more than the peer's window. Window is granted back only as
 *   the stream's consumer reads (the Duplex's `_read`), and only once the credit reaches half the
 *   window, so a stream whose reader stops stalls that stream alone, and what it buffers stays
 *   within its window (its payload pins at most 4× that of socket memory: see `deliver`). The
 *   socket itself is read as fast as it delivers: the windows bound memory.
 * - Batching: every frame written in one turn of the event loop (until its I/O callbacks are done:
 *   setImmediate) is corked into one socket write (writev), so the SYN a new stream sends and the
 *   first message written after a promise settles share one TLS record, as do the frames of many
 *   streams served in one turn; a Data
 *   frame's header and payload go as two buffers of that write, the payload never copied (only
 *   payloads up to COPY_LIMIT are copied next to their header).
 * - Send budget: streams stop handing Data frames to the socket while SEND_QUEUE_LIMIT bytes are
 *   already queued on it (in this process, not yet taken by the kernel), and carry on, in the order
 *   they stopped, when it drains. The windows bound what the peer must buffer; this bounds what we
 *   buffer: without it, thousands of streams each within its window piled their data (and, under
 *   TLS, a coalesced copy and its ciphertext) into the socket's queue at once.
 * - Read gate: the sources feeding the streams (`gateSource`; io/splice.ts calls it for a socket
 *   spliced to a stream) stop reading while GATE_AFTER_WAITERS streams at once wait for the send
 *   budget, and are let back in GATE_ADMIT at a time while the socket has room
 *   (io/mux/read-gate.ts): the data of thousands of connections sending at once stays in the
 *   kernel instead of this process, up to 64 KiB per connection.
 * - Half-close: `end()` sends FIN (after all written data); the peer's FIN ends the readable side.
 *   A stream is forgotten once both FINs have passed, or on RST.
 * - `destroy()` sends RST; a received RST destroys the stream with MuxError('stream-reset').
 * - `close()` sends GoAway(normal), ends the socket and destroys every stream (without an error).
 *   The session dying any other way (peer EOF, socket error, protocol error, keep-alive timeout)
 *   destroys every stream with MuxError('session-closed'). A protocol violation by the peer sends
 *   GoAway(protocol error) and emits `'error'` with a MuxError; so does a socket error.
 * - Keep-alive: every `keepAliveMs` (default 30 s, 0 = off) a Ping goes out; a session that hears
 *   nothing at all from its peer for 2 × keepAliveMs fails with MuxError('keepalive-timeout').
 *
 * Events: 'stream' (MuxStream), 'goaway' (code: number), 'error' (Error), 'close' (once, after
 * 'error' if any). 'error' and 'close' are emitted on the next tick.
 */
import { EventEmitter } from 'node:events';
import { Duplex, type Readable } from 'node:stream';
import {
  GoAwayCode,
  MUX_DEFAULT_MAX_FRAME_PAYLOAD,
  MUX_INITIAL_WINDOW,
  MUX_MAX_U32,
  MuxError,
  MuxFlag,
  MuxFrameDecoder,
  MUX_HEADER_LENGTH,
  MUX_VERSION,
  MuxType,
  type MuxFrame,
} from '../../shared/mux/frame.js';
import { MuxStreamState } from '../../shared/mux/stream-state.js';
import type { Clock } from '../../shared/clock.js';
import { Heartbeat } from '../../shared/protocol/heartbeat.js';
import { monotonicClock } from '../clock.js';
import { ReadGate } from './read-gate.js';
import { noteSocketBytes } from '../young-gc-pacer.js';

export interface MuxSessionOptions {
  /** True on the side that opens odd stream ids (the yamux "client"). */
  client: boolean;
  /** Per-stream receive window, >= 256 KiB (the spec's starting window); default 256 KiB. */
  initialWindow?: number;
  /** Most streams open at once (both directions together); default 1024. */
  maxStreams?: number;
  /** Ping interval in ms; the peer is declared dead after 2× this of silence. Default 30 000; 0 = off. */
  keepAliveMs?: number;
  /** Largest Data payload accepted from the peer and sent to it; default 256 KiB. */
  maxFramePayload?: number;
  /** The monotonic clock for keep-alives and ping round trips; default `performance.now()`. */
  clock?: Clock;
}

export const MUX_DEFAULT_MAX_STREAMS = 1024;
/** The relay's settings (server and client alike): streams at once on one client's connection... */
export const RELAY_MUX_MAX_STREAMS = 16_384;
/** ...and each stream's receive window: what one stalled connection can buffer, and one stream's rate limit of window/RTT. */
export const RELAY_MUX_WINDOW = 1024 * 1024;
export const MUX_DEFAULT_KEEPALIVE_MS = 30_000;
/** Payloads up to this size are copied next to their header; larger ones go as a second (corked) write. */
const COPY_LIMIT = 4096;
/**
 * Data frames are handed to the socket only while less than this is queued on it (see "Send
 * budget" above). Several full frames, so one fast stream keeps the socket busy.
 */
const SEND_QUEUE_LIMIT = 512 * 1024;
/**
 * A stream's writable high-water mark. A relay writes 64 KiB socket reads into its stream; at
 * node's default 16 KiB every such write returned false, so pipe() paused the source socket and
 * resumed it on 'drain' once per read (readStop/readStart: two epoll_ctl and an event-loop turn per
 * 64 KiB, seen with strace). At 256 KiB a few reads go by before a full window or send budget stops
 * the source; what a stalled stream holds is this plus one read, on top of the window the peer holds.
 */
export const STREAM_WRITE_HIGH_WATER_MARK = 256 * 1024;
/** Queued writes totalling up to this are merged into one Data frame. */
const COALESCE_LIMIT = 16 * 1024;
/**
 * Blocks a stream copies small pieces of payload into (see deliver): the first is small (a slice
 * of Node's shared pool), each next one twice the last, up to HELD_BLOCK, so an occasional fragment
 * costs no block of its own and a stalled stream fed tiny frames still holds them in a few blocks.
 */
const HELD_FIRST_BLOCK = 2048;
const HELD_BLOCK = 64 * 1024;
/**
 * Replies the peer provokes (Ping ACKs, RSTs refusing its SYNs) are skipped while this much is
 * already queued on the socket: a peer that floods Pings or SYNs and never reads must not grow
 * our write queue without bound. Stream data is bounded by the windows instead.
 */
const REPLY_QUEUE_LIMIT = 256 * 1024;
/** This many streams waiting for the send budget at once is congestion: the read gate holds its sources. */
const GATE_AFTER_WAITERS = 64;
/** Sources let back in per turn (a 'drain', or an event-loop round while the socket has room). */
const GATE_ADMIT = 16;
/** After close(), how long the socket may take to finish its FIN handshake before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** What a stream needs from its session. */
interface StreamHost {
  readonly maxFramePayload: number;
  readonly dead: boolean;
  sendFrame(type: MuxType, flags: number, streamId: number, length: number, payload?: Uint8Array): void;
  /** False while the socket's queue is over the send budget: the stream then asks `waitForSocket`. */
  canSendData(): boolean;
  /** Calls `stream.resumeSend()` once the socket has drained. */
  waitForSocket(stream: MuxStream): void;
  /** Calls `cb` when the socket can take more (at once unless it asked for a drain). */
  afterWrite(cb: () => void): void;
  forget(stream: MuxStream): void;
  readonly gate: ReadGate;
}

/**
 * One yamux stream: a node Duplex. Obtain it from `MuxSession.openStream()` or the session's
 * `'stream'` event, never by `new`.
 */
export class MuxStream extends Duplex {
  readonly id: number;
  private readonly state: MuxStreamState;
  private readonly host: StreamHost;
  /**
   * The pending write, kept in fields (no object per write): one chunk (`_write`) or a list
   * (`_writev`), the position reached in it, and its callback (undefined: nothing pending).
   */
  private outChunk: Uint8Array | undefined;
  private outChunks: Uint8Array[] | undefined;
  private outIndex = 0;
  private outOffset = 0;
  private outCb: ((error?: Error | null) => void) | undefined;
  /** @internal Queued on the session, waiting for the socket to drain. */
  waitingForSocket = false;
  /** Bytes handed to the Readable (push) and bytes of those already counted as consumed. */
  private pushedBytes = 0;
  private consumedBytes = 0;
  /**
   * Small pieces of payload are copied into `block` (see deliver): `heldBytes` of it, from
   * `blockStart`, arrived while the consumer was behind (the last push() returned false) and are not
   * yet pushed. A stalled stream then holds at most its window in a few blocks, rather than pinning a
   * socket chunk per small piece, or one object per tiny frame.
   */
  private block: Buffer | undefined;
  private blockStart = 0;
  private heldBytes = 0;
  private backedUp = false;

  /** @internal */
  constructor(host: StreamHost, state: MuxStreamState) {
    super({ allowHalfOpen: true, writableHighWaterMark: STREAM_WRITE_HIGH_WATER_MARK });
    this.host = host;
    this.state = state;
    this.id = state.id;
  }

  /** Bytes this stream may still send before the peer grants more window. */
  get sendWindow(): number {
    return this.state.sendWindow;
  }

  /** Bytes received and not yet read by the consumer (in the Readable's buffer or held). */
  get bufferedBytes(): number {
    return this.readableLength + this.heldBytes;
  }

  /** Bytes the peer may still send before we grant more window. */
  get receiveWindow(): number {
    return this.state.receiveWindow;
  }

  // ---- Writable side -------------------------------------------------------------------------

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.outChunk = chunk;
    this.outChunks = undefined;
    this.outIndex = 0;
    this.outOffset = 0;
    this.outCb = cb;
    this.pump();
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (error?: Error | null) => void): void {
    let list: Uint8Array[] = chunks.map((c) => c.chunk);
    const total = list.reduce((n, c) => n + c.length, 0);
    // Many small writes queued up: one frame rather than one per write. Large ones are not copied.
    if (list.length > 1 && total <= Math.min(COALESCE_LIMIT, this.host.maxFramePayload)) list = [Buffer.concat(list, total)];
    this.outChunk = undefined;
    this.outChunks = list;
    this.outIndex = 0;
    this.outOffset = 0;
    this.outCb = cb;
    this.pump();
  }

  override _final(cb: (error?: Error | null) => void): void {
    if (this.host.dead) {
      cb(new MuxError('session-closed', 'mux session closed'));
      return;
    }
    const flags = this.state.finish();
    if (flags !== undefined) this.host.sendFrame(MuxType.WindowUpdate, flags, this.id, this.state.takeCredit(true));
    if (this.state.closed) this.host.forget(this);
    cb();
  }

  /**
   * Send as much of the pending write as the window and the session's send budget allow;
   * completes the write when all is out.
   */
  private pump(): void {
    const host = this.host;
    for (;;) {
      const cb = this.outCb;
      if (cb === undefined || host.dead) return;
      const chunk = this.outChunks === undefined ? (this.outIndex === 0 ? this.outChunk : undefined) : this.outChunks[this.outIndex];
      if (chunk === undefined) {
        this.outCb = undefined;
        this.outChunk = undefined;
        this.outChunks = undefined;
        host.afterWrite(cb);
        return;
      }
      const offset = this.outOffset;
      const remaining = chunk.length - offset;
      if (remaining === 0) {
        this.outIndex++;
        this.outOffset = 0;
        continue;
      }
      if (!host.canSendData()) {
        host.waitForSocket(this); // resumeSend() carries on
        return;
      }
      const n = this.state.reserveSend(Math.min(remaining, host.maxFramePayload));
      if (n === 0) return; // window exhausted: a WindowUpdate resumes us
      const flags = this.state.takeOpenFlags();
      // The whole chunk as it is when it fits (the usual case): no view to make.
      host.sendFrame(MuxType.Data, flags, this.id, n, n === chunk.length ? chunk : chunk.subarray(offset, offset + n));
      this.outOffset = offset + n;
    }
  }

  /**
   * `src` feeds this stream (a socket piped into it): it stops reading while the session is
   * congested and is let back in turn (see "Read gate"). Call once it is piped (flowing).
   */
  gateSource(src: Readable): void {
    const gate = this.host.gate;
    gate.add(src);
    this.on('close', () => gate.remove(src));
  }

  /** @internal The socket drained after this stream stopped at the send budget. */
  resumeSend(): void {
    this.waitingForSocket = false;
    this.pump();
  }

  // ---- Readable side -------------------------------------------------------------------------

  /** Every read (flowing mode reads through here too) may turn consumed bytes into window credit. */
  override read(size?: number): any {
    this.flushHeld();
    const chunk: unknown = super.read(size);
    if (chunk !== null) this.grantCredit();
    return chunk;
  }

  /** The consumer wants more (covers chunks handed straight to 'data' listeners, which skip read()). */
  override _read(): void {
    this.flushHeld();
    this.grantCredit();
  }

  /**
   * A Data payload for the consumer. A piece that is at least a quarter of the socket chunk it is a
   * view of goes as that view: a bulk stream's frames fill whole TLS records and most of a TCP read,
   * and copying them cost the relay a third of its throughput in memcpy and GC. A smaller piece (a
   * frame's head or tail, tiny frames, a piece of a chunk shared with other streams) is copied: into
   * memory of its own size, pushed at once, while the consumer keeps up; into a block, held, while it
   * is behind, so a stalled stream's tiny pieces share a few blocks. No piece pins
   * more than 4× its size of socket memory (a view of any size would let 1-byte pieces, each in a
   * chunk of its own, pin a chunk apiece up to the high-water mark).
   */
  private deliver(p: Uint8Array): void {
    if (p.length * 4 >= p.buffer.byteLength) {
      if (this.heldBytes > 0) this.pushHeld(); // what was copied before it goes first
      this.pushedBytes += p.length;
      // The decoder's pieces are views of the socket's Buffers, so usually Buffers already.
      this.backedUp = !this.push(Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.length));
      return;
    }
    if (!this.backedUp && this.heldBytes === 0) {
      // The consumer keeps up: a copy of just this piece (a slice of node's shared pool for a small
      // one), pushed at once. A block per piece here was 2 KiB of fresh memory per 16-byte message.
      const copy = Buffer.allocUnsafe(p.length);
      copy.set(p);
      this.pushedBytes += p.length;
      this.backedUp = !this.push(copy);
      return;
    }
    let block = this.block;
    const used = this.blockStart + this.heldBytes;
    if (block === undefined || block.length - used < p.length) {
      if (this.heldBytes > 0) this.pushHeld(); // the full block's part goes out as one chunk
      const size = block === undefined ? HELD_FIRST_BLOCK : Math.min(HELD_BLOCK, 2 * block.length);
      block = this.block = Buffer.allocUnsafe(Math.max(size, p.length));
      this.blockStart = 0;
    }
    block.set(p, this.blockStart + this.heldBytes);
    this.heldBytes += p.length;
    if (!this.backedUp) this.pushHeld();
  }

  /** The copied part of the block not yet pushed goes to the Readable, in order (the block keeps filling after it). */
  private pushHeld(): void {
    const part = this.block!.subarray(this.blockStart, this.blockStart + this.heldBytes);
    this.blockStart += this.heldBytes;
    this.heldBytes = 0;
    this.pushedBytes += part.length;
    this.backedUp = !this.push(part);
  }

  /** The consumer reads again: hand it what was copied, and start small again next time it falls behind. */
  private flushHeld(): void {
    if (this.heldBytes > 0) this.pushHeld();
    this.block = undefined;
    this.blockStart = 0;
    this.backedUp = this.readableLength >= this.readableHighWaterMark;
  }

  /** Whatever the consumer took since last time becomes window credit (sent once it reaches half the window). */
  private grantCredit(): void {
    const consumed = this.pushedBytes - this.readableLength - this.consumedBytes;
    if (consumed > 0) {
      this.consumedBytes += consumed;
      this.state.consumed(consumed);
    }
    const delta = this.state.takeCredit(false);
    if (delta > 0 && !this.host.dead) this.host.sendFrame(MuxType.WindowUpdate, this.state.takeOpenFlags(), this.id, delta);
  }

  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    this.outCb = undefined;
    this.outChunk = undefined;
    this.outChunks = undefined;
    this.block = undefined;
    this.heldBytes = 0;
    const flags = this.state.reset();
    if (flags !== undefined && !this.host.dead) this.host.sendFrame(MuxType.WindowUpdate, flags, this.id, 0);
    this.host.forget(this);
    cb(error);
  }

  /** @internal A Data or WindowUpdate frame for this stream (SYN already handled). Throws MuxError('protocol'). */
  receive(frame: MuxFrame): void {
    const rst = (frame.flags & MuxFlag.RST) !== 0;
    if (frame.type === MuxType.Data) {
      if (!rst && this.state.receiveData(frame.length) && frame.length > 0 && !this.destroyed) this.deliver(frame.payload);
    } else if (frame.length > 0) {
      this.state.windowUpdate(frame.length);
    }
    const outcome = this.state.receiveFlags(frame.flags);
    if (outcome.reset) {
      this.destroy(new MuxError('stream-reset', `mux stream ${this.id} was reset by the peer`));
      return;
    }
    if (outcome.remoteFinished && !this.destroyed) {
      if (this.heldBytes > 0) this.pushHeld();
      this.push(null);
    }
    if (outcome.closed) this.host.forget(this);
    if (frame.type === MuxType.WindowUpdate && frame.length > 0) this.pump();
  }

  /** @internal The session died: drop the stream without telling the peer. */
  abort(error: Error | undefined): void {
    this.outCb = undefined;
    this.outChunk = undefined;
    this.outChunks = undefined;
    this.destroy(error);
  }
}

interface PendingPing {
  readonly started: number;
  readonly resolve: (rttMs: number) => void;
  readonly reject: (error: Error) => void;
}

export interface MuxSession {
  on(event: 'stream', listener: (stream: MuxStream) => void): this;
  on(event: 'goaway', listener: (code: number) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'stream', listener: (stream: MuxStream) => void): this;
  once(event: 'goaway', listener: (code: number) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'close', listener: () => void): this;
}

export class MuxSession extends EventEmitter {
  readonly client: boolean;
  private readonly socket: Duplex;
  private readonly initialWindow: number;
  private readonly maxStreams: number;
  private readonly frameLimit: number;
  private readonly decoder: MuxFrameDecoder;
  private readonly streams = new Map<number, MuxStream>();
  private readonly host: StreamHost;
  private nextStreamId: number;
  private nextPingId = 1;
  private readonly pings = new Map<number, PendingPing>();
  private drainWaiters: Array<() => void> = [];
  /** Streams stopped at the send budget, resumed in this order on 'drain'. */
  private sendWaiters: MuxStream[] = [];
  private corked = false;
  private readonly readGate = new ReadGate();
  private admitScheduled = false;
  private dead = false;
  private localGoAway = false;
  private remoteGoAway = false;
  private readonly heartbeat: Heartbeat | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;

  constructor(socket: Duplex, options: MuxSessionOptions) {
    super();
    this.clock = options.clock ?? monotonicClock;
    const initialWindow = options.initialWindow ?? MUX_INITIAL_WINDOW;
    if (!Number.isInteger(initialWindow) || initialWindow < MUX_INITIAL_WINDOW || initialWindow > MUX_MAX_U32) {
      throw new RangeError(`initialWindow must be an integer in [${MUX_INITIAL_WINDOW}, ${MUX_MAX_U32}], got ${initialWindow}`);
    }
    const maxStreams = options.maxStreams ?? MUX_DEFAULT_MAX_STREAMS;
    if (!(maxStreams >= 1)) throw new RangeError(`maxStreams must be >= 1, got ${maxStreams}`);
    const maxFramePayload = options.maxFramePayload ?? MUX_DEFAULT_MAX_FRAME_PAYLOAD;
    if (!Number.isInteger(maxFramePayload) || maxFramePayload < 1 || maxFramePayload > MUX_MAX_U32) {
      throw new RangeError(`maxFramePayload must be an integer in [1, ${MUX_MAX_U32}], got ${maxFramePayload}`);
    }
    const keepAliveMs = options.keepAliveMs ?? MUX_DEFAULT_KEEPALIVE_MS;
    if (!(keepAliveMs >= 0)) throw new RangeError(`keepAliveMs must be >= 0, got ${keepAliveMs}`);

    this.socket = socket;
    this.client = options.client;
    this.initialWindow = initialWindow;
    this.maxStreams = maxStreams;
    this.frameLimit = maxFramePayload;
    // Payloads go to the streams as views of the socket's chunks as they arrive (no reassembly copy).
    this.decoder = new MuxFrameDecoder({ maxFramePayload, streamData: true });
    this.nextStreamId = options.client ? 1 : 2;

    const session = this;
    this.host = {
      maxFramePayload,
      get dead() {
        return session.dead;
      },
      sendFrame: (type, flags, id, length, payload) => this.sendFrame(type, flags, id, length, payload),
      canSendData: () => this.canSendData(),
      waitForSocket: (stream) => this.waitForSocket(stream),
      afterWrite: (cb) => this.afterWrite(cb),
      forget: (stream) => this.forget(stream),
      gate: this.readGate,
    };

    // Frames are batched per event-loop turn by cork/uncork; Nagle would only add delay (Go's net sets this too).
    (socket as Duplex & { setNoDelay?: (on: boolean) => unknown }).setNoDelay?.(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    // The socket may come paused (handed over by a framed reader); the windows bound memory, so read freely.
    socket.resume();

    if (keepAliveMs > 0 && Number.isFinite(keepAliveMs)) {
      this.heartbeat = new Heartbeat({ intervalMs: keepAliveMs, timeoutMs: 2 * keepAliveMs }, this.clock.now());
      this.armKeepAlive(this.clock.now() + keepAliveMs);
    }
  }

  /** Streams open now (opened or accepted, not yet closed both ways or reset). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** True once the session has closed or failed. */
  get closed(): boolean {
    return this.dead;
  }

  /**
   * A new outgoing stream; its SYN goes out at once (in this tick's batch). Throws MuxError:
   * 'session-closed', 'go-away' (the peer said GoAway), 'too-many-streams', 'streams-exhausted'.
   */
  openStream(): MuxStream {
    if (this.dead) throw new MuxError('session-closed', 'mux session is closed');
    if (this.remoteGoAway) throw new MuxError('go-away', 'the peer sent GoAway: no new streams');
    if (this.localGoAway) throw new MuxError('go-away', 'this session is going away');
    if (this.streams.size >= this.maxStreams) throw new MuxError('too-many-streams', `already ${this.streams.size} streams open`);
    const id = this.nextStreamId;
    if (id > MUX_MAX_U32) throw new MuxError('streams-exhausted', 'no stream ids left on this session');
    this.nextStreamId += 2;
    const state = new MuxStreamState(id, 'local', { maxWindow: this.initialWindow });
    const stream = new MuxStream(this.host, state);
    this.streams.set(id, stream);
    this.sendOpen(state);
    return stream;
  }

  /** Round-trip time in ms of one Ping. Rejects with MuxError('session-closed') if the session dies first. */
  ping(): Promise<number> {
    if (this.dead) return Promise.reject(new MuxError('session-closed', 'mux session is closed'));
    const id = this.takePingId();
    return new Promise((resolve, reject) => {
      this.pings.set(id, { started: this.clock.now(), resolve, reject });
      this.sendFrame(MuxType.Ping, MuxFlag.SYN, 0, id);
    });
  }

  /** GoAway(normal), end the socket, destroy every stream. Idempotent. */
  close(): void {
    if (this.dead) return;
    this.localGoAway = true;
    this.sendFrame(MuxType.GoAway, 0, 0, GoAwayCode.Normal);
    this.terminate(undefined, undefined, true);
  }

  /**
   * Tear the session down at once without GoAway: the socket and every stream are destroyed (the
   * streams without an error, as for close()). An `error` given here is emitted as 'error'.
   */
  destroy(error?: Error): void {
    this.terminate(error, undefined, false);
  }

  // ---- outgoing ------------------------------------------------------------------------------

  /** SYN (or ACK) on a WindowUpdate carrying whatever window we have beyond the spec's 256 KiB. */
  private sendOpen(state: MuxStreamState): void {
    this.sendFrame(MuxType.WindowUpdate, state.takeOpenFlags(), state.id, state.takeCredit(true));
  }

  private sendFrame(type: MuxType, flags: number, streamId: number, length: number, payload?: Uint8Array): void {
    const socket = this.socket;
    if (this.dead || socket.destroyed || socket.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(this.uncork);
    }
    // Buffer.allocUnsafe below 4 KiB slices Node's shared pool: no backing store of its own per frame.
    if (payload === undefined || payload.length <= COPY_LIMIT) {
      const size = payload === undefined ? 0 : payload.length;
      const frame = Buffer.allocUnsafe(MUX_HEADER_LENGTH + size);
      writeHeader(frame, type, flags, streamId, length);
      if (payload !== undefined) frame.set(payload, MUX_HEADER_LENGTH);
      socket.write(frame);
    } else {
      const header = Buffer.allocUnsafe(MUX_HEADER_LENGTH);
      writeHeader(header, type, flags, streamId, length);
      socket.write(header);
      socket.write(payload);
    }
  }

  /** Data may be queued while under the budget, or while the socket has not asked for a drain (no 'drain' would come). */
  private canSendData(): boolean {
    const socket = this.socket;
    return socket.writableLength < SEND_QUEUE_LIMIT || !socket.writableNeedDrain;
  }

  private waitForSocket(stream: MuxStream): void {
    if (stream.waitingForSocket) return;
    stream.waitingForSocket = true;
    this.sendWaiters.push(stream);
    if (this.sendWaiters.length >= GATE_AFTER_WAITERS) this.readGate.hold();
  }

  /** While the gate holds and the socket has room, let sources in a few at a time, one turn per event-loop round. */
  private readonly admitGated = (): void => {
    this.admitScheduled = false;
    if (this.dead || !this.readGate.held) return;
    if (!this.canSendData() || this.sendWaiters.length >= GATE_AFTER_WAITERS) return; // the next 'drain' carries on
    if (this.readGate.admit(GATE_ADMIT)) {
      this.admitScheduled = true;
      setImmediate(this.admitGated);
    }
  };

  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  private afterWrite(cb: () => void): void {
    if (this.socket.writableNeedDrain) this.drainWaiters.push(cb);
    else cb();
  }

  private readonly onDrain = (): void => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    // In the order they stopped; one that hits the budget again queues itself anew (round robin).
    const streams = this.sendWaiters;
    this.sendWaiters = [];
    for (const s of streams) s.resumeSend();
    if (!this.admitScheduled) this.admitGated();
  };

  private takePingId(): number {
    let id = this.nextPingId;
    while (this.pings.has(id)) id = (id + 1) >>> 0;
    this.nextPingId = (id + 1) >>> 0;
    return id;
  }

  // ---- incoming ------------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.dead) return;
    noteSocketBytes(chunk.length);
    this.heartbeat?.received(this.clock.now());
    try {
      const frames = this.decoder.push(chunk);
      for (const frame of frames) {
        if (this.dead) return;
        this.handle(frame);
      }
    } catch (err) {
      if (!(err instanceof MuxError)) throw err;
      this.protocolError(err);
    }
  };

  private handle(frame: MuxFrame): void {
    switch (frame.type) {
      case MuxType.Data:
      case MuxType.WindowUpdate:
        this.handleStreamFrame(frame);
        return;
      case MuxType.Ping:
        if (frame.flags & MuxFlag.SYN) {
          if (this.socket.writableLength < REPLY_QUEUE_LIMIT) this.sendFrame(MuxType.Ping, MuxFlag.ACK, 0, frame.length);
        } else if (frame.flags & MuxFlag.ACK) {
          const pending = this.pings.get(frame.length);
          if (pending) {
            this.pings.delete(frame.length);
            pending.resolve(this.clock.now() - pending.started);
          }
        }
        return;
      case MuxType.GoAway:
        this.remoteGoAway = true;
        this.emit('goaway', frame.length);
        return;
    }
  }

  private handleStreamFrame(frame: MuxFrame): void {
    const id = frame.streamId;
    if (id === 0) throw new MuxError('protocol', `${frame.type === MuxType.Data ? 'Data' : 'WindowUpdate'} frame on stream 0`);
    const stream = this.streams.get(id);
    if (frame.flags & MuxFlag.SYN) {
      if (stream) throw new MuxError('protocol', `duplicate SYN for stream ${id}`);
      this.accept(frame);
      return;
    }
    // Unknown id: a stream already reset or closed here, with frames still in flight. Dropped, as yamux does.
    stream?.receive(frame);
  }

  private accept(frame: MuxFrame): void {
    const id = frame.streamId;
    const peerOdd = !this.client; // the client opens odd ids
    if ((id % 2 === 1) !== peerOdd) {
      throw new MuxError('protocol', `peer opened stream ${id}, but its ids are ${peerOdd ? 'odd' : 'even'}`);
    }
    if (frame.flags & MuxFlag.RST) return; // opened and reset at once: nothing to do
    if (this.localGoAway || this.streams.size >= this.maxStreams || this.listenerCount('stream') === 0) {
      // Refused; its data in flight is dropped.
      if (this.socket.writableLength < REPLY_QUEUE_LIMIT) this.sendFrame(MuxType.WindowUpdate, MuxFlag.RST, id, 0);
      return;
    }
    const state = new MuxStreamState(id, 'remote', { maxWindow: this.initialWindow });
    const stream = new MuxStream(this.host, state);
    this.streams.set(id, stream);
    this.sendOpen(state); // ACK now, as yamux's Accept() does
    stream.receive(frame); // the SYN frame's own payload and FIN
    this.emit('stream', stream);
  }

  private forget(stream: MuxStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  private readonly onEnd = (): void => {
    this.terminate(undefined, new MuxError('session-closed', 'mux session closed by the peer'), false);
  };

  private readonly onError = (err: Error): void => {
    this.terminate(err, new MuxError('session-closed', `mux session failed: ${err.message}`), false);
  };

  private readonly onClose = (): void => {
    this.terminate(undefined, new MuxError('session-closed', 'mux session connection closed'), false);
  };

  private protocolError(err: MuxError): void {
    if (this.dead) return;
    this.sendFrame(MuxType.GoAway, 0, 0, GoAwayCode.ProtocolError);
    this.terminate(err, new MuxError('session-closed', `mux session failed: ${err.message}`), true);
  }

  // ---- keep-alive ----------------------------------------------------------------------------

  private armKeepAlive(at: number): void {
    this.keepAliveTimer = setTimeout(this.keepAliveTick, Math.max(0, at - this.clock.now()));
    this.keepAliveTimer.unref();
  }

  private readonly keepAliveTick = (): void => {
    const hb = this.heartbeat;
    if (!hb || this.dead) return;
    const tick = hb.tick(this.clock.now());
    if (tick.dead) {
      this.terminate(
        new MuxError('keepalive-timeout', 'mux peer silent for too long'),
        new MuxError('session-closed', 'mux session failed: keep-alive timeout'),
        false,
      );
      return;
    }
    if (tick.sendPing) this.sendFrame(MuxType.Ping, MuxFlag.SYN, 0, this.takePingId());
    this.armKeepAlive(tick.nextTickAt);
  };

  // ---- teardown ------------------------------------------------------------------------------

  /**
   * Ends the session once: `error` is emitted (if any), every stream is destroyed with
   * `streamError` (none for a local close), the socket is ended gracefully (`end`, flushing a
   * GoAway) or destroyed.
   */
  private terminate(error: Error | undefined, streamError: Error | undefined, end: boolean): void {
    if (this.dead) return;
    this.dead = true;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.drainWaiters = [];
    this.sendWaiters = [];
    this.readGate.release();
    const socket = this.socket;
    if (this.corked) {
      this.corked = false;
      socket.uncork();
    }
    if (end && !socket.destroyed) {
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    } else {
      socket.destroy();
    }
    // The listeners stay (now no-ops): a late socket error must not crash the process.
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const s of streams) s.abort(streamError);
    const closed = new MuxError('session-closed', 'mux session closed');
    for (const p of this.pings.values()) p.reject(closed);
    this.pings.clear();
    process.nextTick(() => {
      if (error) this.emit('error', error);
      this.emit('close');
    });
  }
}

/** The 12-byte yamux header (shared/mux/frame.ts's layout) into `out`; values come from this file, always in range. */
function writeHeader(out: Buffer, type: MuxType, flags: number, streamId: number, length: number): void {
  out[0] = MUX_VERSION;
  out[1] = type;
  out.writeUInt16BE(flags, 2);
  out.writeUInt32BE(streamId, 4);
  out.writeUInt32BE(length, 8);
}
