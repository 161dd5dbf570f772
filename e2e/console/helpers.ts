/** What the console e2e specs share: processes on loopback, ports, pushing bytes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/burrow.js');
export const SHOTS = join(ROOT, 'e2e/screenshots');

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((r) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => (c.destroy(), r(true)));
    c.on('error', () => r(false));
  });
}

/** Sends `bytes` through the public port and waits for the echo to come back in full. */
export function pushThrough(port: number, bytes: number): Promise<number> {
  return new Promise((r, reject) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let got = 0;
    c.on('data', (d) => {
      got += d.length;
      if (got >= bytes) (c.end(), r(got));
    });
    c.on('error', reject);
    c.write(Buffer.alloc(bytes, 7));
  });
}

/** `burrow console --json …`; resolves with the process and its URL once it printed "ready". */
export async function startConsole(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ proc: ChildProcess; url: URL }> {
  const proc = spawn(process.execPath, [BIN, 'console', ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env });
  // Keep reading stdout to the end (the console's logs go there too): a full pipe would stall it.
  const lines = createInterface({ input: proc.stdout! });
  const url = await new Promise<URL>((resolve, reject) => {
    lines.on('line', (line) => {
      if (!line.startsWith('{"event":"ready"')) return;
      resolve(new URL((JSON.parse(line) as { url: string }).url));
    });
    proc.once('exit', (code) => reject(new Error(`burrow console exited (${code}) before it was ready`)));
  });
  return { proc, url };
}
