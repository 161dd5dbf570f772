/** The desktop app's own settings (not the engine's config): <userData>/desktop-settings.json. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_EXTERNAL_LINKS } from './external-links.js';

export interface DesktopSettings {
  /** Desktop notifications when a tunnel fails or a direct path falls back to the relay. */
  notifications: boolean;
  /**
   * https URL prefixes (each ending in "/") the app may open in the browser, as written; checked
   * when the app starts (./external-links.ts), an unusable one is logged and ignored.
   */
  externalLinks: string[];
}

export const DEFAULT_SETTINGS: DesktopSettings = { notifications: true, externalLinks: [...DEFAULT_EXTERNAL_LINKS] };

/** A missing or unreadable file gives the defaults (a broken file must not stop the app). */
export async function loadSettings(file: string): Promise<DesktopSettings> {
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as Partial<DesktopSettings>;
    return {
      notifications: typeof raw.notifications === 'boolean' ? raw.notifications : DEFAULT_SETTINGS.notifications,
      externalLinks: Array.isArray(raw.externalLinks) ? raw.externalLinks.filter((e): e is string => typeof e === 'string') : [...DEFAULT_SETTINGS.externalLinks],
    };
  } catch {
    return { ...DEFAULT_SETTINGS, externalLinks: [...DEFAULT_SETTINGS.externalLinks] };
  }
}

export async function saveSettings(file: string, settings: DesktopSettings): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(settings, null, 2)}\n`);
  await rename(tmp, file);
}
