import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findMallocTrimAddon, loadHeapTrim } from './malloc-trim.js';

const MB = 1024 * 1024;
// `npm run build` builds the addon (build/native.mjs); CI must not run these without it.
const addon = findMallocTrimAddon();
if (!addon && process.env.CI === 'true') throw new Error('native/malloc-trim is not built (npm run build:native), and CI must not skip its tests');

describe.skipIf(!addon)('loadHeapTrim (native/malloc-trim)', () => {
  it('gives back the free pages a burst left between live blocks of the C heap', async () => {
    const trim = loadHeapTrim()!;
    expect(trim).toBeTypeOf('function');
    const gc = global.gc;
    if (!gc) throw new Error('needs --expose-gc (vitest.config.ts passes it to the test workers)');
    gc();
    trim();
    const base = process.memoryUsage.rss();
    // 2000 socket-read-sized blocks (64 KiB: below glibc's mmap threshold, so on its heap), every
    // 50th kept alive: the rest, freed, leaves holes that free() alone never returns.
    let blocks: Buffer[] | undefined = Array.from({ length: 2000 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1));
    const kept = blocks.filter((_, i) => i % 50 === 49);
    blocks = undefined;
    gc();
    // V8 may free ArrayBuffer memory on a background thread after the collection: let it finish.
    await new Promise((r) => setTimeout(r, 200));
    gc();
    const freed = process.memoryUsage.rss();
    expect(freed - base).toBeGreaterThan(60 * MB); // still resident after the collection
    expect(trim()).toBe(true);
    const trimmed = process.memoryUsage.rss();
    expect(freed - trimmed).toBeGreaterThan(50 * MB);
    expect(trimmed - base).toBeLessThan(25 * MB); // back near where it started (the kept blocks are 2.6 MB)
    expect(kept.every((b) => b[0] === 1 && b[65535] === 1)).toBe(true); // live blocks untouched
  });
});

describe('loadHeapTrim without its addon', () => {
  it('is undefined when the addon is missing or is not an addon, never an error', () => {
    expect(loadHeapTrim(path.join(tmpdir(), 'no-such-dir', 'malloc_trim.node'))).toBeUndefined();
    const bogus = path.join(tmpdir(), `bogus-${process.pid}.node`);
    writeFileSync(bogus, 'not a shared object');
    expect(loadHeapTrim(bogus)).toBeUndefined();
    expect(findMallocTrimAddon(tmpdir())).toBeUndefined();
  });
});
