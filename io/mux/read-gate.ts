/**
 * I/O adapter: the sources (user sockets) that feed one mux session's streams, stopped while the
 * session's socket is congested by many streams at once and let back in a few at a time.
 *
 * Why: a stream's window and the session's send budget bound what is queued on the mux socket,
 * not what was already read from the sources. When thousands of user connections send at once,
 * each socket read takes up to 64 KiB out of the kernel before the mux can ship any of it: on the
 * server, 4403 streams held 288 MB waiting for the send budget during the 5000-connection burst
 * (issue 12), and the C allocator kept most of that after it was freed. Stopped, a socket leaves
 * its data in the kernel's receive buffer (TCP's flow control then slows its sender), and the
 * process holds only what it is about to send.
 *
 * The session calls `hold()` when congestion starts, `admit(n)` while its socket has room, and
 * `release()` when it dies. Sources added while the gate holds queue at once. Admitted sources
 * read freely until the next `hold()`, which can only come once all queued ones were let in, so
 * each source waits at most one round.
 */
import type { Readable } from 'node:stream';

interface ReadingHandle {
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
}

const handleOf = (src: Readable): ReadingHandle | null | undefined => (src as Readable & { _handle?: ReadingHandle | null })._handle;

/**
 * `pause()` alone does not stop a socket from reading: node keeps reading into its buffer (one
 * 64 KiB read) before it stops. Stop the handle as node itself does when a push is refused
 * (lib/internal/stream_base_commons.js, onStreamRead: `reading = false; readStop()`). True if
 * the handle was stopped (then `startReading` must start it: the stream may still count a read
 * in progress, and would not ask its `_read` again).
 */
export function stopReading(src: Readable): boolean {
  src.pause();
  const handle = handleOf(src);
  if (!handle || handle.reading !== true || typeof handle.readStop !== 'function') return false;
  handle.reading = false;
  handle.readStop();
  return true;
}

/** Undoes `stopReading` (as net.js's tryReadStart does: `reading = true; readStart()`). */
export function startReading(src: Readable, handleStopped: boolean): void {
  src.resume();
  const handle = handleOf(src);
  if (!handleStopped || src.destroyed || !handle || handle.reading !== false || typeof handle.readStart !== 'function') return;
  handle.reading = true;
  handle.readStart();
}

export class ReadGate {
  private readonly sources = new Set<Readable>();
  /** Stopped by the gate, in the order they will be let back in (with: was its handle stopped). */
  private queue: Array<{ src: Readable; handleStopped: boolean }> = [];
  private head = 0;
  private holding = false;

  /** True while sources wait (from `hold()` until the last one was admitted). */
  get held(): boolean {
    return this.holding;
  }

  /** Sources waiting for `admit`. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** A source feeding one of the session's streams (call once it is piped, i.e. flowing). */
  add(src: Readable): void {
    if (this.sources.has(src) || src.destroyed) return;
    this.sources.add(src);
    src.on('close', () => this.remove(src)); // 'on': it fires once, and once() costs a wrapper per source
    if (this.holding) this.stop(src);
  }

  remove(src: Readable): void {
    this.sources.delete(src);
  }

  /** Congestion: every flowing source stops reading and queues. No-op while already holding. */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    for (const src of this.sources) this.stop(src);
    if (this.waiting === 0) this.holding = false;
  }

  /** Let up to `n` queued sources read again; true while more are waiting. */
  admit(n: number): boolean {
    let admitted = 0;
    while (admitted < n && this.head < this.queue.length) {
      const { src, handleStopped } = this.queue[this.head++]!;
      if (!this.sources.has(src) || src.destroyed) continue;
      startReading(src, handleStopped);
      admitted++;
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.holding = false;
    }
    return this.holding;
  }

  /** The session is gone: everyone reads again (their splices then see the streams fail). */
  release(): void {
    this.admit(Number.POSITIVE_INFINITY);
    this.sources.clear();
  }

  private stop(src: Readable): void {
    // Only flowing ones: a source its pipe paused (its stream is full) resumes on that stream's
    // 'drain', which the session's send budget already paces.
    if (src.readableFlowing !== true) return;
    this.queue.push({ src, handleStopped: stopReading(src) });
  }
}
