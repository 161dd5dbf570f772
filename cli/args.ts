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

/** Runs a subcommand body, turning usage and config errors into a message and exit code 2. */
export async function withExitCode(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError || (err as Error).name === 'ConfigError') {
      console.error(`burrow: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}
