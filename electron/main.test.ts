import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Router, type Handlers } from '../shared/ipc/router.js';
import type { ClientStatus } from '../shared/types/status.js';
import * as fake from './fake-electron.js';
import { startDesktopApp, type DesktopDeps } from './main.js';

vi.mock('electron', () => import('./fake-electron.js'));

const counters = { bytesIn: 0, bytesOut: 0, activeConnections: 0, totalConnections: 0 };
const statusWith = (state: 'online' | 'error' | 'stopped'): ClientStatus => ({
  server: 'relay.example:7000',
  clientId: 'laptop',
  state: 'online',
  reconnects: 0,
  tunnels: [{ name: 'ssh', type: 'tcp', local: '127.0.0.1:22', state, remoteAddress: 'relay.example:6022', ...(state === 'error' ? { error: 'local service refused' } : {}), ...counters }],
  visitors: [{ name: 'nas', tunnel: 'nas', bind: '127.0.0.1:4450', type: 'secret', state: 'online', ...counters }],
});

let dir: string;
beforeEach(async () => {
  fake.resetFake();
  dir = await mkdtemp(join(tmpdir(), 'burrow-desktop-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

function fakeHost(initial: ClientStatus = statusWith('online')) {
  const engine = { status: initial, stopped: 0, switched: [] as unknown[], switchedVisitors: [] as unknown[] };
  const handlers = new Proxy({} as Handlers, {
    get: (_t, channel: string) => (req: { name: string; enabled: boolean }) => {
      if (channel === 'status.get') return engine.status;
      if (channel === 'tunnels.setEnabled') engine.switched.push(req);
      if (channel === 'visitors.setEnabled') {
        if (req.name !== 'nas') throw new Error(`no visitor named "${req.name}"`);
        engine.switchedVisitors.push(req);
      }
      return { ok: true };
    },
  });
  const router = new Router(handlers, { warn: () => {} });
  return { engine, router, host: { router, close: async () => void engine.stopped++ } };
}

async function start(options: { argv?: string[]; trayHost?: boolean; host?: ReturnType<typeof fakeHost> } = {}) {
  const h = options.host ?? fakeHost();
  const logs: string[] = [];
  const deps: DesktopDeps = {
    argv: options.argv ?? ['burrow'],
    startHost: async () => h.host,
    trayHost: async () => options.trayHost ?? true,
    preload: '/app/dist/electron/preload/preload.js',
    rendererDir: join(dir, 'renderer'),
    trayIconDir: '/app/build/icons/tray',
    settingsFile: join(dir, 'userData', 'desktop-settings.json'),
    autostartFile: join(dir, 'config', 'autostart', 'burrow.desktop'),
    launchCommand: ['/opt/Burrow/burrow'],
    log: { info: (_f, m) => logs.push(m), warn: (_f, m) => logs.push(m), error: (_f, m) => logs.push(m) },
  };
  const pending = startDesktopApp(deps);
  fake.app.becomeReady();
  const desktop = await pending;
  return { desktop: desktop!, ...h, deps, logs };
}

const lastMenu = () => fake.Tray.created[0]!.menus.at(-1) as Array<{ label?: string; checked?: boolean; click?: () => void }>;
const menuItem = (prefix: string) => lastMenu().find((i) => i.label?.startsWith(prefix))!;
const flush = () => new Promise((r) => setTimeout(r, 10));

describe('desktop app lifecycle', () => {
  it('a second launch does not start a second engine: it hands over and quits', async () => {
    fake.app.lockGranted = false;
    const h = fakeHost();
    const desktop = await startDesktopApp({ startHost: async () => h.host } as unknown as DesktopDeps);
    expect(desktop).toBeUndefined();
    expect(fake.app.quitCalls).toBe(1);
    expect(fake.BrowserWindow.created).toHaveLength(0);
  });

  it('the first instance focuses its window on a second launch, reopening it if it was closed to the tray', async () => {
    const { desktop } = await start();
    const w = fake.BrowserWindow.created[0]!;
    w.minimized = true;
    fake.app.emit('second-instance', {}, ['burrow']);
    expect(w.minimized).toBe(false);
    expect(w.focused).toBe(2);
    w.userCloses();
    expect(w.visible).toBe(false);
    fake.app.emit('second-instance', {}, ['burrow']);
    expect(desktop.window).toBe(w as never);
    expect(w.visible).toBe(true);
  });

  it('closing the window keeps the app and its engine running in the tray', async () => {
    const { engine } = await start();
    const w = fake.BrowserWindow.created[0]!;
    expect(w.userCloses()).toBe(false);
    expect(w.visible).toBe(false);
    expect(engine.stopped).toBe(0);
    expect(fake.app.exitCode).toBeUndefined();
    expect(fake.Tray.created[0]!.destroyed).toBe(false);
  });

  it('"Quit" in the tray stops the engine, removes the tray and exits', async () => {
    const { engine } = await start();
    menuItem('Quit').click!();
    await flush();
    expect(engine.stopped).toBe(1);
    expect(fake.Tray.created[0]!.destroyed).toBe(true);
    expect(fake.app.exitCode).toBe(0);
    // The window can now close for real.
    expect(fake.BrowserWindow.created[0]!.userCloses()).toBe(true);
  });

  it('a quit from elsewhere (logout, app.quit) also stops the engine first, once', async () => {
    const { engine } = await start();
    fake.app.quit();
    fake.app.quit();
    await flush();
    expect(engine.stopped).toBe(1);
    expect(fake.app.exitCode).toBe(0);
  });

  it('starts hidden in the tray with --hidden (the autostart entry), showing no window', async () => {
    await start({ argv: ['burrow', '--hidden'] });
    expect(fake.BrowserWindow.created).toHaveLength(0);
    menuItem('Open Burrow').click!();
    expect(fake.BrowserWindow.created[0]!.visible).toBe(true);
  });

  it('without a tray host: never starts hidden, and closing the window quits', async () => {
    const { engine, logs } = await start({ argv: ['burrow', '--hidden'], trayHost: false });
    expect(fake.Tray.created).toHaveLength(0);
    const w = fake.BrowserWindow.created[0]!;
    expect(w.visible).toBe(true);
    expect(w.userCloses()).toBe(true);
    fake.app.emit('window-all-closed');
    await flush();
    expect(engine.stopped).toBe(1);
    expect(logs).toContain('no tray host (StatusNotifierWatcher) on this desktop: closing the window quits Burrow');
  });

  it('an engine that cannot start says why in a dialog and exits with an error', async () => {
    const pending = startDesktopApp({
      argv: [],
      startHost: async () => {
        throw new Error('client.yaml: server: Required');
      },
      log: { info() {}, warn() {}, error() {} },
    } as unknown as DesktopDeps);
    fake.app.becomeReady();
    expect(await pending).toBeUndefined();
    expect(fake.dialog.errors[0]![1]).toContain('client.yaml: server: Required');
    expect(fake.app.exitCode).toBe(1);
  });
});

describe('tray with the engine', () => {
  it('shows the status at start and sets the menu again on every status event', async () => {
    const { router } = await start();
    const tray = fake.Tray.created[0]!;
    expect(tray.images.at(-1)).toBe('/app/build/icons/tray/burrow-tray-online-light.png');
    expect(menuItem('ssh')).toMatchObject({ label: 'ssh (online)', checked: true });
    const before = tray.menus.length;
    router.publish('status', statusWith('error'));
    expect(tray.menus.length).toBe(before + 1);
    expect(tray.images.at(-1)).toBe('/app/build/icons/tray/burrow-tray-failing-light.png');
    expect(tray.tooltip).toBe('Burrow: some tunnels are not online');
  });

  it('follows the panel theme with the light or dark icon set', async () => {
    await start();
    fake.nativeTheme.shouldUseDarkColors = true;
    fake.nativeTheme.emit('updated');
    expect(fake.Tray.created[0]!.images.at(-1)).toBe('/app/build/icons/tray/burrow-tray-online-dark.png');
  });

  it('a tunnel checkbox switches it through the contract; the address item copies it', async () => {
    const { engine } = await start();
    menuItem('ssh').click!();
    await flush();
    expect(engine.switched).toEqual([{ name: 'ssh', enabled: false }]);
    menuItem('    relay.example:6022').click!();
    expect(fake.clipboard.text).toBe('relay.example:6022');
  });

  it('a visitor checkbox switches it through the contract (visitors.setEnabled); a refusal is logged, not thrown', async () => {
    const { engine, desktop, logs } = await start();
    expect(menuItem('Visitor nas')).toMatchObject({ label: 'Visitor nas (online)', checked: true });
    menuItem('Visitor nas').click!();
    await expect.poll(() => engine.switchedVisitors).toEqual([{ name: 'nas', enabled: false }]);
    await desktop.act({ kind: 'toggle-visitor', name: 'gone', enabled: true });
    expect(logs).toContain('could not switch the visitor');
  });

  it('"Run NAT diagnosis" opens the window on the NAT page', async () => {
    await start({ argv: ['burrow', '--hidden'] });
    menuItem('Run NAT diagnosis').click!();
    expect(fake.BrowserWindow.created[0]!.loaded).toEqual(['burrow://app/index.html#nat']);
  });

  it('"Start at login" writes the autostart entry and removes it again', async () => {
    const { deps } = await start();
    // the menu is set again once the file is written (or removed): wait for that, not for a fixed time
    menuItem('Start at login').click!();
    await expect.poll(() => menuItem('Start at login').checked).toBe(true);
    expect(await readFile(deps.autostartFile, 'utf8')).toContain('Exec=/opt/Burrow/burrow --hidden');
    menuItem('Start at login').click!();
    await expect.poll(() => menuItem('Start at login').checked).toBe(false);
    await expect(readFile(deps.autostartFile, 'utf8')).rejects.toThrow();
  });
});

describe('notifications', () => {
  it('tells once when a tunnel fails; the setting switches them off and is remembered', async () => {
    const { router, deps } = await start();
    router.publish('status', statusWith('error'));
    router.publish('status', statusWith('error'));
    expect(fake.Notification.shown).toEqual([{ title: 'Tunnel ssh failed', body: 'local service refused' }]);
    menuItem('Notifications').click!();
    await expect.poll(() => readFile(deps.settingsFile, 'utf8').then(JSON.parse, () => undefined)).toEqual({ notifications: false, externalLinks: [] });
    router.publish('status', statusWith('online'));
    router.publish('status', statusWith('error'));
    expect(fake.Notification.shown).toHaveLength(1);
  });
});

describe('external links', () => {
  const openFromPage = (url: string) => {
    const contents = fake.BrowserWindow.created[0]!.webContents;
    fake.app.emit('web-contents-created', {}, contents);
    return contents.windowOpenHandler!({ url });
  };

  it('opens no external site by default, and never in an Electron window', async () => {
    await start();
    expect(openFromPage('https://github.com/burrow-tunnel/burrow')).toEqual({ action: 'deny' });
    expect(openFromPage('https://example.org/')).toEqual({ action: 'deny' });
    expect(fake.shell.opened).toEqual([]);
  });

  it('opens links under the prefixes in desktop-settings.json externalLinks; an unusable entry is logged and ignored', async () => {
    const settingsFile = join(dir, 'userData', 'desktop-settings.json');
    await mkdir(join(dir, 'userData'), { recursive: true });
    await writeFile(settingsFile, JSON.stringify({ notifications: true, externalLinks: ['https://docs.example.org/burrow/', 'http://insecure.example/', 42] }));
    const { logs } = await start();
    expect(openFromPage('https://docs.example.org/burrow/desktop#tray')).toEqual({ action: 'deny' });
    expect(openFromPage('http://insecure.example/')).toEqual({ action: 'deny' });
    expect(openFromPage('https://docs.example.org/other/')).toEqual({ action: 'deny' });
    expect(fake.shell.opened).toEqual(['https://docs.example.org/burrow/desktop#tray']);
    expect(logs).toContain('externalLinks: entry ignored');
  });
});
