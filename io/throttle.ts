/**
 * Stream adapter for TokenBucket: a pass-through Transform limited to the bucket's rate.
 * Several throttles may share one bucket (all connections of a tunnel), splitting its rate.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { TokenBucket } from '../shared/token-bucket.js';

/** While waiting, wake up once this many bytes (or the rest of the chunk, or the burst) are available. */
const WAKE_BYTES = 16 * 1024;

/** Upper bound on one wait, so a shared bucket drained by others is re-checked regularly. */
const MAX_WAIT_MS = 1000;

class ThrottleTransform extends Transform {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly clock: () => number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pump(chunk, 0, callback);
  }

  /** Push as much of chunk[offset..] as the bucket grants, then wait for more; the callback is held until done. */
  private pump(chunk: Buffer, offset: number, callback: TransformCallback): void {
    this.timer = undefined;
    if (this.destroyed) return;
    const now = this.clock();
    const granted = this.bucket.take(chunk.length - offset, now);
    if (granted > 0) {
      this.push(offset === 0 && granted === chunk.length ? chunk : chunk.subarray(offset, offset + granted));
      offset += granted;
    }
    if (offset >= chunk.length) {
      callback();
      return;
    }
    const wait = Math.min(MAX_WAIT_MS, Math.max(1, this.bucket.waitMs(Math.min(chunk.length - offset, WAKE_BYTES), now)));
    this.timer = setTimeout(() => this.pump(chunk, offset, callback), wait);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    callback(error);
  }
}

/**
 * A Transform that passes bytes through no faster than the bucket allows, splitting big chunks; it
 * holds its callback while waiting so upstream backpressure applies (bounded memory). `clock` is the
 * monotonic clock the bucket was created on (milliseconds).
 */
export function createThrottle(bucket: TokenBucket, clock: () => number): Transform {
  return new ThrottleTransform(bucket, clock);
}
