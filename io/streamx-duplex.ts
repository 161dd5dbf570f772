/**
 * A Node Duplex in front of a streamx duplex (what @hyperswarm/secret-stream and udx-native give),
 * so io/splice.ts can treat a direct-path stream like a socket: `readableEnded`/`writableFinished`,
 * Node's pipe() and half-close. A FIN stays a FIN (end() both ways); an error or a close before both
 * ends finished is a reset: the wrapper is destroyed with ConnectionAborted, and destroying the
 * wrapper with an error destroys the inner stream with it (udx then resets the peer's stream).
 */
import { Duplex } from 'node:stream';
import { ConnectionAborted } from './splice.js';

/** The parts of a streamx duplex used here. */
export interface StreamxDuplex {
  write(data: Buffer): boolean;
  end(): void;
  destroy(err?: Error): void;
  pause(): void;
  resume(): void;
  on(event: 'data', l: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'finish' | 'close' | 'drain', l: () => void): unknown;
  on(event: 'error', l: (err: Error) => void): unknown;
  once(event: 'drain', l: () => void): unknown;
}

/** Largest write passed to the inner stream at once. */
const MAX_WRITE = 64 * 1024;

export interface DuplexCounters {
  /** Bytes read from the inner stream. */
  onIn?: (n: number) => void;
  /** Bytes written to it. */
  onOut?: (n: number) => void;
}

export function nodeDuplexOf(inner: StreamxDuplex, counters: DuplexCounters = {}): Duplex {
  let innerEnded = false;
  let innerFinished = false;
  const outer = new Duplex({
    allowHalfOpen: true,
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      counters.onOut?.(chunk.length);
      // secret-stream encrypts each write as one message (at most 16 MiB - 1): write in slices
      let ok = true;
      for (let at = 0; at < chunk.length; at += MAX_WRITE) ok = inner.write(chunk.subarray(at, at + MAX_WRITE));
      if (ok) callback();
      else inner.once('drain', () => callback());
    },
    final(callback) {
      // finished only once the inner stream is (its FIN is out): a destroy before that would reset the peer
      if (innerFinished) return callback();
      inner.on('finish', () => callback());
      inner.end();
    },
    destroy(err, callback) {
      // a clean close after both FINs needs nothing; anything else resets the peer
      if (!(innerEnded && innerFinished)) inner.destroy(err ?? new ConnectionAborted());
      callback(err);
    },
  });
  inner.on('data', (chunk) => {
    counters.onIn?.(chunk.length);
    if (!outer.push(chunk)) inner.pause();
  });
  inner.on('end', () => {
    innerEnded = true;
    outer.push(null);
  });
  inner.on('finish', () => (innerFinished = true));
  inner.on('error', (err) => outer.destroy((err as { code?: string }).code === 'ECONNRESET' ? new ConnectionAborted() : err));
  inner.on('close', () => {
    // after both FINs the wrapper closes by itself once its reader has taken the end (autoDestroy)
    if (!outer.destroyed && !(innerEnded && innerFinished)) outer.destroy(new ConnectionAborted());
  });
  return outer;
}
