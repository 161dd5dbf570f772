import { describe, it, expect, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenBucket } from '../shared/token-bucket.js';
import { createThrottle } from './throttle.js';

/** Splits `data` into chunks of `size` bytes as a Readable. */
function source(data: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks, { objectMode: false });
}

/** Collects everything written into one Buffer. */
function sink(): { stream: Writable; result: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        parts.push(chunk);
        cb();
      },
    }),
    result: () => Buffer.concat(parts),
  };
}

describe('createThrottle', () => {
  it('passes 300 KB through a 1 MB/s bucket with 64 KB burst no faster than the rate, bytes intact', async () => {
    const data = randomBytes(300 * 1024);
    const bucket = new TokenBucket(1_000_000, 64 * 1024, Date.now());
    const out = sink();
    const started = performance.now();
    await pipeline(source(data, 50_000), createThrottle(bucket), out.stream);
    const elapsed = performance.now() - started;
    // (300 KiB - 64 KiB burst) / 1 MB/s ≈ 242 ms; loose lower bound only.
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(out.result().equals(data)).toBe(true);
  });

  it('splits chunks bigger than the burst', async () => {
    const data = randomBytes(40_000);
    const bucket = new TokenBucket(10_000_000, 8_192, Date.now());
    const seen: number[] = [];
    const throttle = createThrottle(bucket);
    throttle.on('data', (c: Buffer) => seen.push(c.length));
    const out = sink();
    await pipeline(source(data, data.length), throttle, out.stream);
    expect(Math.max(...seen)).toBeLessThanOrEqual(8_192);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(out.result().equals(data)).toBe(true);
  });

  it('shares one bucket between connections: two 150 KB streams together are limited like one 300 KB stream', async () => {
    const a = randomBytes(150 * 1024);
    const b = randomBytes(150 * 1024);
    const bucket = new TokenBucket(1_000_000, 64 * 1024, Date.now());
    const outA = sink();
    const outB = sink();
    const started = performance.now();
    await Promise.all([
      pipeline(source(a, 16_384), createThrottle(bucket), outA.stream),
      pipeline(source(b, 16_384), createThrottle(bucket), outB.stream),
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
    expect(outA.result().equals(a)).toBe(true);
    expect(outB.result().equals(b)).toBe(true);
  });

  it('holds its write callback while waiting for tokens, so writes report backpressure', async () => {
    const bucket = new TokenBucket(10_000, 4_096, Date.now()); // 10 bytes per ms: the chunk needs ~6 s
    const throttle = createThrottle(bucket);
    throttle.resume(); // the reader is fast; only the bucket limits
    let drained = false;
    throttle.on('drain', () => (drained = true));
    expect(throttle.write(Buffer.alloc(64 * 1024))).toBe(false);
    await sleep(100);
    // ~4 KiB burst + ~1 KB refilled went through; the rest of the chunk is still held.
    expect(drained).toBe(false);
    expect(throttle.writableLength).toBe(64 * 1024);
    throttle.destroy();
  });

  it('does not buffer without bound when the readable side is not consumed', async () => {
    // A fast bucket, so only the stalled reader can hold the producer back.
    const bucket = new TokenBucket(1e12, 1 << 20, Date.now());
    const throttle = createThrottle(bucket);
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024);
    const endless = new Readable({
      read() {
        // Stop at 64 MB so a broken throttle fails the assertion below instead of exhausting memory.
        if (produced >= 64 * 1024 * 1024) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    endless.pipe(throttle); // nobody reads from `throttle`
    await sleep(200);
    // Unthrottled, the producer would have made gigabytes by now.
    expect(produced).toBeLessThanOrEqual(1024 * 1024);
    expect(throttle.readableLength + throttle.writableLength).toBeLessThanOrEqual(512 * 1024);
    expect(endless.isPaused() || throttle.writableNeedDrain).toBe(true);
    endless.destroy();
    throttle.destroy();
  });

  it('a destroyed throttle stops pushing and ends its timer', async () => {
    const bucket = new TokenBucket(10_000, 1_000, Date.now()); // 10 bytes per ms
    const throttle = createThrottle(bucket);
    let received = 0;
    throttle.on('data', (c: Buffer) => (received += c.length));
    throttle.on('error', () => {});
    throttle.write(Buffer.alloc(100_000));
    await sleep(50);
    const before = received;
    expect(before).toBeGreaterThan(0);
    throttle.destroy();
    await sleep(100);
    expect(received).toBe(before);
  });

  it('uses the injected clock', async () => {
    let fake = 0;
    const bucket = new TokenBucket(1000, 100, 0);
    const throttle = createThrottle(bucket, () => fake);
    let received = 0;
    throttle.on('data', (c: Buffer) => (received += c.length));
    throttle.write(Buffer.alloc(200));
    await sleep(20);
    expect(received).toBe(100); // the fake clock has not moved: only the burst
    await sleep(150);
    expect(received).toBe(100); // real time passing does not matter
    fake = 100; // 100 ms later by the injected clock: 100 more tokens
    await vi.waitFor(() => expect(received).toBe(200), { timeout: 5_000, interval: 10 });
    throttle.destroy();
  });
});
