import { beforeEach, describe, expect, it, vi } from 'vitest';
import { Router, type Handlers } from '../shared/ipc/router.js';
import * as fake from './fake-electron.js';
import { attachIpcTransport } from './ipc-transport.js';

vi.mock('electron', () => import('./fake-electron.js'));

const status = { server: 's:7000', clientId: 'c', state: 'online' as const, reconnects: 0, tunnels: [], visitors: [] };

function setup() {
  const calls: string[] = [];
  const handlers = new Proxy({} as Handlers, {
    get: (_t, channel: string) => () => {
      calls.push(channel);
      return channel === 'status.get' ? status : { ok: true };
    },
  });
  const warnings: string[] = [];
  const router = new Router(handlers, { warn: (_f, m) => warnings.push(m) });
  const contents = new fake.FakeWebContents();
  const transport = attachIpcTransport(router, () => [contents as never], { warn: (_f, m) => warnings.push(m) });
  const invoke = (frameUrl: string | null, channel: unknown, payload: unknown) =>
    fake.ipcMain.handlers.get('burrow:invoke')!({ senderFrame: frameUrl === null ? null : { url: frameUrl } } as never, channel as never, payload as never) as Promise<unknown>;
  return { router, contents, transport, invoke, calls, warnings };
}

describe('the router over Electron IPC', () => {
  beforeEach(() => fake.resetFake());

  it('answers a request from the app page through the router', async () => {
    const { invoke } = setup();
    await expect(invoke('burrow://app/index.html', 'status.get', {})).resolves.toEqual({ kind: 'response', id: 0, ok: true, result: status });
    await expect(invoke('burrow://app/index.html', 'tunnels.remove', { name: 'x'.repeat(500) })).resolves.toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });

  it('refuses a message from a foreign or vanished frame without reaching any handler', async () => {
    const { invoke, calls, warnings } = setup();
    for (const url of ['https://evil.example/', 'file:///tmp/x.html', null]) {
      await expect(invoke(url, 'tunnels.remove', { name: 'ssh' })).resolves.toMatchObject({ ok: false, error: { code: 'bad-message' } });
    }
    expect(calls).toEqual([]);
    expect(warnings).toHaveLength(3);
  });

  it('pushes events to the app window, and not to one that navigated away or closed', () => {
    const { router, contents } = setup();
    router.publish('status', status);
    expect(contents.sent).toEqual([{ channel: 'burrow:event', args: ['status', status] }]);
    contents.mainFrame = { url: 'https://evil.example/' };
    router.publish('status', status);
    contents.mainFrame = { url: 'burrow://app/index.html' };
    contents.destroyed = true;
    router.publish('status', status);
    expect(contents.sent).toHaveLength(1);
  });

  it('stops on close: no handler left, no more events', () => {
    const { router, contents, transport } = setup();
    transport.close();
    expect(fake.ipcMain.handlers.has('burrow:invoke')).toBe(false);
    router.publish('status', status);
    expect(contents.sent).toEqual([]);
    expect(router.connections).toBe(0);
  });
});
