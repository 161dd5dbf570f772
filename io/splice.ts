/**
 * Join two byte streams both ways: the relay's data path.
 *
 * - Backpressure: the reader pauses while the writer's buffer is full (relay(), as `pipe()` does),
 *   so a slow reader on one side never makes this process buffer without bound.
 * - Read gate: a socket spliced to a mux stream stops reading while that mux session is congested
 *   (MuxStream.gateSource), so thousands of connections sending at once do not all land in memory.
 * - Half-close: when one side ends its writing (FIN), the other side's writing is ended too,
 *   and the opposite direction keeps flowing until it ends as well (sockets need allowHalfOpen).
 *   A FIN is passed on only when one really arrived (see confirmFin).
 * - Abort: an error on either side (ECONNRESET, a mux stream reset by its peer, the mux session
 *   dying, a failing transform) or a close before both directions ended cleanly resets the other
 *   side (`resetStream`): its peer sees a reset, as with direct TCP, never a clean end that would
 *   make a truncated transfer look complete.
 */
import { Socket } from 'node:net';
import type { Duplex, Transform } from 'node:stream';
import { MuxStream } from './mux/session.js';
import { noteSocketBytes } from './young-gc-pacer.js';

export interface SpliceOptions {
  /** Called with each chunk's size as it moves a -> b and b -> a. */
  onAToB?: (bytes: number) => void;
  onBToA?: (bytes: number) => void;
  /** Optional transforms (e.g. bandwidth throttles) inserted in each direction. */
  aToB?: Transform;
  bToA?: Transform;
  /**
   * Asked before a FIN that arrived on a (or b) as a socket is passed on; false makes it an abort.
   * For a raw work connection: is the Burrow process at its far end still alive (io/peer-alive.ts)?
   * Not asked for a mux stream, whose FIN is its own yamux flag.
   */
  confirmFinFromA?: () => Promise<boolean>;
  confirmFinFromB?: () => Promise<boolean>;
}

/**
 * Writable high-water mark for the sockets a relay splices (a user's connection on the server, the
 * connection to the local service on the client). Writes to them are corked per event-loop turn
 * (coalesceWrites), and a turn brings several 16 KiB TLS records or 64 KiB mux frames: at node's
 * default 16 KiB the second write of a turn returned false, pipe() paused the mux stream, and the
 * rest went out one write(2) per record in the turns after (strace: writev of 2, then 16 KiB
 * writes). At 256 KiB a turn's data goes out in one writev. Bounded as before by the stream's window.
 */
export const SPLICED_SOCKET_HIGH_WATER_MARK = 256 * 1024;

/** How a splice ended: 'closed' when both directions ended with a FIN, 'aborted' when one side was reset or lost. */
export type SpliceOutcome = 'closed' | 'aborted';

/** The error an aborted stream (one without a reset of its own, such as a transform) is destroyed with. */
export class ConnectionAborted extends Error {
  override readonly name = 'ConnectionAborted';
  readonly code = 'ECONNRESET';
  constructor() {
    super('the other end of the connection was reset');
  }
}

/**
 * Destroy a stream so that its peer sees a reset rather than a FIN:
 * - a TCP socket: RST (`resetAndDestroy()`);
 * - a TLS socket: RST on the TCP socket under it (a bare destroy() would send a FIN without
 *   close_notify, which Node reports to the peer as a clean end);
 * - anything else (a mux stream, whose destroy() sends a yamux RST; a transform): destroyed with
 *   an error.
 */
export function resetStream(s: Duplex): void {
  if (s.destroyed) return;
  if (s instanceof Socket) {
    const tcp = tcpSocketOf(s);
    if (tcp) {
      if (!tcp.destroyed) tcp.resetAndDestroy();
      if (tcp !== s) s.destroy();
      return;
    }
  }
  s.destroy(new ConnectionAborted());
}

/** The socket itself if it sits directly on a TCP handle; for TLS, the TCP socket it wraps (Node keeps it as `_parent`). */
function tcpSocketOf(s: Socket): Socket | undefined {
  const handle = (s as Socket & { _handle?: { constructor?: { name?: string } } | null })._handle;
  if (handle?.constructor?.name === 'TCP') return s;
  const parent = (s as Socket & { _parent?: unknown })._parent;
  return parent instanceof Socket ? tcpSocketOf(parent) : undefined;
}

/**
 * After 'end' on a TCP (or TLS-over-TCP) socket: was that a FIN, or a reset? libuv reports a
 * reset that arrives while unread data is queued as end-of-stream (it takes POLLHUP after a
 * partial read as EOF), with the error still pending in the kernel. A zero-byte write reads it
 * back: it fails on a reset connection (state CLOSED) and succeeds after a FIN (CLOSE_WAIT).
 * Anything else (a mux stream carries its FIN in-band) is answered at once.
 */
function confirmFin(s: Duplex, peerAlive: (() => Promise<boolean>) | undefined, done: (fin: boolean) => void): void {
  if (!(s instanceof Socket)) {
    done(true);
    return;
  }
  const then = (fin: boolean) => {
    if (!fin || !peerAlive) done(fin);
    else peerAlive().then(done, () => done(false));
  };
  const tcp = tcpSocketOf(s);
  if (!tcp || tcp.destroyed || !s.writable || !tcp.writable) then(true);
  else tcp.write(Buffer.alloc(0), (err) => then(!err));
}

/** Resolves when both sides are closed, saying how. Never rejects: an error resets the other side. */
export function splice(a: Duplex, b: Duplex, options: SpliceOptions = {}): Promise<SpliceOutcome> {
  return new Promise((resolve) => {
    let closed = 0;
    let aborted = false;
    const streams = [a, b, options.aToB, options.bToA].filter((s): s is Duplex => s !== undefined);
    const abort = () => {
      if (aborted) return;
      aborted = true;
      for (const s of streams) resetStream(s);
    };
    for (const s of streams) s.on('error', abort);
    // 'on', not 'once': each fires once anyway, and a once() is a bound wrapper and a state object
    // more per listener (14 of them per relayed connection, in a heap snapshot of 1000).
    const onClose = (side: Duplex) => () => {
      // A close that is not after a clean end in both directions is an abort.
      if (!side.readableEnded || !side.writableFinished) abort();
      if (++closed === 2) resolve(aborted ? 'aborted' : 'closed');
    };
    a.on('close', onClose(a));
    b.on('close', onClose(b));
    // A FIN is passed on (ending the next writer) only once it is confirmed to be one.
    const forward = (from: Duplex, to: Duplex, onBytes: ((bytes: number) => void) | undefined) => {
      relay(from, to, onBytes);
      const peerAlive = from === a ? options.confirmFinFromA : options.confirmFinFromB;
      from.on('end', () => confirmFin(from, peerAlive, (fin) => (fin ? to.end() : abort())));
    };
    if (options.aToB) {
      forward(a, options.aToB, options.onAToB);
      coalesceWrites(options.aToB, b);
      options.aToB.pipe(b);
    } else forward(a, b, options.onAToB);
    if (options.bToA) {
      forward(b, options.bToA, options.onBToA);
      coalesceWrites(options.bToA, a);
      options.bToA.pipe(a);
    } else forward(b, a, options.onBToA);
    // A socket feeding a mux stream stops reading while that session is congested (io/mux/read-gate.ts).
    if (b instanceof MuxStream && !(a instanceof MuxStream)) b.gateSource(a);
    if (a instanceof MuxStream && !(b instanceof MuxStream)) a.gateSource(b);
  });
}

/**
 * `from`'s data written to `to`, with backpressure, in one 'data' listener per direction (what
 * `pipe()` and three listeners of ours did: a listener more is an array copy per chunk in emit, and
 * pipe() keeps ten closures per direction). Per chunk:
 * - counted: for io/young-gc-pacer.ts when it is a fresh Buffer read from a socket (a mux stream's
 *   chunks are views of its session's, which the session counts), and for `onBytes`;
 * - written, the socket corked for the rest of the turn (corkForTurn);
 * - when the write is refused (`to` is past its high-water mark), `from` pauses until `to` drains.
 * `from` flows at once, even if it came paused (a socket handed over by a framed reader), unless
 * `to` is already full. Nothing is written to a destroyed `to`: the splice is aborting then.
 */
function relay(from: Duplex, to: Duplex, onBytes: ((bytes: number) => void) | undefined): void {
  const fresh = !(from instanceof MuxStream);
  const cork = to instanceof Socket ? corkForTurn(to) : undefined;
  let waiting = false;
  from.on('data', (chunk: Buffer) => {
    if (fresh) noteSocketBytes(chunk.length);
    if (onBytes !== undefined) onBytes(chunk.length);
    if (to.destroyed) return;
    if (cork !== undefined) cork();
    // Paused at every refused write, not only the first: something else (the read gate admitting
    // it) may have resumed `from` while `to` is still full.
    if (!to.write(chunk)) {
      waiting = true;
      from.pause();
    }
  });
  to.on('drain', () => {
    if (!waiting) return;
    waiting = false;
    from.resume();
  });
  if (to.writableNeedDrain) {
    waiting = true;
    from.pause();
  } else from.resume();
}

/**
 * Writes to a socket that arrive in one turn of the event loop go out in one writev(2): the
 * returned function corks the socket at the turn's first chunk and uncorks it once the turn's I/O
 * callbacks are done (setImmediate). A TLS read hands over its 16 KiB records one by one, and a mux
 * connection its frames, so without this each record or frame is a write(2) of its own to the
 * local socket. The chunks are not copied. Called before each write: by relay(), and for a
 * transform's output piped to a socket (coalesceWrites).
 */
function corkForTurn(to: Socket): () => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    if (!to.destroyed) to.uncork();
  };
  return () => {
    if (corked || to.destroyed) return;
    corked = true;
    to.cork();
    setImmediate(uncork);
  };
}

/** A transform piped to a socket: its output corked per turn (registered before pipe()'s own 'data' listener, so before the write). */
function coalesceWrites(from: Duplex, to: Duplex): void {
  if (to instanceof Socket) from.on('data', corkForTurn(to));
}
