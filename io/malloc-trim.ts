/**
 * I/O adapter: glibc's malloc_trim(0) through native/malloc-trim, a Node-API addon that
 * `npm run build` compiles (build/native.mjs). Where it was not built (no compiler, not glibc)
 * there is no trim, and Burrow runs as before; the addon's absence is not an error.
 */
import { createRequire } from 'node:module';
import { findNativeAddon, nativeAddonPath } from './native-addon.js';

/** Where the build leaves the addon, relative to the repository (or packaged app) root. */
export const MALLOC_TRIM_ADDON = nativeAddonPath('malloc-trim', 'malloc_trim');

/** The addon's path (io/native-addon.ts), or undefined where it was not built. */
export function findMallocTrimAddon(from?: string): string | undefined {
  return findNativeAddon(MALLOC_TRIM_ADDON, from);
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
