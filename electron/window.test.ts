import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { contract } from '../shared/ipc/contract.js';
import { CONTENT_SECURITY_POLICY, handleAppProtocol, registerAppScheme, serveAppFile } from './app-protocol.js';
import * as fake from './fake-electron.js';
import { createLinkPolicy } from './external-links.js';
import { createMainWindow, isAppFrame, secureSession, secureWebContents, windowOptions } from './window.js';

vi.mock('electron', () => import('./fake-electron.js'));

beforeEach(() => fake.resetFake());

describe('window options (Electron security checklist)', () => {
  const prefs = windowOptions('/app/preload.js').webPreferences!;

  it('isolates and sandboxes the page, with no Node and web security on', () => {
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, preload: '/app/preload.js' });
  });

  it('hands the preload the contract names, and loads the page from burrow://app/, not file://', () => {
    const arg = prefs.additionalArguments!.find((a) => a.startsWith('--burrow-contract='))!;
    expect(JSON.parse(arg.slice('--burrow-contract='.length))).toEqual({ channels: Object.keys(contract.channels), streams: Object.keys(contract.events) });
    const w = createMainWindow('/app/preload.js') as unknown as fake.BrowserWindow;
    expect(w.loaded).toEqual(['burrow://app/index.html']);
    expect((createMainWindow('/p', 'nat') as unknown as fake.BrowserWindow).loaded).toEqual(['burrow://app/index.html#nat']);
  });
});

describe('security handlers', () => {
  it('blocks every navigation and redirect', () => {
    const contents = new fake.FakeWebContents();
    secureWebContents(contents as never, createLinkPolicy([]));
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const e = { preventDefault: vi.fn() };
      contents.emit(event, e, 'https://evil.example/');
      expect(e.preventDefault, event).toHaveBeenCalled();
    }
  });

  it('denies window.open, opening only the links the policy allows, in the browser', () => {
    const contents = new fake.FakeWebContents();
    secureWebContents(contents as never, createLinkPolicy(['https://docs.example.org/burrow/']));
    expect(contents.windowOpenHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler!({ url: 'https://docs.example.org/burrow/#tray' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler!({ url: 'https://github.com/burrow-tunnel/burrow' })).toEqual({ action: 'deny' });
    expect(fake.shell.opened).toEqual(['https://docs.example.org/burrow/#tray']);
  });

  it('denies every permission request and check', () => {
    secureSession(fake.session.defaultSession as never);
    const s = fake.session.defaultSession;
    const callback = vi.fn();
    (s.permissionRequestHandler as unknown as (...a: unknown[]) => void)({}, 'media', callback);
    expect(callback).toHaveBeenCalledWith(false);
    expect((s.permissionCheckHandler as unknown as (...a: unknown[]) => boolean)({}, 'clipboard-read')).toBe(false);
    expect((s.devicePermissionHandler as unknown as (...a: unknown[]) => boolean)({ deviceType: 'usb' })).toBe(false);
  });

  it('trusts only frames showing the app page', () => {
    expect(isAppFrame({ url: 'burrow://app/index.html' })).toBe(true);
    expect(isAppFrame({ url: 'https://evil.example/' })).toBe(false);
    expect(isAppFrame({ url: 'burrow://other/index.html' })).toBe(false);
    expect(isAppFrame({ url: 'file:///home/u/index.html' })).toBe(false);
    expect(isAppFrame(null)).toBe(false);
  });
});

describe('burrow://app/ protocol', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-renderer-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>Burrow</title>');
    await writeFile(join(dir, 'assets', 'main.js'), 'console.log(1)');
    await writeFile(join(tmpdir(), 'burrow-secret.txt'), 'secret');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('is registered as a standard secure scheme and served from the renderer folder', async () => {
    registerAppScheme();
    expect(fake.protocol.privileged).toEqual([{ scheme: 'burrow', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    handleAppProtocol(dir);
    const res = await fake.protocol.handlers.get('burrow')!(new Request('burrow://app/'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Burrow</title>');
  });

  it('sends the strict CSP with every response', async () => {
    const res = await serveAppFile('burrow://app/assets/main.js', dir);
    expect(res.headers.get('content-type')).toBe('text/javascript');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect((await serveAppFile('burrow://app/missing.js', dir)).headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('never serves a file outside the renderer folder, nor another host', async () => {
    for (const url of ['burrow://app/../burrow-secret.txt', 'burrow://app/%2e%2e/burrow-secret.txt', 'burrow://app/..%2fburrow-secret.txt', 'burrow://other/index.html']) {
      const res = await serveAppFile(url, dir);
      expect(res.status, url).toBe(404);
      expect(await res.text()).not.toBe('secret');
    }
  });
});
