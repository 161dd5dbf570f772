/**
 * `burrow server` / `burrow client` inside a lab namespace, run as the executable would run them
 * (node with bin/burrow.js's shebang flags and environment), optionally under `--cpu-prof`, with
 * their JSON log lines handed to a listener (the punch benchmark reads the time of "p2p direct
 * path up" from them).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { burrowCli } from './burrow.js';
import { killTree, spawnTracked, type Tracked } from './proc.js';
import { shebangLaunch } from './shebang.js';
import { sleep } from './stats.js';

export interface LogLine {
  time?: number;
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface NetnsBurrow {
  proc: Tracked;
  /** Every JSON log line so far (stdout and stderr). */
  logs: LogLine[];
  /** SIGTERM, wait up to `graceMs` for a clean exit (a --cpu-prof profile is written then), then kill. True if it exited by itself in time. */
  stop(graceMs?: number): Promise<boolean>;
}

export interface LaunchOptions {
  /** Write a V8 CPU profile into this directory at exit. */
  cpuProfDir?: string;
  onLog?: (line: LogLine) => void;
}

/** Start `burrow <role> --config <dir>/<name>.yaml --json-logs` in `ns` with this config. */
export function startBurrowIn(ns: string, role: 'server' | 'client', dir: string, name: string, config: Record<string, unknown>, opts: LaunchOptions = {}): NetnsBurrow {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  const sb = shebangLaunch(burrowCli());
  const prof = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  const argv = ['netns', 'exec', ns, 'env', ...Object.entries(sb.env).map(([k, v]) => `${k}=${v}`), process.execPath, ...sb.nodeFlags, ...prof, burrowCli(), role, '--config', file, '--json-logs'];
  const proc = spawnTracked(`burrow ${role} ${name} (${ns})`, 'ip', argv, { cwd: dir });
  const logs: LogLine[] = [];
  for (const stream of [proc.child.stdout!, proc.child.stderr!]) {
    createInterface({ input: stream }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      try {
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        if (logs.length > 5000) logs.splice(0, 1000);
        opts.onLog?.(line);
      } catch {
        // not a log line
      }
    });
  }
  return {
    proc,
    logs,
    async stop(graceMs = 5000) {
      if (!proc.hasExited()) {
        try {
          process.kill(proc.pid, 'SIGTERM');
        } catch {
          // gone already
        }
        await Promise.race([proc.exited, sleep(graceMs)]);
      }
      const clean = proc.hasExited();
      await killTree(proc, 1000);
      return clean;
    },
  };
}
