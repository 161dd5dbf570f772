/**
 * "Try it locally": a `burrow server` in this process on loopback (TLS with a fresh certificate the
 * client pins, a random token, STUN on a loopback port for the NAT wizard), gone when the host stops.
 * Both hosts that offer the first-start demo use it: `burrow console` (cli/console-command.ts) and
 * the desktop app (electron/main.ts). It lives here, not in either host, because it is the one piece
 * of the demo that needs server/, which only a host may import (docs/ARCHITECTURE.md, hosts/).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LocalServer } from '../engine/console/console-host.js';
import { randomHex } from '../io/auth-proof.js';
import { monotonicClock } from '../io/clock.js';
import { BurrowServer } from '../server/burrow-server.js';
import { ServerConfigSchema } from '../shared/config/server-config.js';

export async function startLocalServer(logger: Logger): Promise<LocalServer> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-local-server-'));
  const token = randomHex(16);
  const server = new BurrowServer(
    ServerConfigSchema.parse({ listen: '127.0.0.1:0', token, tls: true, proxyBind: '127.0.0.1', stun: { listen: '127.0.0.1:0', tlsListen: false }, log: { level: 'warn' } }),
    { logger: logger.child({ name: 'local-server' }), stateDir: join(dir, 'server'), clock: monotonicClock },
  );
  try {
    await server.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const stun = server.stunTurnService?.addresses().udp[0];
  return {
    server: `127.0.0.1:${server.address.port}`,
    token,
    tls: true,
    ...(server.fingerprint ? { fingerprint: server.fingerprint } : {}),
    ...(stun ? { stun: `${stun.address}:${stun.port}` } : {}),
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
