/** `burrow server --config server.yaml` */
import { resolve } from 'node:path';
import { BurrowServer } from '../server/burrow-server.js';
import { monotonicClock } from '../io/clock.js';
import { ConfigError, loadServerConfig } from '../io/config-loader.js';
import { watchConfigFile } from '../io/config-watch.js';
import { createLogger } from '../io/logger.js';
import { defaultStateDir } from '../io/state-dir.js';
import { parseFlags, UsageError, withExitCode } from './args.js';
import { startReclaimer } from './memory-reclaim.js';
import { untilSignal } from './signals.js';

export function runServer(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const flags = parseFlags(argv, { config: { type: 'string', short: 'c' }, 'json-logs': { type: 'boolean' } });
    if (!flags.config) throw new UsageError('server needs --config FILE');
    const file = resolve(flags.config);
    const config = await loadServerConfig(file);
    const logger = createLogger({ level: config.log.level, json: flags['json-logs'], name: 'server' });
    const server = new BurrowServer(config, { logger, stateDir: config.stateDir ?? defaultStateDir('server'), clock: monotonicClock });
    // A SIGHUP while starting must not kill the process (Node's default for it): hold it and reload
    // once the reload handler below is in place.
    let hupWhileStarting = false;
    const holdHup = () => (hupWhileStarting = true);
    process.on('SIGHUP', holdHup);
    await server.start();
    const reclaimer = startReclaimer(logger);
    if (server.fingerprint) {
      // Printed whatever the log level when the certificate is new: clients pin this value.
      const line = `certificate fingerprint (SHA-256): ${server.fingerprint}`;
      if (server.createdCertificate) logger.warn(`${line}; set serverFingerprint to this in client configs`);
      else logger.info(line);
    }
    // prom-client and the HTTP server load only when the admin API is configured.
    const admin = config.admin ? new (await import('../server/admin-api.js')).AdminApi(server, config.admin, logger, monotonicClock) : undefined;
    await admin?.start();
    const reload = async () => {
      try {
        const next = await loadServerConfig(file);
        server.reload(next);
        if (admin) admin.reload(next.admin);
        else if (next.admin) logger.warn('the admin API was added to the config; it starts after a restart');
      } catch (err) {
        logger.error({ reason: err instanceof ConfigError ? err.message : String(err as Error) }, 'reload failed; keeping the running config');
      }
    };
    const watcher = watchConfigFile(file, () => void reload());
    const waiting = untilSignal({ SIGHUP: () => void reload() });
    process.off('SIGHUP', holdHup);
    if (hupWhileStarting) void reload();
    await waiting;
    watcher.close();
    logger.info('shutting down');
    await admin?.stop();
    reclaimer?.stop();
    await server.stop();
    logger.flush();
    return 0;
  }, argv);
}
