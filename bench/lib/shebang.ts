/** What a script's shebang line gives a user: the node flags and environment `bin/burrow.js` runs with. */
import { readFileSync } from 'node:fs';

/** What the script's `#!/usr/bin/env -S [NAME=VALUE…] node [flags…]` line sets: environment and node flags. */
export function shebangLaunch(script: string): { env: Record<string, string>; nodeFlags: string[] } {
  let first = '';
  try {
    first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    // unreadable: no extras
  }
  const m = /^#!.*?\benv\s+-S\s+(.*?)\bnode\b(.*)$/.exec(first) ?? /^#!.*?()\bnode\b(.*)$/.exec(first);
  if (!m) return { env: {}, nodeFlags: [] };
  const env: Record<string, string> = {};
  for (const pair of m[1]!.trim().split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { env, nodeFlags: m[2]!.trim().split(/\s+/).filter(Boolean) };
}

