/**
 * Is there a tray to sit in? On Linux the tray icon is a StatusNotifierItem, shown only when a
 * StatusNotifierWatcher owns its D-Bus name (GNOME needs the AppIndicator extension). Without one,
 * the app must never start hidden nor keep running with its window closed: the user could not
 * reach it. Asked with gdbus (part of GLib, on every desktop that has D-Bus).
 */
import { execFile } from 'node:child_process';

export type Run = (file: string, args: string[]) => Promise<string>;

const run: Run = (file, args) =>
  new Promise((resolve, reject) => execFile(file, args, { timeout: 2000 }, (err, stdout) => (err ? reject(err) : resolve(String(stdout)))));

export async function hasTrayHost(platform: NodeJS.Platform = process.platform, exec: Run = run): Promise<boolean> {
  if (platform !== 'linux') return true;
  try {
    const out = await exec('gdbus', ['call', '--session', '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.NameHasOwner', 'org.kde.StatusNotifierWatcher']);
    return /\(true,?\)/.test(out);
  } catch {
    return false;
  }
}
