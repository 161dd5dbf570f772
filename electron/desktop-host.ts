/**
 * The engine and router behind the desktop window: the same console host `burrow console` runs
 * (engine/console/console-host.ts), with the same "Try it locally" — an embedded server on loopback
 * from hosts/local-server.ts, the demo page and a tunnel to it. No second copy of the demo here.
 */
import { startConsole, type ConsoleHost } from '../engine/console/console-host.js';
import { startLocalServer } from '../hosts/local-server.js';
import type { Logger } from '../io/logger.js';

export interface DesktopHostOptions {
  /** $XDG_CONFIG_HOME/burrow/client.yaml, as `burrow console` uses. */
  configFile: string;
  stateDir: string;
  /** The built renderer (the console host also serves it on its loopback port). */
  rendererDir: string;
  logger: Logger;
  sampleIntervalMs?: number;
}

export function startDesktopHost(options: DesktopHostOptions): Promise<ConsoleHost> {
  const { logger } = options;
  return startConsole({
    configFile: options.configFile,
    listen: '127.0.0.1:0',
    logger,
    stateDir: options.stateDir,
    rendererDir: options.rendererDir,
    ...(options.sampleIntervalMs !== undefined ? { sampleIntervalMs: options.sampleIntervalMs } : {}),
    startLocalServer: () => startLocalServer(logger),
  });
}
