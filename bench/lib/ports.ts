/** Loopback port allocation and "is something listening yet" checks. */
import net from 'node:net';
import { procNetPort, procNetRows } from './proc-net.js';

export const HOST = '127.0.0.1';

/** A port that was free a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not allocate a port'))));
    });
  });
}

/** Several distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  for (let i = 0; i < n * 10 && out.size < n; i++) out.add(await freePort());
  if (out.size < n) throw new Error(`could only allocate ${out.size}/${n} ports`);
  return [...out];
}

/**
 * True if some socket listens on 127.0.0.1:port (or 0.0.0.0:port), per /proc/net/tcp.
 * This does not open a connection, so it does not disturb the service behind a forward.
 */
export function isListening(port: number): boolean {
  for (const cols of procNetRows(['tcp', 'tcp6'])) {
    if (cols[3] === '0A' && procNetPort(cols[1]!) === port) return true; // 0A = LISTEN
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until the port listens; `check` may throw to abort early (e.g. the child died). */
export async function waitListening(port: number, timeoutMs: number, check?: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    check?.();
    if (isListening(port)) return;
    await sleep(50);
  }
  check?.();
  throw new Error(`nothing listening on ${HOST}:${port} after ${timeoutMs} ms`);
}
