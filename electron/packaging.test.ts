// The packaging config cannot silently rot: build/electron-builder.yml is checked with
// electron-builder's own schema validator, every file it names must exist, the icon sizes must be
// complete and the committed PNGs what build/icons/burrow.svg renders to; and `npm start` /
// `npm run dist` without Electron's binary fail with one line that points to `burrow console`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const config = parse(readFileSync(join(ROOT, 'build', 'electron-builder.yml'), 'utf8')) as Record<string, any>;

function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  expect(b.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])), `${file} is a PNG`).toBe(true);
  expect(b.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe('electron-builder config', () => {
  it('passes the schema electron-builder validates with (app-builder-lib/scheme.json)', () => {
    const builderDir = dirname(require.resolve('app-builder-lib/package.json'));
    const { validateSchema } = require(join(builderDir, 'out', 'util', 'config', 'schemaValidator.js')) as { validateSchema(schema: unknown, data: unknown, o?: unknown): void };
    const scheme = JSON.parse(readFileSync(join(builderDir, 'scheme.json'), 'utf8'));
    expect(() => validateSchema(scheme, config)).not.toThrow();
    // The validator is a real one: a misspelt option fails.
    expect(() => validateSchema(scheme, { ...config, linux: { ...config.linux, categroy: 'Network' } })).toThrow(/Invalid configuration object/);
  });

  it('builds an AppImage and a .deb with the app id, names and a Network desktop entry', () => {
    expect(config.appId).toMatch(/^[a-z][\w]*(\.[\w]+)+$/i);
    expect(config.productName).toBe('Burrow');
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.linux.executableName).toBe('burrow-desktop');
    expect(config.linux.category).toBe('Network');
    expect(config.linux.desktop.entry.Categories).toBe('Network;');
    expect(config.deb.depends).toEqual(expect.arrayContaining(['libnss3', 'libnotify4', 'libglib2.0-bin']));
    expect(config.directories.output).not.toBe('dist');
  });

  it('starts the main process that tsc builds from electron/main.ts, with the preload next to it', () => {
    expect(config.extraMetadata.main).toBe('dist/electron/main.js');
    expect(existsSync(join(ROOT, 'electron', 'main.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'electron', 'preload', 'preload.ts'))).toBe(true);
    expect(JSON.parse(readFileSync(join(ROOT, 'electron', 'preload', 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    const tsconfig = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8');
    expect(tsconfig).toContain('"electron/**/*.ts"');
    expect(config.files).toEqual(expect.arrayContaining(['package.json', 'dist/**/*', 'build/icons/tray/*.png']));
  });

  it('has every file it names: icons at 16 to 512 px, the tray set in light and dark for each state', () => {
    const iconDir = join(ROOT, config.linux.icon);
    for (const n of [16, 24, 32, 48, 64, 128, 256, 512]) expect(pngSize(join(iconDir, `${n}x${n}.png`))).toEqual({ width: n, height: n });
    for (const state of ['online', 'failing', 'off']) {
      for (const theme of ['light', 'dark']) {
        expect(pngSize(join(ROOT, 'build', 'icons', 'tray', `burrow-tray-${state}-${theme}.png`))).toEqual({ width: 22, height: 22 });
        expect(pngSize(join(ROOT, 'build', 'icons', 'tray', `burrow-tray-${state}-${theme}@2x.png`))).toEqual({ width: 44, height: 44 });
      }
    }
    for (const pattern of config.files as string[]) {
      if (pattern.startsWith('!') || pattern.startsWith('dist/')) continue; // dist/ exists after npm run build
      const dir = join(ROOT, dirname(pattern));
      const base = pattern.split('/').at(-1)!;
      const matches = base.includes('*') ? readdirSync(dir).filter((f) => new RegExp(`^${base.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`).test(f)) : [base].filter((f) => existsSync(join(dir, f)));
      expect(matches.length, pattern).toBeGreaterThan(0);
    }
  });

  it('has the committed icons exactly as build/icons/burrow.svg renders them', () => {
    const out = mkdtempSync(join(tmpdir(), 'burrow-icons-'));
    try {
      const r = spawnSync(process.execPath, [join(ROOT, 'build', 'icons', 'render-icons.mjs'), out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      for (const sub of ['png', 'tray']) {
        const files = readdirSync(join(out, sub)).sort();
        expect(readdirSync(join(ROOT, 'build', 'icons', sub)).sort()).toEqual(files);
        for (const f of files) expect(readFileSync(join(out, sub, f)).equals(readFileSync(join(ROOT, 'build', 'icons', sub, f))), `${sub}/${f} is stale: run node build/icons/render-icons.mjs`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('npm start / npm run dist without the Electron binary', () => {
  const noElectron = mkdtempSync(join(tmpdir(), 'burrow-no-electron-'));
  for (const mode of ['start', 'dist']) {
    it(`${mode}: one line on stderr that points to burrow console, exit 1, no stack trace`, () => {
      const r = spawnSync(process.execPath, [join(ROOT, 'build', 'electron-launch.mjs'), mode], { encoding: 'utf8', env: { ...process.env, BURROW_ELECTRON_DIR: noElectron } });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^burrow: the Electron binary is not installed here/);
      expect(lines[0]).toContain('`burrow console --open`');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
