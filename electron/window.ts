/**
 * The one BrowserWindow and the Electron security checklist around it: isolated, sandboxed, no
 * Node in the page, web security on, pages from burrow://app/ only, no navigation, no new windows,
 * external links only as the link policy allows (./external-links.ts; in the user's browser),
 * every permission denied.
 */
import { BrowserWindow, shell, type BrowserWindowConstructorOptions, type Session, type WebContents } from 'electron';
import { CONTRACT_ARG } from '../shared/ipc/bridge.js';
import { contract } from '../shared/ipc/contract.js';
import { APP_URL, isAppUrl } from './app-protocol.js';
import type { LinkPolicy } from './external-links.js';

/** The contract's names for the preload, which cannot import anything in the sandbox. */
export function contractArgument(): string {
  return `${CONTRACT_ARG}${JSON.stringify({ channels: Object.keys(contract.channels), streams: Object.keys(contract.events) })}`;
}

export function windowOptions(preload: string, icon?: string): BrowserWindowConstructorOptions {
  return {
    width: 1100,
    height: 760,
    minWidth: 640,
    minHeight: 480,
    title: 'Burrow',
    show: false,
    ...(icon !== undefined ? { icon } : {}),
    autoHideMenuBar: true,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      additionalArguments: [contractArgument()],
    },
  };
}

/** Every webContents the app creates (app 'web-contents-created'): nothing navigates, nothing opens. */
export function secureWebContents(contents: WebContents, links: Pick<LinkPolicy, 'isAllowed'>): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (links.isAllowed(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

/** Camera, notifications from the page, clipboard reads, USB, HID, serial: all refused. */
export function secureSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/** Whether an IPC message comes from the app's own page (not a frame that navigated elsewhere). */
export function isAppFrame(frame: { url: string } | null | undefined): boolean {
  return frame !== null && frame !== undefined && isAppUrl(frame.url);
}

export function createMainWindow(preload: string, page?: string, icon?: string): BrowserWindow {
  const window = new BrowserWindow(windowOptions(preload, icon));
  void window.loadURL(page ? `${APP_URL}#${page}` : APP_URL);
  return window;
}
