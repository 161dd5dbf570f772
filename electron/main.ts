/**
 * The desktop app's main process: one instance, one window, the tray, and the same engine and
 * contract router `burrow console` runs (engine/console/console-host.ts), reached over Electron
 * IPC instead of the WebSocket. Closing the window keeps the app and its tunnels running in the
 * tray; "Quit" stops the engine cleanly. Without a tray host, closing the window quits and
 * --hidden is ignored (the user could not reach a hidden app).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, clipboard, dialog, Notification, session, type BrowserWindow } from 'electron';
import type { EventOf, ResponseMessage } from '../shared/ipc/contract.js';
import type { Router } from '../shared/ipc/router.js';
import type { ClientStatus } from '../shared/types/status.js';
import { APP_URL, handleAppProtocol, registerAppScheme } from './app-protocol.js';
import { disableAutostart, enableAutostart, isAutostartEnabled, START_HIDDEN_FLAG } from './autostart.js';
import { loadSettings, saveSettings } from './desktop-settings.js';
import { createLinkPolicy, type LinkPolicy } from './external-links.js';
import { attachIpcTransport } from './ipc-transport.js';
import { StatusNotifier } from './notifications.js';
import type { TrayAction } from './tray-menu.js';
import { TrayController } from './tray.js';
import { createMainWindow, secureSession, secureWebContents } from './window.js';

export interface DesktopHost {
  router: Router;
  close(): Promise<void>;
}

export interface DesktopLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface DesktopDeps {
  argv: readonly string[];
  /** Starts the engine and the router (the console host, without a browser). */
  startHost(): Promise<DesktopHost>;
  /** Whether a tray (StatusNotifierWatcher) is there to sit in (./tray-host.ts). */
  trayHost(): Promise<boolean>;
  preload: string;
  rendererDir: string;
  trayIconDir: string;
  windowIcon?: string;
  settingsFile: string;
  autostartFile: string;
  /** What the autostart entry runs (./autostart.ts launchCommand). */
  launchCommand: string[];
  log: DesktopLog;
}

export interface DesktopApp {
  readonly window: BrowserWindow | undefined;
  readonly tray: TrayController | undefined;
  showWindow(page?: string): void;
  act(action: TrayAction): Promise<void>;
  /** Stops the engine, then exits the app (what "Quit" does). */
  quit(): Promise<void>;
}

type ConsoleMode = EventOf<'mode'>;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function startDesktopApp(deps: DesktopDeps): Promise<DesktopApp | undefined> {
  const { log } = deps;
  // A second launch: hand over to the first (its 'second-instance' focuses the window) and leave.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }
  registerAppScheme();
  // Until the settings are read, no link opens; then the allow-list from them, plus the demo page while it runs.
  let links: LinkPolicy = createLinkPolicy([]);
  app.on('web-contents-created', (_event, contents) => secureWebContents(contents, { isAllowed: (url) => links.isAllowed(url) }));

  let window: BrowserWindow | undefined;
  let tray: TrayController | undefined;
  let host: DesktopHost | undefined;
  let closeTransport = () => {};
  let stopping: Promise<void> | undefined;
  let stopped = false;

  const showWindow = (page?: string) => {
    if (!window || window.isDestroyed()) {
      const w = createMainWindow(deps.preload, page, deps.windowIcon);
      window = w;
      w.on('close', (event) => {
        // Closing the window keeps the tunnels running, in the tray (when there is one to reach it by).
        if (stopping === undefined && tray !== undefined) {
          event.preventDefault();
          w.hide();
        }
      });
      w.on('closed', () => {
        if (window === w) window = undefined;
      });
    } else if (page !== undefined) {
      void window.loadURL(`${APP_URL}#${page}`);
    }
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };

  const quit = (): Promise<void> =>
    (stopping ??= (async () => {
      tray?.destroy();
      tray = undefined;
      closeTransport();
      try {
        await host?.close();
      } catch (err) {
        log.error({ reason: message(err) }, 'the engine did not stop cleanly');
      }
      stopped = true;
      app.exit(0);
    })());

  app.on('second-instance', () => showWindow());
  app.on('window-all-closed', () => {
    if (tray === undefined) void quit();
  });
  // A quit from elsewhere (logout, app.quit()) also stops the engine first.
  app.on('before-quit', (event) => {
    if (!stopped) {
      event.preventDefault();
      void quit();
    }
  });

  await app.whenReady();
  secureSession(session.defaultSession);
  handleAppProtocol(deps.rendererDir);
  try {
    host = await deps.startHost();
  } catch (err) {
    log.error({ reason: message(err) }, 'the engine did not start');
    dialog.showErrorBox('Burrow could not start', `${message(err)}\n\nFix the problem and start Burrow again (burrow console shows the same in a terminal).`);
    stopped = true;
    app.exit(1);
    return undefined;
  }
  const router = host.router;
  closeTransport = attachIpcTransport(router, () => (window && !window.isDestroyed() ? [window.webContents] : []), log).close;

  const settings = await loadSettings(deps.settingsFile);
  links = createLinkPolicy(settings.externalLinks, (entry, reason) => log.warn({ file: deps.settingsFile, entry, reason }, 'externalLinks: entry ignored'));
  let autostart = await isAutostartEnabled(deps.autostartFile);
  const notifier = new StatusNotifier({ show: (n) => Notification.isSupported() && new Notification({ title: n.title, body: n.body }).show() }, settings.notifications);
  const options = () => ({ notifications: settings.notifications, autostart });

  const request = (channel: string, payload: unknown): Promise<ResponseMessage> => router.handle({ kind: 'request', id: 0, channel, payload });

  const act = async (action: TrayAction): Promise<void> => {
    switch (action.kind) {
      case 'toggle-tunnel': {
        const reply = await request('tunnels.setEnabled', { name: action.name, enabled: action.enabled });
        if (!reply.ok) log.warn({ tunnel: action.name, reason: reply.error.message }, 'could not switch the tunnel');
        return;
      }
      case 'toggle-visitor': {
        const reply = await request('visitors.setEnabled', { name: action.name, enabled: action.enabled });
        if (!reply.ok) log.warn({ visitor: action.name, reason: reply.error.message }, 'could not switch the visitor');
        return;
      }
      case 'copy':
        clipboard.writeText(action.text);
        return;
      case 'open':
        showWindow();
        return;
      case 'nat-diagnosis':
        showWindow('nat');
        return;
      case 'toggle-notifications':
        settings.notifications = notifier.enabled = action.enabled;
        await saveSettings(deps.settingsFile, settings).catch((err: unknown) => log.warn({ reason: message(err) }, 'could not save the desktop settings'));
        tray?.setOptions(options());
        return;
      case 'toggle-autostart':
        try {
          if (action.enabled) await enableAutostart(deps.autostartFile, deps.launchCommand);
          else await disableAutostart(deps.autostartFile);
        } catch (err) {
          log.warn({ file: deps.autostartFile, reason: message(err) }, 'could not change Start at login');
        }
        autostart = await isAutostartEnabled(deps.autostartFile);
        tray?.setOptions(options());
        return;
      case 'quit':
        await quit();
        return;
    }
  };

  if (await deps.trayHost()) tray = new TrayController(deps.trayIconDir, options(), (a) => void act(a));
  else log.warn({}, 'no tray host (StatusNotifierWatcher) on this desktop: closing the window quits Burrow');

  const onStatus = (status: ClientStatus) => {
    tray?.update(status);
    notifier.update(status);
  };
  router.connect({
    send: (m) => {
      if (m.kind !== 'event') return;
      if (m.stream === 'status') onStatus(m.payload as ClientStatus);
      // "Try it locally": the page links to the demo page, which opens in the browser while it runs.
      if (m.stream === 'mode') links.setDemoPage((m.payload as ConsoleMode).demoUrl);
    },
  });
  const first = await request('status.get', {});
  if (first.ok) onStatus(first.result as ClientStatus);
  const mode = await request('console.mode', {});
  if (mode.ok) links.setDemoPage((mode.result as ConsoleMode).demoUrl);

  if (!(deps.argv.includes(START_HIDDEN_FLAG) && tray !== undefined)) showWindow();
  log.info({ tray: tray !== undefined }, 'Burrow desktop app started');

  return {
    get window() {
      return window;
    },
    get tray() {
      return tray;
    },
    showWindow,
    act,
    quit,
  };
}

/** Where the built files are, seen from dist/electron/main.js (the same in the packaged app). */
function here(rel: string): string {
  return fileURLToPath(new URL(rel, import.meta.url));
}

async function bootstrap(): Promise<void> {
  const [{ startDesktopHost }, { createLogger }, { defaultStateDir }, { autostartFile, launchCommand }, { hasTrayHost }] = await Promise.all([
    import('./desktop-host.js'),
    import('../io/logger.js'),
    import('../io/state-dir.js'),
    import('./autostart.js'),
    import('./tray-host.js'),
  ]);
  const logger = createLogger({ name: 'desktop' });
  const xdg = process.env.XDG_CONFIG_HOME?.startsWith('/') ? process.env.XDG_CONFIG_HOME : join(app.getPath('home'), '.config');
  await startDesktopApp({
    argv: process.argv,
    // "Try it locally" included: the same embedded server and demo page as burrow console.
    startHost: () => startDesktopHost({ configFile: join(xdg, 'burrow', 'client.yaml'), logger, stateDir: defaultStateDir('client'), rendererDir: here('../renderer/') }),
    trayHost: () => hasTrayHost(),
    preload: here('./preload/preload.js'),
    rendererDir: here('../renderer/'),
    trayIconDir: here('../../build/icons/tray/'),
    windowIcon: here('../../build/icons/png/512x512.png'),
    settingsFile: join(app.getPath('userData'), 'desktop-settings.json'),
    autostartFile: autostartFile(),
    launchCommand: launchCommand({ execPath: process.execPath, appImage: process.env.APPIMAGE, isPackaged: app.isPackaged, appPath: app.getAppPath() }),
    log: logger,
  });
}

// Run only inside Electron's main process; importing this file elsewhere (the tests) starts nothing.
if (process.versions.electron !== undefined && (process as { type?: string }).type === 'browser') void bootstrap();
