/**
 * A recording stand-in for the `electron` module, for the unit tests (`vi.mock('electron', () =>
 * import('./fake-electron.js'))`): there is no Electron binary on the build machines. It has the
 * parts of the API electron/ uses, records what was called, and lets a test fire the events.
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: never[]) => unknown;

export class FakeWebContents extends EventEmitter {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  mainFrame = { url: 'burrow://app/index.html' };
  windowOpenHandler: ((details: { url: string }) => { action: 'deny' | 'allow' }) | undefined;
  destroyed = false;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' | 'allow' }) {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args });
  }
  isDestroyed() {
    return this.destroyed;
  }
}

export class BrowserWindow extends EventEmitter {
  static created: BrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  loaded: string[] = [];
  visible = false;
  focused = 0;
  minimized = false;
  destroyed = false;
  constructor(readonly options: Record<string, unknown>) {
    super();
    BrowserWindow.created.push(this);
  }
  loadURL(url: string) {
    this.loaded.push(url);
    return Promise.resolve();
  }
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {
    this.focused++;
  }
  isMinimized() {
    return this.minimized;
  }
  restore() {
    this.minimized = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  isVisible() {
    return this.visible;
  }
  /** What the user's close button does: 'close' (preventable), then 'closed'. */
  userCloses() {
    let prevented = false;
    this.emit('close', { preventDefault: () => (prevented = true) });
    if (!prevented) {
      this.destroyed = true;
      this.visible = false;
      this.emit('closed');
    }
    return !prevented;
  }
}

class FakeApp extends EventEmitter {
  lockGranted = true;
  quitCalls = 0;
  exitCode: number | undefined;
  isPackaged = false;
  private ready!: () => void;
  readonly readyPromise = new Promise<void>((r) => (this.ready = r));
  requestSingleInstanceLock() {
    return this.lockGranted;
  }
  whenReady() {
    return this.readyPromise;
  }
  becomeReady() {
    this.ready();
  }
  quit() {
    this.quitCalls++;
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (!prevented) this.exitCode ??= 0;
  }
  exit(code = 0) {
    this.exitCode = code;
  }
  getAppPath() {
    return '/src/burrow';
  }
  getPath(name: string) {
    return `/fake/${name}`;
  }
}

export let app = new FakeApp();

export const ipcMain = {
  handlers: new Map<string, Listener>(),
  handle(channel: string, handler: Listener) {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  },
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  },
};

export const ipcRenderer = Object.assign(new EventEmitter(), {
  invoked: [] as unknown[][],
  invoke(...args: unknown[]) {
    this.invoked.push(args);
    return Promise.resolve({ kind: 'response', id: 0, ok: true, result: { echoed: args } });
  },
});

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(key: string, api: unknown) {
    this.exposed.set(key, api);
  },
};

export const shell = {
  opened: [] as string[],
  openExternal(url: string) {
    this.opened.push(url);
    return Promise.resolve();
  },
};

export const clipboard = {
  text: '',
  writeText(text: string) {
    this.text = text;
  },
};

export const protocol = {
  privileged: [] as unknown[],
  handlers: new Map<string, (request: Request) => Promise<Response> | Response>(),
  registerSchemesAsPrivileged(schemes: unknown[]) {
    this.privileged.push(...schemes);
  },
  handle(scheme: string, handler: (request: Request) => Promise<Response> | Response) {
    this.handlers.set(scheme, handler);
  },
};

export const session = {
  defaultSession: {
    permissionRequestHandler: undefined as Listener | undefined,
    permissionCheckHandler: undefined as Listener | undefined,
    devicePermissionHandler: undefined as Listener | undefined,
    setPermissionRequestHandler(h: Listener) {
      this.permissionRequestHandler = h;
    },
    setPermissionCheckHandler(h: Listener) {
      this.permissionCheckHandler = h;
    },
    setDevicePermissionHandler(h: Listener) {
      this.devicePermissionHandler = h;
    },
  },
};

export class Tray extends EventEmitter {
  static created: Tray[] = [];
  menus: unknown[][] = [];
  images: string[] = [];
  tooltip = '';
  destroyed = false;
  constructor(image: { path: string }) {
    super();
    this.images.push(image.path);
    Tray.created.push(this);
  }
  setContextMenu(menu: { template: unknown[] }) {
    this.menus.push(menu.template);
  }
  setImage(image: { path: string }) {
    this.images.push(image.path);
  }
  setToolTip(text: string) {
    this.tooltip = text;
  }
  destroy() {
    this.destroyed = true;
  }
  isDestroyed() {
    return this.destroyed;
  }
}

export const Menu = {
  buildFromTemplate(template: unknown[]) {
    return { template };
  },
};

export const nativeImage = {
  createFromPath(path: string) {
    return { path };
  },
};

export const nativeTheme = Object.assign(new EventEmitter(), { shouldUseDarkColors: false });

export class Notification {
  static shown: Array<{ title: string; body: string }> = [];
  static isSupported() {
    return true;
  }
  constructor(private readonly options: { title: string; body: string }) {}
  show() {
    Notification.shown.push(this.options);
  }
}

export const dialog = {
  errors: [] as string[][],
  showErrorBox(title: string, content: string) {
    this.errors.push([title, content]);
  },
};

/** A fresh fake for each test. */
export function resetFake(): void {
  app = new FakeApp();
  BrowserWindow.created = [];
  Tray.created = [];
  Notification.shown = [];
  ipcMain.handlers.clear();
  ipcRenderer.removeAllListeners();
  ipcRenderer.invoked = [];
  contextBridge.exposed.clear();
  shell.opened = [];
  clipboard.text = '';
  protocol.privileged = [];
  protocol.handlers.clear();
  dialog.errors = [];
  nativeTheme.shouldUseDarkColors = false;
  const s = session.defaultSession;
  s.permissionRequestHandler = s.permissionCheckHandler = s.devicePermissionHandler = undefined;
}
