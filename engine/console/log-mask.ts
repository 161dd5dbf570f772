/**
 * Masking for the console's log view: the host masks every line before it leaves the process, so a
 * token or tunnel secret never reaches a page. Two nets: a field whose name says it holds a secret
 * (token, secret, password, authorization…) is replaced whatever its value, and every known secret
 * value (the config's token and secrets) is replaced wherever it appears in any text. Pure.
 */
const SECRET_KEY = /token|secret|password|passwd|authorization|cookie|credential|hmac|proof/i;
export const MASK = '••••••';

export interface LogRecord {
  level: number;
  msg?: string;
  time?: number;
  [key: string]: unknown;
}

export const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

/** Replace every occurrence of each secret (8 characters or more, longest first) in `text`. */
export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length >= 8).sort((a, b) => b.length - a.length)) out = out.split(s).join(MASK);
  return out;
}

function maskValue(key: string, value: unknown, secrets: readonly string[]): unknown {
  if (SECRET_KEY.test(key)) return MASK;
  if (typeof value === 'string') return maskText(value, secrets);
  if (Array.isArray(value)) return value.map((v) => maskValue('', v, secrets));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(k, v, secrets)]));
  return value;
}

export interface MaskedLine {
  at: number;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  message: string;
  tunnel?: string;
  detail?: string;
}

/** One pino record → the line the page shows, masked. */
export function maskRecord(rec: LogRecord, secrets: readonly string[], now: number): MaskedLine {
  const fields: string[] = [];
  let tunnel: string | undefined;
  for (const [k, v] of Object.entries(rec)) {
    if (OMIT.has(k)) continue;
    const masked = maskValue(k, v, secrets);
    if ((k === 'tunnel' || k === 'visitor') && typeof masked === 'string') tunnel ??= masked;
    fields.push(`${k}=${typeof masked === 'string' ? masked : JSON.stringify(masked)}`);
  }
  const line: MaskedLine = { at: typeof rec.time === 'number' ? rec.time : now, level: LEVELS[rec.level] ?? 'info', message: maskText(String(rec.msg ?? ''), secrets) };
  if (tunnel !== undefined) line.tunnel = tunnel;
  if (fields.length > 0) line.detail = fields.join(' ');
  return line;
}
