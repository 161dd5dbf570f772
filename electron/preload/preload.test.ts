import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as bridgeNames from '../../shared/ipc/bridge.js';
import { contract } from '../../shared/ipc/contract.js';
import * as fake from '../fake-electron.js';
import { contractArgument } from '../window.js';

vi.mock('electron', () => import('../fake-electron.js'));

async function loadPreload(argv: string[]) {
  vi.resetModules();
  const saved = process.argv;
  process.argv = argv;
  try {
    return await import('./preload.js');
  } finally {
    process.argv = saved;
  }
}

describe('preload bridge', () => {
  beforeEach(() => fake.resetFake());

  it('exposes only invoke/subscribe and the contract names as window.burrow, never ipcRenderer', async () => {
    await loadPreload(['electron', contractArgument()]);
    const bridge = fake.contextBridge.exposed.get('burrow') as Record<string, unknown>;
    expect([...fake.contextBridge.exposed.keys()]).toEqual(['burrow']);
    expect(Object.keys(bridge).sort()).toEqual(['channels', 'invoke', 'streams', 'subscribe']);
    expect(Object.values(bridge)).not.toContain(fake.ipcRenderer);
    expect(bridge.channels).toEqual(Object.keys(contract.channels));
    expect(bridge.streams).toEqual(Object.keys(contract.events));
  });

  it('uses the same IPC names as the main process', async () => {
    const preload = await loadPreload(['electron']);
    expect([preload.IPC_INVOKE, preload.IPC_EVENT, preload.CONTRACT_ARG]).toEqual([bridgeNames.IPC_INVOKE, bridgeNames.IPC_EVENT, bridgeNames.CONTRACT_ARG]);
  });

  it('sends a contract channel to the main process and refuses any other name without IPC', async () => {
    const { createBridge } = await loadPreload(['electron']);
    const bridge = createBridge(fake.ipcRenderer, ['x', contractArgument()]);
    await bridge.invoke('status.get', {});
    expect(fake.ipcRenderer.invoked).toEqual([['burrow:invoke', 'status.get', {}]]);
    await expect(bridge.invoke('fs.readFile', { path: '/etc/shadow' })).resolves.toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(fake.ipcRenderer.invoked).toHaveLength(1);
  });

  it('delivers only the subscribed stream, only the payload, and stops after unsubscribe', async () => {
    const { createBridge } = await loadPreload(['electron']);
    const bridge = createBridge(fake.ipcRenderer, [contractArgument()]);
    const got: unknown[] = [];
    const off = bridge.subscribe('status', (p: unknown) => got.push(p));
    fake.ipcRenderer.emit('burrow:event', { sender: fake.ipcRenderer }, 'status', { state: 'online' });
    fake.ipcRenderer.emit('burrow:event', { sender: fake.ipcRenderer }, 'log', { message: 'x' });
    off();
    fake.ipcRenderer.emit('burrow:event', { sender: fake.ipcRenderer }, 'status', { state: 'error' });
    expect(got).toEqual([{ state: 'online' }]);
    expect(() => bridge.subscribe('nope', () => {})).toThrow('unknown event stream "nope"');
  });

  it('knows no channel at all when the main process gave no names', async () => {
    const { createBridge } = await loadPreload(['electron']);
    const bridge = createBridge(fake.ipcRenderer, ['--burrow-contract=not json']);
    expect(bridge.channels).toEqual([]);
    await expect(bridge.invoke('status.get', {})).resolves.toMatchObject({ ok: false });
  });

  it('imports nothing but electron at run time (a sandboxed preload cannot require anything else)', () => {
    const source = readFileSync('electron/preload/preload.ts', 'utf8');
    const runtime = [...source.matchAll(/^import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)].filter((m) => m[1] === undefined).map((m) => m[2]);
    expect(runtime).toEqual(['electron']);
  });
});
