import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { autostartEntry, autostartFile, disableAutostart, enableAutostart, execLine, isAutostartEnabled, launchCommand } from './autostart.js';

/** The reading side of the Desktop Entry spec (string escapes, then quoting, then %%), as a launcher does it. */
function parseExec(value: string): string[] {
  const unescaped = value.replace(/\\([\\nstr])/g, (_, c: string) => ({ '\\': '\\', n: '\n', s: ' ', t: '\t', r: '\r' })[c]!);
  const args: string[] = [];
  let i = 0;
  while (i < unescaped.length) {
    if (unescaped[i] === ' ') {
      i++;
      continue;
    }
    let arg = '';
    if (unescaped[i] === '"') {
      i++;
      while (unescaped[i] !== '"') {
        if (i >= unescaped.length) throw new Error('unterminated quote');
        if (unescaped[i] === '\\' && /["`$\\]/.test(unescaped[i + 1] ?? '')) i++;
        arg += unescaped[i++];
      }
      i++;
    } else {
      while (i < unescaped.length && unescaped[i] !== ' ') {
        if (/["'\\><~|&;$*?#()`]/.test(unescaped[i]!)) throw new Error(`reserved character ${unescaped[i]} outside quotes`);
        arg += unescaped[i++];
      }
    }
    args.push(arg.replace(/%%/g, '%'));
  }
  return args;
}

describe('autostart entry (Desktop Entry spec quoting)', () => {
  it('writes a plain path as it is, followed by the start-hidden flag', () => {
    expect(autostartEntry(['/opt/Burrow/burrow'])).toContain('\nExec=/opt/Burrow/burrow --hidden\n');
  });

  it('quotes a path with spaces and escapes quotes, $, `, % and backslashes', () => {
    expect(execLine(['/home/a b/Burrow.AppImage'])).toBe('"/home/a b/Burrow.AppImage"');
    expect(execLine(['/x/100%/b'])).toBe('/x/100%%/b');
    expect(execLine(['/x/$HOME/"q"'])).toBe('"/x/\\\\$HOME/\\\\"q\\\\""');
    // One literal backslash is four in the file (the spec says so in as many words).
    expect(execLine(['/x/a\\b'])).toBe('"/x/a\\\\\\\\b"');
  });

  it('reads back, the way a launcher parses it, as exactly the arguments written', () => {
    const nasty = ["/home/o'neil/My Apps/100% \"burrow\" $HOME `id` a\\b/Burrow.AppImage", '/tmp/app dir', '--hidden'];
    const line = autostartEntry(nasty.slice(0, 2)).split('\n').find((l) => l.startsWith('Exec='))!.slice('Exec='.length);
    expect(parseExec(line)).toEqual(nasty);
    expect(line).not.toContain('\n');
  });

  it('has the fields an autostart entry needs', () => {
    const entry = autostartEntry(['/opt/Burrow/burrow']);
    expect(entry.split('\n')[0]).toBe('[Desktop Entry]');
    expect(entry).toMatch(/^Type=Application$/m);
    expect(entry).toMatch(/^Name=Burrow$/m);
    expect(entry).toMatch(/^Categories=Network;$/m);
  });
});

describe('autostart file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-autostart-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('lives in $XDG_CONFIG_HOME/autostart, or ~/.config/autostart when it is unset or relative', () => {
    expect(autostartFile({ XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toBe('/xdg/autostart/burrow.desktop');
    expect(autostartFile({}, '/home/u')).toBe('/home/u/.config/autostart/burrow.desktop');
    expect(autostartFile({ XDG_CONFIG_HOME: 'rel' }, '/home/u')).toBe('/home/u/.config/autostart/burrow.desktop');
  });

  it('is written (creating the folder) and removed again by the toggle', async () => {
    const file = autostartFile({ XDG_CONFIG_HOME: join(dir, 'config home') });
    expect(await isAutostartEnabled(file)).toBe(false);
    await enableAutostart(file, ['/opt/Burrow/burrow']);
    expect(await readFile(file, 'utf8')).toBe(autostartEntry(['/opt/Burrow/burrow']));
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await isAutostartEnabled(file)).toBe(true);
    await disableAutostart(file);
    expect(await isAutostartEnabled(file)).toBe(false);
    await disableAutostart(file); // removing twice is fine
  });

  it('starts the AppImage file itself, not the executable inside its mount', () => {
    expect(launchCommand({ execPath: '/tmp/.mount_Burrow/burrow', appImage: '/home/u/Burrow.AppImage', isPackaged: true, appPath: '/x' })).toEqual(['/home/u/Burrow.AppImage']);
    expect(launchCommand({ execPath: '/opt/Burrow/burrow', isPackaged: true, appPath: '/x' })).toEqual(['/opt/Burrow/burrow']);
    expect(launchCommand({ execPath: '/n/electron', isPackaged: false, appPath: '/src/burrow' })).toEqual(['/n/electron', '/src/burrow']);
  });
});
