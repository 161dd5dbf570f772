/** `burrow console [--config FILE] [--listen 127.0.0.1:PORT] [--open] [--json]` */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { startConsole, type LocalServer } from '../engine/console/console-host.js';
import { randomHex } from '../io/auth-proof.js';
import { monotonicClock } from '../io/clock.js';
import { createLogger, type Logger } from '../io/logger.js';
import { defaultStateDir } from '../io/state-dir.js';
import { BurrowServer } from '../server/burrow-server.js';
import { ServerConfigSchema } from '../shared/config/server-config.js';
import { parseFlags, withExitCode } from './args.js';
import { startReclaimer } from './memory-reclaim.js';
import { untilSignal } from './signals.js';

/** $XDG_CONFIG_HOME/burrow/client.yaml (XDG default ~/.config). */
export function defaultConsoleConfig(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'burrow', 'client.yaml');
}

export function runConsole(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const flags = parseFlags(argv, {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string' },
      open: { type: 'boolean' },
      json: { type: 'boolean' },
      'json-logs': { type: 'boolean' },
    });
    const file = resolve(flags.config ?? defaultConsoleConfig());
    const logger = createLogger({ level: 'info', json: flags['json-logs'], name: 'console' });
    const host = await startConsole({
      configFile: file,
      listen: flags.listen ?? '127.0.0.1:0',
      logger,
      stateDir: defaultStateDir('client'),
      startLocalServer: () => startLocalServer(logger),
    });
    if (flags.json) console.log(JSON.stringify({ event: 'ready', url: host.url }));
    else console.log(`Burrow console: ${host.url}\n(the address includes the access token; keep it private)`);
    if (flags.open) openBrowser(host.url);
    const reclaimer = startReclaimer(logger);
    await untilSignal({});
    logger.info('shutting down');
    reclaimer?.stop();
    await host.close();
    logger.flush();
    return 0;
  }, argv);
}

/**
 * "Try it locally": a `burrow server` in this process on loopback (TLS with a fresh certificate the
 * client pins, a random token, STUN on a loopback port for the NAT wizard), gone when the console stops.
 */
export async function startLocalServer(logger: Logger): Promise<LocalServer> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-local-server-'));
  const token = randomHex(16);
  const server = new BurrowServer(
    ServerConfigSchema.parse({ listen: '127.0.0.1:0', token, tls: true, proxyBind: '127.0.0.1', stun: { listen: '127.0.0.1:0', tlsListen: false }, log: { level: 'warn' } }),
    { logger: logger.child({ name: 'local-server' }), stateDir: join(dir, 'server'), clock: monotonicClock },
  );
  await server.start();
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

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => console.error(`burrow: could not start ${command}; open ${url} yourself`));
  child.unref();
}
