/**
 * Where `npm run build` (build/native.mjs) leaves the native addons under native/, looked for from
 * this file's folder and up to three above it: this module runs from io/ (tests), dist/io/ and the
 * CLI bundle in dist/bundle/burrow/. Every addon is optional: a missing one is `undefined`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `native/<name>/build/Release/<file>.node`, relative to the repository (or packaged app) root. */
export function nativeAddonPath(name: string, file: string): string {
  return path.join('native', name, 'build', 'Release', `${file}.node`);
}

export function findNativeAddon(relative: string, from = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i <= 3; i++) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}
