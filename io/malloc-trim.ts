/**
 * I/O adapter: glibc's malloc_trim(0) through native/malloc-trim, a Node-API addon that
 * `npm run build` compiles (build/native.mjs). Where it was not built (no compiler, not glibc)
 * there is no trim, and Burrow runs as before; the addon's absence is not an error.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the build leaves the addon, relative to the repository (or packaged app) root. */
export const MALLOC_TRIM_ADDON = path.join('native', 'malloc-trim', 'build', 'Release', 'malloc_trim.node');

/**
 * The addon's path: looked for in this file's folder and up to three above it, since this module
 * runs from io/ (tests), dist/io/ and the CLI bundle in dist/bundle/burrow/.
 */
export function findMallocTrimAddon(from = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i <= 3; i++) {
    const candidate = path.join(dir, MALLOC_TRIM_ADDON);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** `trim()` hands the C heap's free pages back to the kernel; true if it returned any. Undefined when the addon is missing or unusable. */
export function loadHeapTrim(addonPath = findMallocTrimAddon()): (() => boolean) | undefined {
  if (addonPath === undefined) return undefined;
  try {
    const addon = createRequire(import.meta.url)(addonPath) as { trim?: unknown };
    const trim = addon.trim;
    if (typeof trim !== 'function') return undefined;
    // Without glibc the addon answers undefined: nothing to trim there.
    if (trim() === undefined) return undefined;
    return () => trim() === true;
  } catch {
    return undefined;
  }
}
