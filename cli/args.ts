/** Shared argument parsing for subcommands: unknown flags are errors, not ignored. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Runs a subcommand body, turning usage and config errors into a message and exit code 2, and any
 * other failure into exit code 1. With `--json` in `argv` every failure also prints
 * `{"error": "…"}` on stdout, so scripts see one shape whatever went wrong (README "CLI").
 */
export async function withExitCode(body: () => Promise<number>, argv: readonly string[] = []): Promise<number> {
  const json = argv.includes('--json');
  try {
    return await body();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const usage = err instanceof UsageError || (err as Error).name === 'ConfigError';
    if (json) console.log(JSON.stringify({ error: message }, null, 2));
    if (usage) {
      console.error(`burrow: ${message}`);
      return 2;
    }
    if (!json) throw err;
    console.error(`burrow: ${message}`);
    return 1;
  }
}
