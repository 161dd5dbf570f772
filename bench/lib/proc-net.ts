/** The kernel's socket tables (/proc/net/tcp, udp and their v6 twins), one row of columns per socket. */
import { readFileSync } from 'node:fs';

export type ProcNetTable = 'tcp' | 'tcp6' | 'udp' | 'udp6';

/**
 * Columns of every socket row (header skipped): sl, local_address, rem_address, st, tx:rx,
 * tr:when, retrnsmt, uid, timeout, inode, … (udp adds ref, pointer, drops). Missing tables are skipped.
 */
export function* procNetRows(tables: readonly ProcNetTable[]): Generator<string[]> {
  for (const table of tables) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 1) yield cols;
    }
  }
}

/** The port of a local_address column ("0100007F:1F90" -> 8080). */
export function procNetPort(address: string): number {
  return parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
}
