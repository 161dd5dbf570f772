/** pino logger: pretty on a terminal, JSON lines otherwise. */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Force JSON even on a terminal (e.g. `--json`). */
  json?: boolean;
  name?: string;
  /** Write to stderr instead of stdout (used when stdout carries machine output). */
  stderr?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.BURROW_LOG_LEVEL ?? 'info';
  const fd = options.stderr ? 2 : 1;
  const pretty = !options.json && (fd === 1 ? process.stdout.isTTY : process.stderr.isTTY);
  if (pretty) {
    return pino({
      level,
      name: options.name,
      transport: { target: 'pino-pretty', options: { destination: fd, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, name: options.name }, pino.destination({ fd, sync: false }));
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
