/**
 * "Start at login" on Linux: Electron's app.setLoginItemSettings does nothing there, so the app
 * writes and removes $XDG_CONFIG_HOME/autostart/burrow.desktop itself (XDG Autostart spec), with
 * the start-hidden flag, so a login starts Burrow in the tray.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The flag main.ts reads: start in the tray, without opening the window. */
export const START_HIDDEN_FLAG = '--hidden';

/** $XDG_CONFIG_HOME/autostart/burrow.desktop; a relative or empty XDG_CONFIG_HOME is ignored (XDG Base Directory spec). */
export function autostartFile(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 'autostart', 'burrow.desktop');
}

// Desktop Entry spec, "The Exec key": "Arguments may be quoted in whole. If an argument contains a
// reserved character the argument must be quoted." Reserved: space, tab, newline, " ' \ > < ~ | & ;
// $ * ? # ( ) `. "Quoting must be done by enclosing the argument between double quotes and escaping
// the double quote character, backtick character ("`"), dollar sign ("$") and backslash character
// ("\") by preceding it with an additional backslash character." "Literal percentage characters
// must be escaped as %%." And the value is a string, whose own escapes (\\ \n \t \r) apply first
// when reading, so they are applied last when writing.
const RESERVED = /[ \t\n"'\\><~|&;$*?#()`]/;

export function quoteExecArg(arg: string): string {
  const percent = arg.replace(/%/g, '%%');
  if (percent !== '' && !RESERVED.test(percent)) return percent;
  return `"${percent.replace(/["`$\\]/g, '\\$&')}"`;
}

function escapeStringValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

export function execLine(argv: readonly string[]): string {
  return escapeStringValue(argv.map(quoteExecArg).join(' '));
}

/** The file's contents; `command` is the program and its arguments before the start-hidden flag. */
export function autostartEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.5',
    'Name=Burrow',
    'Comment=Start Burrow and its tunnels in the tray at login',
    `Exec=${execLine([...command, START_HIDDEN_FLAG])}`,
    'Icon=burrow',
    'Terminal=false',
    'Categories=Network;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export async function enableAutostart(file: string, command: readonly string[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, autostartEntry(command), { mode: 0o644 });
  await rename(tmp, file);
}

export async function disableAutostart(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** On when the file exists and is ours (another program's burrow.desktop is left alone by the toggle). */
export async function isAutostartEnabled(file: string): Promise<boolean> {
  try {
    return (await readFile(file, 'utf8')).includes(`${START_HIDDEN_FLAG}`);
  } catch {
    return false;
  }
}

/**
 * What starts this app: the AppImage file itself (process.execPath points into its mount, which is
 * gone after it exits), the installed executable, or in development the Electron binary plus the
 * app's folder.
 */
export function launchCommand(p: { execPath: string; appImage?: string; isPackaged: boolean; appPath: string }): string[] {
  if (p.appImage) return [p.appImage];
  return p.isPackaged ? [p.execPath] : [p.execPath, p.appPath];
}
