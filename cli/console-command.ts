/** `burrow console [--config FILE] [--listen 127.0.0.1:PORT] [--open] [--json]` */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { startConsole } from '../engine/console/console-host.js';
import { startLocalServer } from '../hosts/local-server.js';
import { createLogger } from '../io/logger.js';
import { defaultStateDir } from '../io/state-dir.js';
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

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => console.error(`burrow: could not start ${command}; open ${url} yourself`));
  child.unref();
}
