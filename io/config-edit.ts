/**
 * Edits the tunnels of client.yaml in place for the console: the YAML Document API keeps the
 * file's comments and layout where the library allows, the whole result is validated with the
 * same schema `burrow client` uses before anything is written, and the write is atomic (a temp
 * file in the same directory, then rename), so a reader never sees half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, YAMLMap, YAMLSeq, type Document } from 'yaml';
import type { TunnelConfig } from '../shared/config/client-config.js';
import { ConfigError, parseClientConfig } from './config-loader.js';

/** A tunnel as the user typed it (the config schema's input: "10MB" stays a string). */
export type TunnelAsWritten = Record<string, unknown> & { name: string; type: string };

export type TunnelEdit =
  | { op: 'add'; tunnel: TunnelConfig }
  /** Add (no `original`) or replace tunnel `original`, keeping the nodes (and comments) of unchanged keys. */
  | { op: 'save'; original?: string; tunnel: TunnelAsWritten }
  | { op: 'update'; name: string; tunnel: TunnelConfig }
  | { op: 'remove'; name: string }
  | { op: 'setEnabled'; name: string; enabled: boolean }
  /** Switch visitor `name` on or off (`enabled: false` in its entry under `visitors:`). */
  | { op: 'setVisitorEnabled'; name: string; enabled: boolean };

export async function editTunnels(file: string, edit: TunnelEdit): Promise<void> {
  const doc = await readDocument(file);
  applyEdit(doc, edit);
  await writeChecked(file, doc);
}

/** The tunnels as written in the file (no defaults filled in, byte rates as the user spelled them). */
export async function readTunnelsAsWritten(file: string): Promise<TunnelAsWritten[]> {
  const doc = await readDocument(file);
  const tunnels = (doc.toJS() as { tunnels?: unknown } | null)?.tunnels;
  return Array.isArray(tunnels) ? (tunnels as TunnelAsWritten[]) : [];
}

export interface ConnectionSettings {
  server: string;
  token: string;
  tls: boolean;
  serverFingerprint?: string;
}

/**
 * Sets server, token, tls and serverFingerprint in client.yaml, creating the file (and its
 * directory, mode 0700) when there is none; everything else in the file stays as it was.
 */
export async function writeConnection(file: string, c: ConnectionSettings): Promise<void> {
  let doc: Document;
  try {
    doc = await readDocument(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    doc = parseDocument('# Burrow client config, written by burrow console (see the README, "Client config")\n');
  }
  if (!isMap(doc.contents)) doc.contents = new YAMLMap();
  doc.set('server', c.server);
  doc.set('token', c.token);
  if (c.tls) doc.delete('tls');
  else doc.set('tls', false);
  if (c.serverFingerprint) doc.set('serverFingerprint', c.serverFingerprint);
  else doc.delete('serverFingerprint');
  if (!doc.has('tunnels')) doc.set('tunnels', new YAMLSeq());
  await writeChecked(file, doc);
}

async function readDocument(file: string): Promise<Document> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  if (doc.errors.length > 0) throw new ConfigError(file, [], 'cannot edit: the file is not valid YAML');
  return doc;
}

/** Validates the whole result with `burrow client`'s schema, then writes it atomically. */
async function writeChecked(file: string, doc: Document): Promise<void> {
  const next = doc.toString();
  parseClientConfig(next, file); // throws ConfigError naming the problem (e.g. a duplicate name)
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, next, { mode: 0o600 });
  await rename(tmp, file);
}

export function applyEdit(doc: Document, edit: TunnelEdit): void {
  if (edit.op === 'setVisitorEnabled') return setVisitorEnabled(doc, edit.name, edit.enabled);
  let seq = doc.get('tunnels', true);
  if (seq === undefined || seq === null || (!isSeq(seq) && !isMap(seq) && (seq as { value?: unknown }).value === null)) {
    seq = new YAMLSeq();
    doc.set('tunnels', seq);
  }
  if (!isSeq(seq)) throw new Error('tunnels in the config file is not a list');
  if (seq.items.length === 0) seq.flow = false; // `tunnels: []` grows into a block list
  if (edit.op === 'save') {
    if (edit.original === undefined) {
      seq.items.push(doc.createNode(plainWritten(edit.tunnel)));
      return;
    }
    const at = seq.items.findIndex((item) => isMap(item) && item.get('name') === edit.original);
    if (at < 0) throw new Error(`no tunnel named "${edit.original}"`);
    const item = seq.items[at];
    if (!isMap(item)) return;
    const next = plainWritten(edit.tunnel);
    if (item.get('enabled') === false && !('enabled' in edit.tunnel)) next.enabled = false; // the switch's state survives an edit
    for (const pair of [...item.items]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!(key in next)) item.delete(key);
    }
    for (const [key, value] of Object.entries(next)) {
      const old: unknown = item.get(key, false);
      if (JSON.stringify(old) !== JSON.stringify(value) && !sameScalar(item.get(key, true), value)) item.set(key, doc.createNode(value));
    }
    return;
  }
  const index = edit.op === 'add' ? -1 : seq.items.findIndex((item) => isMap(item) && item.get('name') === edit.name);
  if (edit.op !== 'add' && index < 0) throw new Error(`no tunnel named "${edit.name}"`);
  switch (edit.op) {
    case 'add':
      seq.items.push(doc.createNode(plain(edit.tunnel)));
      return;
    case 'update':
      seq.items[index] = doc.createNode(plain(edit.tunnel));
      return;
    case 'remove':
      seq.items.splice(index, 1);
      return;
    case 'setEnabled': {
      const item = seq.items[index];
      if (!isMap(item)) return;
      if (edit.enabled) item.delete('enabled');
      else item.set('enabled', false);
    }
  }
}

function setVisitorEnabled(doc: Document, name: string, enabled: boolean): void {
  const seq = doc.get('visitors', true);
  const item = isSeq(seq) ? seq.items.find((i) => isMap(i) && i.get('name') === name) : undefined;
  if (!isMap(item)) throw new Error(`no visitor named "${name}"`);
  if (enabled) item.delete('enabled');
  else item.set('enabled', false);
}

/** The tunnel as a person would write it: no `enabled: true`, no undefined keys. */
function plain(t: TunnelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && !(k === 'enabled' && v === true)) out[k] = v;
  return out;
}

/** As typed, minus empty strings and `enabled: true` (the default). */
function plainWritten(t: TunnelAsWritten): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && v !== '' && !(k === 'enabled' && v === true)) out[k] = v;
  return out;
}

function sameScalar(node: unknown, value: unknown): boolean {
  return isScalar(node) && node.value === value;
}
