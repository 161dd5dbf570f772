/**
 * "Try it locally" in the desktop app: the real console host with the embedded server
 * (./desktop-host.ts, hosts/local-server.ts) behind the app, driven the way the window drives it
 * (a contract call over Electron IPC from the app page), against the fake electron module.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IPC_INVOKE } from '../shared/ipc/bridge.js';
import type { ResponseMessage } from '../shared/ipc/contract.js';
import { silentLogger } from '../io/logger.js';
import { startDesktopHost } from './desktop-host.js';
import * as fake from './fake-electron.js';
import { startDesktopApp, type DesktopApp } from './main.js';

vi.mock('electron', () => import('./fake-electron.js'));

const canConnect = (hostPort: string) =>
  new Promise<boolean>((r) => {
    const [host, port] = hostPort.split(':');
    const c = createConnection({ host: host!, port: Number(port) }, () => (c.destroy(), r(true)));
    c.on('error', () => r(false));
  });

async function until<T>(what: () => T | undefined, label: string, ms = 20_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    const v = what();
    if (v !== undefined && v !== false) return v;
  }
  throw new Error(`timed out waiting for ${label}`);
}

let dir: string;
let desktop: DesktopApp | undefined;
beforeEach(async () => {
  fake.resetFake();
  dir = await mkdtemp(join(tmpdir(), 'burrow-desktop-try-'));
});
afterEach(async () => {
  if (fake.app.exitCode === undefined) await desktop?.quit();
  desktop = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** What the window's page does: window.burrow.invoke(channel, payload), from burrow://app/. */
const invoke = (channel: string, payload: unknown = {}) =>
  fake.ipcMain.handlers.get(IPC_INVOKE)!({ senderFrame: { url: 'burrow://app/index.html' } } as never, channel as never, payload as never) as Promise<ResponseMessage>;
const menu = () => (fake.Tray.created[0]?.menus.at(-1) ?? []) as Array<{ label?: string; checked?: boolean; click?: () => void }>;

describe('desktop app: "Try it locally"', () => {
  it('starts the embedded server, the demo page and its tunnel from the window; the tray shows it; Quit stops it all', async () => {
    const configFile = join(dir, 'config', 'burrow', 'client.yaml');
    const pending = startDesktopApp({
      argv: ['burrow'],
      startHost: () => startDesktopHost({ configFile, stateDir: join(dir, 'state'), rendererDir: join(dir, 'renderer'), logger: silentLogger(), sampleIntervalMs: 50 }),
      trayHost: async () => true,
      preload: '/app/preload.js',
      rendererDir: join(dir, 'renderer'),
      trayIconDir: '/app/build/icons/tray',
      settingsFile: join(dir, 'userData', 'desktop-settings.json'),
      autostartFile: join(dir, 'autostart', 'burrow.desktop'),
      launchCommand: ['/opt/Burrow/burrow'],
      log: { info: () => {}, warn: () => {}, error: () => {} },
    });
    fake.app.becomeReady();
    desktop = (await pending)!;

    expect(await invoke('console.mode')).toMatchObject({ ok: true, result: { mode: 'empty', configFile } });
    const tried = await invoke('setup.tryLocally');
    expect(tried).toMatchObject({ ok: true, result: { mode: 'demo' } });

    // the tray lists the demo tunnel once it is online, with its public address on loopback
    const address = await until(() => menu().find((i) => /^ {4}127\.0\.0\.1:\d+ \(click to copy\)$/.test(i.label ?? ''))?.label?.trim().split(' ')[0], 'the demo tunnel in the tray');
    expect(menu().find((i) => i.label?.startsWith('demo-web'))).toMatchObject({ label: 'demo-web (online)', checked: true });
    expect(fake.Tray.created[0]!.images.at(-1)).toBe('/app/build/icons/tray/burrow-tray-online-light.png');
    const page = await (await fetch(`http://${address}/`)).text();
    expect(page).toContain('Hello from behind the NAT!');

    // the page's link to the demo opens in the browser (and only that loopback address)
    const withUrl = await untilAsync(async () => {
      const r = await invoke('console.mode');
      return r.ok ? (r.result as { demoUrl?: string }).demoUrl : undefined;
    }, 'the demo URL');
    expect(withUrl).toBe(`http://${address}/`);
    const contents = fake.BrowserWindow.created[0]!.webContents;
    fake.app.emit('web-contents-created', {}, contents); // what Electron does for the window's page
    // the host announces the demo URL (mode event) as soon as the tunnel is up; the main process follows it
    await until(() => (contents.windowOpenHandler!({ url: withUrl }), fake.shell.opened.length > 0 ? true : undefined), 'the demo page opened in the browser', 5000);
    expect(contents.windowOpenHandler!({ url: withUrl })).toEqual({ action: 'deny' }); // never an Electron window
    expect(fake.shell.opened).toEqual([withUrl, withUrl]);
    contents.windowOpenHandler!({ url: 'http://127.0.0.1:1/' });
    expect(fake.shell.opened).toHaveLength(2);

    // the user's own config file is not written by the demo
    await expect(readFile(configFile, 'utf8')).rejects.toThrow();

    await desktop.quit();
    expect(fake.app.exitCode).toBe(0);
    expect(await canConnect(address)).toBe(false);
  });
});

async function untilAsync<T>(what: () => Promise<T | undefined>, label: string, ms = 20_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    const v = await what();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${label}`);
}
