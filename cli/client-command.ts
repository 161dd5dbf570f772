/** `burrow client --config client.yaml` */
import { resolve } from 'node:path';
import { Engine } from '../engine/engine.js';
import { startStatusServer } from '../engine/status-server.js';
import { monotonicClock } from '../io/clock.js';
import { ConfigError, loadClientConfig } from '../io/config-loader.js';
import { watchConfigFile } from '../io/config-watch.js';
import { createLogger } from '../io/logger.js';
import { defaultStateDir } from '../io/state-dir.js';
import { parseFlags, UsageError, withExitCode } from './args.js';
import { startReclaimer } from './memory-reclaim.js';
import { untilSignal } from './signals.js';

export function runClient(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const flags = parseFlags(argv, { config: { type: 'string', short: 'c' }, 'json-logs': { type: 'boolean' } });
    if (!flags.config) throw new UsageError('client needs --config FILE');
    const file = resolve(flags.config);
    const config = await loadClientConfig(file);
    const logger = createLogger({ level: config.log.level, json: flags['json-logs'], name: 'client' });
    const engine = new Engine(config, { logger, stateDir: config.stateDir ?? defaultStateDir('client'), clock: monotonicClock });
    const statusServer = config.admin ? await startStatusServer(config.admin.listen, () => engine.status()) : undefined;
    await engine.start();
    const reclaimer = startReclaimer(logger);
    let reloading = Promise.resolve();
    const reload = () => {
      reloading = reloading.then(async () => {
        try {
          await engine.reload(await loadClientConfig(file));
        } catch (err) {
          logger.error({ reason: err instanceof ConfigError ? err.message : String(err as Error) }, 'reload failed; keeping the running config');
        }
      });
    };
    const watcher = watchConfigFile(file, reload);
    await untilSignal({ SIGHUP: reload });
    watcher.close();
    logger.info('shutting down');
    statusServer?.close();
    reclaimer?.stop();
    await engine.stop();
    logger.flush();
    return 0;
  }, argv);
}
