/**
 * The `burrow` command as a bundle: dist/cli/main.js and the pure-JavaScript packages it uses
 * (zod, yaml, prom-client, SASLprep, selfsigned) in a few files instead of ~600 modules.
 * Node keeps a record, source and compiled code for every module it loads: an idle server
 * loaded from dist/ sits at about 72 MB RSS, from this bundle at about 62 (issue 12,
 * docs/BENCHMARKS.md). Dynamic imports stay separate chunks, so what is lazy stays lazy.
 *
 * Left outside (resolved from node_modules at run time):
 * - native addons: udx-native, @hyperswarm/secret-stream (sodium-native);
 * - pino and its transports: pino-pretty runs in a worker that loads packages by name;
 * - ws: it requires its optional native helpers (bufferutil, utf-8-validate) inside try/catch.
 *
 * The output sits two levels below dist/ (dist/bundle/burrow/), where the unbundled
 * dist/engine/console/console-host.js also sits: its `../../renderer/` finds dist/renderer/.
 */
const external = [/^node:/, /^(udx-native|@hyperswarm\/secret-stream|sodium-native|pino|pino-pretty|thread-stream|ws)(\/|$)/];

export default {
  input: 'dist/cli/main.js',
  platform: 'node',
  external,
  output: { dir: 'dist/bundle/burrow', format: 'esm', cleanDir: true },
};
