import { afterEach, describe, it, expect, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ManualClock } from '../shared/clock.js';
import { TokenBucket } from '../shared/token-bucket.js';
import { createThrottle } from './throttle.js';

/** The real monotonic clock, for the tests that measure a real rate. */
const realClock = (): number => performance.now();

/**
 * Fake time for the tests that say "nothing more passed": vitest's fake setTimeout and
 * performance.now() move together, so the throttle's timers and its clock agree, and a test
 * advances time by hand instead of sleeping. `settle()` lets stream callbacks queued with
 * nextTick/setImmediate run; no time passes in it.
 */
function fakeTime(): { clock: () => number; advance: (ms: number) => Promise<void>; settle: () => Promise<void> } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };
  return {
    clock: () => performance.now(),
    advance: async (ms) => {
      await vi.advanceTimersByTimeAsync(ms);
      await settle();
    },
    settle,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

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
    const bucket = new TokenBucket(1_000_000, 64 * 1024, realClock());
    const out = sink();
    const started = performance.now();
    await pipeline(source(data, 50_000), createThrottle(bucket, realClock), out.stream);
    const elapsed = performance.now() - started;
    // (300 KiB - 64 KiB burst) / 1 MB/s ≈ 242 ms; loose lower bound only.
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(out.result().equals(data)).toBe(true);
  });

  it('splits chunks bigger than the burst', async () => {
    const data = randomBytes(40_000);
    const bucket = new TokenBucket(10_000_000, 8_192, realClock());
    const seen: number[] = [];
    const throttle = createThrottle(bucket, realClock);
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
    const bucket = new TokenBucket(1_000_000, 64 * 1024, realClock());
    const outA = sink();
    const outB = sink();
    const started = performance.now();
    await Promise.all([
      pipeline(source(a, 16_384), createThrottle(bucket, realClock), outA.stream),
      pipeline(source(b, 16_384), createThrottle(bucket, realClock), outB.stream),
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
    expect(outA.result().equals(a)).toBe(true);
    expect(outB.result().equals(b)).toBe(true);
  });

  it('holds its write callback while waiting for tokens, so writes report backpressure', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(10_000, 4_096, time.clock()); // 10 bytes per ms: the chunk needs ~6 s
    const throttle = createThrottle(bucket, time.clock);
    let passed = 0;
    throttle.on('data', (c: Buffer) => (passed += c.length));
    let drained = false;
    throttle.on('drain', () => (drained = true));
    expect(throttle.write(Buffer.alloc(64 * 1024))).toBe(false);
    await time.settle();
    expect(passed).toBe(4_096); // the burst
    // 400 ms later: 4000 bytes more have accrued, but the throttle waits for a whole burst's worth (410 ms).
    await time.advance(400);
    expect(passed).toBe(4_096);
    expect(drained).toBe(false);
    expect(throttle.writableLength).toBe(64 * 1024); // the chunk is still held
    await time.advance(10);
    expect(passed).toBe(8_192);
    // (64 KiB - 4 KiB) at 10 bytes per ms: the whole chunk has passed after 6144 ms, and only then does it drain.
    await time.advance(6_144 - 410 - 1);
    expect(drained).toBe(false);
    await time.advance(1_000);
    expect(passed).toBe(64 * 1024);
    expect(drained).toBe(true);
    throttle.destroy();
  });

  it('does not buffer without bound when the readable side is not consumed', async () => {
    // A fast bucket, so only the stalled reader can hold the producer back.
    const bucket = new TokenBucket(1e12, 1 << 20, realClock());
    const throttle = createThrottle(bucket, realClock);
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
    // Real time on purpose: the producer is only held back by backpressure, and 200 ms is ample for an
    // unthrottled one to make gigabytes.
    await new Promise((r) => setTimeout(r, 200));
    // Unthrottled, the producer would have made gigabytes by now.
    expect(produced).toBeLessThanOrEqual(1024 * 1024);
    expect(throttle.readableLength + throttle.writableLength).toBeLessThanOrEqual(512 * 1024);
    expect(endless.isPaused() || throttle.writableNeedDrain).toBe(true);
    endless.destroy();
    throttle.destroy();
  });

  it('a destroyed throttle stops pushing and ends its timer', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(10_000, 1_000, time.clock()); // 10 bytes per ms
    const throttle = createThrottle(bucket, time.clock);
    let received = 0;
    throttle.on('data', (c: Buffer) => (received += c.length));
    throttle.on('error', () => {});
    throttle.write(Buffer.alloc(100_000));
    await time.advance(50);
    expect(received).toBe(1_000); // the burst; the next 1000 bytes take 100 ms
    expect(vi.getTimerCount()).toBe(1); // waiting for them
    throttle.destroy();
    expect(vi.getTimerCount()).toBe(0);
    await time.advance(10_000);
    expect(received).toBe(1_000);
  });

  it('uses the injected clock', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // timers fake, the throttle's clock separate
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(1000, 100, clock.now());
    const throttle = createThrottle(bucket, () => clock.now());
    let received = 0;
    throttle.on('data', (c: Buffer) => (received += c.length));
    throttle.write(Buffer.alloc(200));
    await vi.advanceTimersByTimeAsync(20);
    expect(received).toBe(100); // the injected clock has not moved: only the burst
    await vi.advanceTimersByTimeAsync(5_000);
    expect(received).toBe(100); // timers firing (as real time would) do not matter
    clock.advance(100); // 100 ms later by the injected clock: 100 more tokens
    await vi.advanceTimersByTimeAsync(1_000);
    expect(received).toBe(200);
    throttle.destroy();
  });
});
