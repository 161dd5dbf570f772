/**
 * Builds native/malloc-trim (io/malloc-trim.ts's addon) with node-gyp against this Node's own
 * headers. The addon is optional at run time, so a machine that cannot build it (no C compiler)
 * gets a warning and a working Burrow that keeps freed C heap resident; under CI=true that is an
 * error, so CI never silently measures or tests without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'native', 'malloc-trim');
// npm runs scripts with its own node-gyp on PATH and its config (nodedir) in the environment;
// run directly, fall back to npm's bundled copy and Node's own headers under its prefix.
const nodedir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
const args = ['rebuild', '--directory', dir, `--nodedir=${nodedir}`, '--loglevel=warn'];
let r = spawnSync('node-gyp', args, { stdio: 'inherit' });
if (r.error && r.error.code === 'ENOENT') {
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  r = spawnSync(process.execPath, [bundled, ...args], { stdio: 'inherit' });
}
const built = path.join(dir, 'build', 'Release', 'malloc_trim.node');
if (r.status === 0 && existsSync(built)) process.exit(0);
const why = r.error ? r.error.message : `node-gyp exited with ${r.status}`;
if (process.env.CI === 'true') {
  console.error(`build/native.mjs: native/malloc-trim did not build (${why}); CI requires it`);
  process.exit(1);
}
console.warn(`build/native.mjs: warning: native/malloc-trim did not build (${why}); burrow runs without handing freed C heap back`);
