/** Default state directories: $XDG_STATE_HOME/burrow/<kind> (or ~/.local/state/burrow/<kind>). */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultStateDir(kind: 'server' | 'client'): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'burrow', kind);
}
