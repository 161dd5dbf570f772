import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcp, startClient, startServer, tunnelOnline } from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const TOTAL = 256 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * A local service that streams TOTAL bytes as fast as its socket accepts them (it honours
 * backpressure itself), counting what the relay took off its hands.
 */
async function firehose(): Promise<{ port: number; accepted: () => number; digest: () => string; close: () => void }> {
  let accepted = 0;
  const block = randomBytes(CHUNK);
  const hash = createHash('sha256');
  let digest = '';
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    const pump = () => {
      while (accepted < TOTAL) {
        accepted += CHUNK;
        hash.update(block);
        if (accepted >= TOTAL) {
          digest = hash.digest('hex');
          s.end(block);
          return;
        }
        if (!s.write(block)) {
          s.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    digest: () => digest,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('backpressure', () => {
  for (const [tls, mux] of [[false, true], [true, true], [true, false]] as const) {
    it(`a reader that stops reading stalls the service instead of growing buffers (tls ${tls}, ${mux ? 'mux' : 'work connections'})`, async () => {
      const service = await firehose();
      cleanup.push(service.close);
      const server = await startServer({ tls });
      cleanup.push(() => server.stop());
      const engine = await startClient(server, { tls, mux, tunnels: [{ name: 'hose', type: 'tcp', local: `127.0.0.1:${service.port}`, remotePort: 0 }] });
      cleanup.push(() => engine.stop());
      const port = await tunnelOnline(engine, 'hose');
      const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;

      const user = await connectTcp(port);
      user.pause(); // a slow reader: reads nothing for a while
      await new Promise((r) => setTimeout(r, 1500));
      const stalledAt = service.accepted();
      await new Promise((r) => setTimeout(r, 1000));
      // The service is stuck: the relay (server + client in this process) holds a bounded amount.
      expect(service.accepted()).toBe(stalledAt);
      expect(stalledAt).toBeLessThan(48 * 1024 * 1024);
      const heapStalled = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      expect(heapStalled - heapBefore).toBeLessThan(64 * 1024 * 1024);

      // Now read everything: all bytes arrive intact.
      const hash = createHash('sha256');
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        user.on('data', (c: Buffer) => {
          received += c.length;
          hash.update(c);
        });
        user.once('end', resolve);
        user.once('error', reject);
        user.resume();
      });
      expect(received).toBe(TOTAL);
      expect(hash.digest('hex')).toBe(service.digest());
    }, 90_000);
  }
});

