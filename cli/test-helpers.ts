/** Test support for the command modules: capture what a command prints. */
import { vi } from 'vitest';

/** Silences console.log and collects console.error (restore with vi.restoreAllMocks()). */
export function quiet(): { err: () => string } {
  let err = '';
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += a.join(' ') + '\n'));
  vi.spyOn(console, 'log').mockImplementation(() => {});
  return { err: () => err };
}
