/**
 * Edits the tunnels of client.yaml in place for the console: the YAML Document API keeps the
 * file's comments and layout where the library allows, the whole result is validated with the
 * same schema `burrow client` uses before anything is written, and the write is atomic (a temp
 * file in the same directory, then rename), so a reader never sees half a file.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isMap, isSeq, parseDocument, YAMLSeq, type Document } from 'yaml';
import type { TunnelConfig } from '../shared/config/client-config.js';
import { ConfigError, parseClientConfig } from './config-loader.js';

export type TunnelEdit =
  | { op: 'add'; tunnel: TunnelConfig }
  | { op: 'update'; name: string; tunnel: TunnelConfig }
  | { op: 'remove'; name: string }
  | { op: 'setEnabled'; name: string; enabled: boolean };

export async function editTunnels(file: string, edit: TunnelEdit): Promise<void> {
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(file, [], 'cannot edit: the file is not valid YAML');
  applyEdit(doc, edit);
  const next = doc.toString();
  parseClientConfig(next, file); // throws ConfigError naming the problem (e.g. a duplicate name)
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, next, { mode: 0o600 });
  await rename(tmp, file);
}

export function applyEdit(doc: Document, edit: TunnelEdit): void {
  let seq = doc.get('tunnels', true);
  if (seq === undefined || seq === null || (!isSeq(seq) && !isMap(seq) && (seq as { value?: unknown }).value === null)) {
    seq = new YAMLSeq();
    doc.set('tunnels', seq);
  }
  if (!isSeq(seq)) throw new Error('tunnels in the config file is not a list');
  if (seq.items.length === 0) seq.flow = false; // `tunnels: []` grows into a block list
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

/** The tunnel as a person would write it: no `enabled: true`, no undefined keys. */
function plain(t: TunnelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && !(k === 'enabled' && v === true)) out[k] = v;
  return out;
}
