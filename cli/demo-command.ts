/**
 * `burrow demo`: a server and a client on loopback, a built-in demo web service exposed through
 * the relay, and live byte counters until Ctrl-C (or --duration seconds).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../engine/engine.js';
import { randomHex } from '../io/auth-proof.js';
import { monotonicClock } from '../io/clock.js';
import { createLogger } from '../io/logger.js';
import { BurrowServer } from '../server/burrow-server.js';
import { ClientConfigSchema } from '../shared/config/client-config.js';
import { ServerConfigSchema } from '../shared/config/server-config.js';
import type { TunnelStatus } from '../shared/types/status.js';
import { parseFlags, withExitCode } from './args.js';
import { formatBytes } from './format.js';
import { untilSignal } from './signals.js';

export function runDemo(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const flags = parseFlags(argv, {
      'no-tls': { type: 'boolean' },
      duration: { type: 'string' },
      json: { type: 'boolean' },
    });
    const tls = !flags['no-tls'];
    const duration = flags.duration === undefined ? undefined : Number(flags.duration);
    const logger = createLogger({ level: 'warn', stderr: true, name: 'demo' });
    const stateDir = await mkdtemp(join(tmpdir(), 'burrow-demo-'));
    const token = randomHex(16);
    let visits = 0;
    const service = createServer((_req, res) => {
      visits++;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Hello from behind the NAT! This page is served on a private port and relayed by Burrow.\nVisit #${visits}.\n`);
    });
    await listen(service);
    const server = new BurrowServer(
      ServerConfigSchema.parse({ listen: '127.0.0.1:0', token, tls, proxyBind: '127.0.0.1', log: { level: 'warn' } }),
      { logger, stateDir: join(stateDir, 'server'), clock: monotonicClock },
    );
    await server.start();
    const engine = new Engine(
      ClientConfigSchema.parse({
        server: `127.0.0.1:${server.address.port}`,
        token,
        tls,
        // The demo knows its own server's certificate: pin it rather than trust on first use.
        serverFingerprint: server.fingerprint,
        clientId: 'demo-client',
        admin: false,
        poolSize: 2,
        tunnels: [{ name: 'demo-web', type: 'tcp', local: `127.0.0.1:${(service.address() as AddressInfo).port}`, remotePort: 0 }],
      }),
      { logger, stateDir: join(stateDir, 'client'), clock: monotonicClock },
    );
    await engine.start();
    try {
      const tunnel = await waitOnline(engine, 15_000);
      const url = `http://${tunnel.remoteAddress}`;
      if (flags.json) {
        console.log(JSON.stringify({ event: 'ready', publicAddress: tunnel.remoteAddress, url, server: server.snapshot().listen, tls, fingerprint: server.fingerprint }));
      } else {
        console.log('Burrow demo: a server and a client on this machine, one tcp tunnel through the relay');
        console.log(`  server      ${server.snapshot().listen}${tls ? `  (TLS, certificate SHA-256 ${server.fingerprint})` : '  (TLS off)'}`);
        console.log(`  service     ${tunnel.local}  (the built-in demo web page, the "private" service)`);
        console.log(`  public      ${url}  <- relayed through the server to the service`);
        console.log(`\nTry: curl ${url}\nCtrl-C to stop.\n`);
      }
      const interactive = process.stdout.isTTY && !flags.json;
      const show = () => {
        const t = engine.status().tunnels[0]!;
        if (flags.json) {
          console.log(JSON.stringify({ event: 'counters', ...pickCounters(t) }));
        } else {
          const line = `  ${t.state}  in ${formatBytes(t.bytesIn)}  out ${formatBytes(t.bytesOut)}  connections ${t.activeConnections} open / ${t.totalConnections} total`;
          process.stdout.write(interactive ? `\r${line}\x1b[K` : `${line}\n`);
        }
      };
      const ticker = setInterval(show, interactive ? 1000 : 5000);
      const timer = duration !== undefined ? setTimeout(() => process.kill(process.pid, 'SIGTERM'), duration * 1000) : undefined;
      await untilSignal();
      clearInterval(ticker);
      clearTimeout(timer);
      show();
      if (interactive) process.stdout.write('\n');
    } finally {
      await engine.stop();
      await server.stop();
      service.close();
      await rm(stateDir, { recursive: true, force: true });
    }
    return 0;
  }, argv);
}

function pickCounters(t: TunnelStatus) {
  const { state, bytesIn, bytesOut, activeConnections, totalConnections } = t;
  return { state, bytesIn, bytesOut, activeConnections, totalConnections };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
}

async function waitOnline(engine: Engine, timeoutMs: number): Promise<TunnelStatus> {
  const deadline = monotonicClock.now() + timeoutMs;
  for (;;) {
    const status = engine.status();
    const t = status.tunnels[0]!;
    if (t.state === 'online' && t.remoteAddress) return t;
    if (t.state === 'error') throw new Error(`demo tunnel failed: ${t.error}`);
    if (monotonicClock.now() > deadline) throw new Error(`demo tunnel not online after ${timeoutMs} ms: ${status.error ?? t.error ?? status.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
