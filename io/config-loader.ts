/**
 * Reads server.yaml / client.yaml: YAML text -> validated config, with errors a person can act on.
 *
 * Every problem becomes one short line naming the key path (`tunnels[1].remotePort: expected at
 * most 65535 (got 70000)`), all collected into a single ConfigError. No message ever contains a
 * secret: values at secret keys (`token`, `secret`, `restSecret`, passwords under `turn.users`) are
 * never shown, a document that is not a mapping is
 * described by its kind only (it may be `token=…` on one line), and any secret value found in the
 * document is blanked out of every message (an alias may repeat it under another key).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ClientConfigSchema, type ClientConfig } from '../shared/config/client-config.js';
import { ServerConfigSchema, type ServerConfig } from '../shared/config/server-config.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly issues: string[];

  /** Message: "<file>: <summary>" followed by one indented line per issue. */
  constructor(file: string, issues: string[], summary = 'invalid config') {
    super([`${file}: ${summary}`, ...issues.map((i) => `  ${i}`)].join('\n'));
    this.file = file;
    this.issues = issues;
  }
}

export function parseServerConfig(text: string, file: string, baseDir?: string): ServerConfig {
  const config = validate(ServerConfigSchema, readYaml(text, file), file);
  return baseDir === undefined ? config : resolvePaths(config, baseDir, ['stateDir', 'tlsCert', 'tlsKey']);
}

export function parseClientConfig(text: string, file: string, baseDir?: string): ClientConfig {
  const config = validate(ClientConfigSchema, readYaml(text, file), file);
  return baseDir === undefined ? config : resolvePaths(config, baseDir, ['stateDir']);
}

export async function loadServerConfig(path: string): Promise<ServerConfig> {
  return parseServerConfig(await readConfigFile(path), path, dirname(resolve(path)));
}

export async function loadClientConfig(path: string): Promise<ClientConfig> {
  return parseClientConfig(await readConfigFile(path), path, dirname(resolve(path)));
}

// ---------------------------------------------------------------------------------------------

async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    // "ENOENT: no such file or directory, open '/x/y.yaml'" -> drop the repeated path
    const reason = err instanceof Error ? err.message.replace(/, \w+ '.*'$/, '') : String(err);
    throw new ConfigError(path, [], `cannot read config: ${reason}`);
  }
}

/** Relative paths in a config are relative to the config file's directory. */
function resolvePaths<T extends object, K extends keyof T>(config: T, baseDir: string, keys: readonly K[]): T {
  const out = { ...config };
  for (const key of keys) {
    const value = out[key];
    if (typeof value === 'string') out[key] = resolve(baseDir, value) as T[K];
  }
  return out;
}

/** YAML text -> a plain object, or ConfigError for syntax errors and non-mapping documents. */
function readYaml(text: string, file: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        const pos = e.linePos?.[0];
        return pos ? `YAML syntax error at line ${pos.line}, column ${pos.col}: ${first}` : `YAML syntax error: ${first}`;
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(file, [`YAML error: ${err instanceof Error ? err.message : String(err)}`]);
  }
  if (value === null || value === undefined) throw new ConfigError(file, ['expected a mapping of keys (the file is empty)']);
  if (typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    // Only the kind: a one-line "listen=… token=…" file is a string holding the token.
    const kind = typeof value === 'string' ? 'one line of text; write one "key: value" per line' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new ConfigError(file, [`expected a mapping of keys (got ${kind})`]);
  }
  return value as Record<string, unknown>;
}

function validate<S extends z.ZodType>(schema: S, value: unknown, file: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true, error: defaultMessage });
  if (result.success) return result.data;
  const secrets = secretValues(value);
  const lines = formatIssues(result.error.issues as unknown as Issue[], []).map((line) => redact(line, secrets));
  throw new ConfigError(file, [...new Set(lines)]);
}

/** Keys whose value is secret (matched against the last key of a path). */
const SECRET_KEY = /token|secret|password/i;
/** Keys whose every nested value is secret (`turn.users: {name: password}`). */
const SECRET_MAPS = new Set(['users']);

function isSecretPath(path: readonly PathKey[]): boolean {
  const last = path[path.length - 1];
  if (typeof last === 'string' && SECRET_KEY.test(last)) return true;
  return path.some((k) => typeof k === 'string' && SECRET_MAPS.has(k));
}

/** Every scalar in the document that sits at a secret path (strings and numbers, as text). */
function secretValues(doc: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: PathKey[], secret: boolean): void => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') {
      if (secret) found.push(String(v));
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i], secret));
    } else if (isRecord(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k], secret || isSecretPath([...path, k]));
    }
  };
  walk(doc, [], false);
  // Longest first, so a secret containing another is blanked whole; very short values would
  // blank ordinary words (they are refused as too short anyway and never shown at their key).
  return [...new Set(found)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

function redact(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const s of secrets) out = out.split(s).join('…');
  return out;
}

// ---------------------------------------------------------------------------------------------
// zod issues -> lines

type PathKey = PropertyKey;

/** The parts of a zod 4 issue this module reads (reportInput: true adds `input`). */
interface Issue {
  readonly code: string;
  readonly path: readonly PathKey[];
  readonly message: string;
  readonly input?: unknown;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
  readonly errors?: readonly (readonly Issue[])[];
  readonly discriminator?: string;
  readonly options?: readonly unknown[];
  readonly origin?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly inclusive?: boolean;
  readonly inst?: unknown;
}

function formatIssues(issues: readonly Issue[], prefix: readonly PathKey[]): string[] {
  return issues.flatMap((issue) => formatIssue(issue, [...prefix, ...issue.path]));
}

function formatIssue(issue: Issue, path: readonly PathKey[]): string[] {
  const at = (message: string, p: readonly PathKey[] = path) => (p.length > 0 ? `${formatPath(p)}: ${message}` : message);

  switch (issue.code) {
    case 'unrecognized_keys':
      // The message was built by defaultMessage (one line per key, with suggestions).
      return issue.message.split('\n').map((line) => at(line));

    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const options = (issue.options ?? []).map(String).join(', ');
        const input = issue.input;
        const value = isRecord(input) ? input[issue.discriminator] : undefined;
        if (!isRecord(input)) return [at(`expected a mapping (got ${describe(input)})`, path.slice(0, -1))];
        if (value === undefined) return [at(`required (one of ${options})`)];
        return [at(`expected one of ${options} (got ${describe(value)})`)];
      }
      const branches = issue.errors ?? [];
      // A branch that got past the type check explains the problem best.
      const deep = branches.find((b) => b.length > 0 && b.every((i) => i.path.length > 0));
      if (deep) return formatIssues(deep, path);
      const expected = [...new Set(branches.flatMap((b) => b.flatMap(expectation)))];
      if (expected.length === 0) return [at(withGot(issue.message, issue, path))];
      return [at(withGot(`expected ${joinOr(expected)}`, issue, path))];
    }

    case 'invalid_type':
      if (issue.input === undefined) return [at('required')];
      return [at(withGot(issue.message, issue, path))];

    default:
      return [at(withGot(issue.message, issue, path))];
  }
}

/** What one failed union branch wanted, e.g. "a mapping" or "false". */
function expectation(issue: Issue): string[] {
  if (issue.path.length > 0) return [];
  if (issue.code === 'invalid_type' && issue.expected) return [typeName(issue.expected)];
  if (issue.code === 'invalid_value' && issue.values) return issue.values.map(showValue);
  return [];
}

/** Appends "(got …)" when the offending value is a scalar worth showing. */
function withGot(message: string, issue: Issue, path: readonly PathKey[]): string {
  const v = issue.input;
  if (isSecretPath(path)) return message;
  if (v !== null && typeof v === 'object') return message;
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return message;
  // A token pasted into the wrong key (`server: <token>`) is not echoed either.
  if (typeof v === 'string' && looksLikeSecret(v)) return `${message} (got a ${v.length}-character value that looks like a secret: not shown)`;
  const shown = describe(v);
  // e.g. 'duplicate tunnel name "ssh"' already names the value
  return typeof v === 'string' && message.includes(shown) ? message : `${message} (got ${shown})`;
}

/**
 * Whether a value in a non-secret key may be a token or password typed in the wrong place: 12 or
 * more characters with letters and digits and nothing an address, path, size or duration has
 * (".", ":", "/", "[", whitespace). "127.0.0.1:7000", "10MB", "30s", "./certs", "localhost" are
 * shown; "CANARY-s3cr3t-7f3a9" or a pasted hex key is not.
 */
export function looksLikeSecret(v: string): boolean {
  return v.length >= 12 && /[a-z]/i.test(v) && /[0-9]/.test(v) && !/[.:/[\]\s]/.test(v);
}

/** Zod's defaults rewritten short; messages written in the schemas take precedence over these. */
function defaultMessage(raw: unknown): string | undefined {
  const issue = raw as Issue;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${typeName(issue.expected ?? 'something')}`;
    case 'too_big':
    case 'too_small': {
      const big = issue.code === 'too_big';
      const limit = Number(big ? issue.maximum : issue.minimum);
      const bound = issue.inclusive === false ? (big ? 'less than' : 'more than') : big ? 'at most' : 'at least';
      const unit =
        issue.origin === 'string' ? ` character${limit === 1 ? '' : 's'}` : issue.origin === 'array' || issue.origin === 'set' ? ` item${limit === 1 ? '' : 's'}` : '';
      return `expected ${bound} ${limit}${unit}`;
    }
    case 'invalid_value': {
      const values = (issue.values ?? []).map(showValue);
      return values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`;
    }
    case 'invalid_format':
      return 'has the wrong format';
    case 'not_multiple_of':
      return 'has the wrong step';
    case 'unrecognized_keys': {
      const known = shapeKeys(issue.inst);
      return (issue.keys ?? [])
        .map((key) => {
          const guess = suggest(key, known);
          return `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}`;
        })
        .join('\n');
    }
    default:
      return undefined;
  }
}

function shapeKeys(inst: unknown): string[] {
  const shape = (inst as { _zod?: { def?: { shape?: unknown } } } | undefined)?._zod?.def?.shape;
  return isRecord(shape) ? Object.keys(shape) : [];
}

/** A known key close to `key`: same letters ignoring case/"_"/"-", or at most two edits away. */
function suggest(key: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const exact = known.find((k) => squash(k) === squash(key));
  if (exact) return exact;
  if (key.length < 4) return undefined;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(squash(key), squash(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function typeName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'array':
    case 'tuple':
    case 'set':
      return 'a list';
    default:
      return expected;
  }
}

function joinOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function showValue(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

/** A value as the user wrote it, for "(got …)". */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 56)}..."` : s;
  }
  return String(v);
}

function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
