/** The services every path forwards to: a Node echo server (own process) and `iperf3 -s`. */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { HOST, waitListening } from './ports.js';
import { assertRunning, killTree, spawnTracked, type Tracked } from './proc.js';
import { distBench } from './root.js';

export interface Target {
  port: number;
  proc: Tracked;
  stop(): Promise<void>;
}

/** Start dist/bench/echo-server.js on a free port (or the given one). */
export async function startEchoServer(port = 0): Promise<Target> {
  const script = path.join(distBench, 'echo-server.js');
  if (!existsSync(script)) throw new Error(`${script} missing: run npm run build`);
  const proc = spawnTracked('echo-server', process.execPath, [script, String(port)]);
  const actual = await new Promise<number>((resolve, reject) => {
    let line = '';
    const timer = setTimeout(() => reject(new Error(`echo server did not start:\n${proc.output()}`)), 10_000);
    proc.child.stdout?.on('data', (d: Buffer) => {
      line += d.toString('utf8');
      const nl = line.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line.slice(0, nl)) as { port: number }).port);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
    void proc.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`echo server exited:\n${proc.output()}`));
    });
  });
  return { port: actual, proc, stop: () => killTree(proc) };
}

/** Start `iperf3 -s` bound to loopback on the given port. */
export async function startIperfServer(port: number): Promise<Target> {
  const proc = spawnTracked('iperf3 -s', 'iperf3', ['-s', '-B', HOST, '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitListening(port, 10_000, () => assertRunning(proc));
  return { port, proc, stop: () => killTree(proc) };
}
