/** Test support for the command modules: capture what a command prints. */
import { vi } from 'vitest';

/** Collects console.log and console.error instead of printing them (restore with vi.restoreAllMocks()). */
export function quiet(): { err: () => string; out: () => string } {
  let err = '';
  let out = '';
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += a.join(' ') + '\n'));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  return { err: () => err, out: () => out };
}
