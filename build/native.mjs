/**
 * Builds the native addons under native/ with node-gyp against this Node's own headers:
 * malloc-trim (io/malloc-trim.ts: hands freed C heap back) and udp-batch (io/udp-batch.ts: the
 * STUN/TURN server's UDP sockets). Both are optional at run time, so a machine that cannot build
 * them (no C compiler) gets a warning and a working Burrow that keeps freed C heap resident and
 * uses node:dgram; under CI=true that is an error, so CI never silently measures or tests without them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addons = [
  { name: 'malloc-trim', file: 'malloc_trim', without: 'burrow runs without handing freed C heap back' },
  { name: 'udp-batch', file: 'udp_batch', without: 'the STUN/TURN server uses node:dgram' },
];
// npm runs scripts with its own node-gyp on PATH and its config (nodedir) in the environment;
// run directly, fall back to npm's bundled copy and Node's own headers under its prefix.
const nodedir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
let failed = false;
for (const addon of addons) {
  const dir = path.join(root, 'native', addon.name);
  const args = ['rebuild', '--directory', dir, `--nodedir=${nodedir}`, '--loglevel=warn'];
  let r = spawnSync('node-gyp', args, { stdio: 'inherit' });
  if (r.error && r.error.code === 'ENOENT') {
    const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    r = spawnSync(process.execPath, [bundled, ...args], { stdio: 'inherit' });
  }
  const built = path.join(dir, 'build', 'Release', `${addon.file}.node`);
  if (r.status === 0 && existsSync(built)) continue;
  const why = r.error ? r.error.message : `node-gyp exited with ${r.status}`;
  if (process.env.CI === 'true') {
    console.error(`build/native.mjs: native/${addon.name} did not build (${why}); CI requires it`);
    failed = true;
  } else console.warn(`build/native.mjs: warning: native/${addon.name} did not build (${why}); ${addon.without}`);
}
process.exit(failed ? 1 : 0);
