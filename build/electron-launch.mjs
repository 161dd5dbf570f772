#!/usr/bin/env node
// `npm start` and `npm run dist`: both need Electron's binary, which machines that installed with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1 (our build machines) do not have. There they stop with ONE line
// pointing to `burrow console`, never a stack trace. Otherwise:
//   start: npm run build, then Electron on dist/electron/main.js (extra arguments are passed on).
//   dist:  npm run build, render the icons, electron-builder --linux AppImage deb (-> release/).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Electron binary npm installed, or undefined (without require('electron'), which would try to download it). */
export function electronBinary(packageDir = process.env.BURROW_ELECTRON_DIR ?? join(ROOT, 'node_modules', 'electron')) {
  try {
    const rel = readFileSync(join(packageDir, 'path.txt'), 'utf8').trim();
    const base = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(packageDir, 'dist');
    const bin = join(base, rel);
    return rel !== '' && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

function fail(message) {
  process.stderr.write(`burrow: ${message}\n`);
  process.exit(1);
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.error) fail(`could not run ${command}: ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode !== 'start' && mode !== 'dist') fail('usage: node build/electron-launch.mjs start|dist');
  const bin = electronBinary();
  if (bin === undefined) {
    fail(`the Electron binary is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD?), so npm ${mode === 'start' ? 'start' : 'run dist'} cannot run; use \`burrow console --open\` for the same app in your browser, or reinstall electron with internet access.`);
  }
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, ['run', '--silent', 'build']);
  if (mode === 'start') {
    run(bin, [join(ROOT, 'dist', 'electron', 'main.js'), ...rest]);
  } else {
    run(process.execPath, [join(ROOT, 'build', 'icons', 'render-icons.mjs')]);
    run(process.execPath, [join(ROOT, 'node_modules', 'electron-builder', 'cli.js'), '--config', 'build/electron-builder.yml', '--linux', 'AppImage', 'deb', ...rest]);
  }
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
