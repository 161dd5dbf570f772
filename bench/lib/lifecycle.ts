/**
 * How a benchmark script runs: never leave children or temp dirs behind (normal exit, signals,
 * crashes) and stop by itself after `limitMinutes`.
 */
import { killAll, killAllSync } from './proc.js';
import { removeAllTempDirs } from './tempdir.js';

export function runBench(name: string, main: () => Promise<number>, limitMinutes: number, log: (msg: string) => void): void {
  process.on('exit', () => {
    killAllSync();
    removeAllTempDirs();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: cleaning up`);
      void killAll().finally(() => process.exit(130));
    });
  }
  const watchdog = setTimeout(() => {
    log('overall time limit reached; killing everything');
    void killAll().finally(() => process.exit(3));
  }, limitMinutes * 60_000);
  watchdog.unref();

  main()
    .then(async (code) => {
      await killAll();
      process.exit(code);
    })
    .catch(async (err: unknown) => {
      process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await killAll();
      process.exit(1);
    });
}
