/**
 * The preload: one small bridge, `window.burrow = { channels, streams, invoke, subscribe }`, built
 * from the contract's names (the main process passes them in argv, see window.ts). Sandboxed
 * preloads are CommonJS (./package.json makes tsc emit this folder as CommonJS) and may
 * require only 'electron', so this file imports nothing else at
 * run time (the names of shared/ipc/bridge.ts are repeated here; preload.test.ts checks they agree).
 * ipcRenderer itself is never exposed, nor the IPC event (whose `sender` would be ipcRenderer).
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { ContractBridge } from '../../shared/ipc/bridge.js';

export const IPC_INVOKE = 'burrow:invoke';
export const IPC_EVENT = 'burrow:event';
export const CONTRACT_ARG = '--burrow-contract=';

interface Ipc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

function contractNames(argv: readonly string[]): { channels: string[]; streams: string[] } {
  const arg = argv.find((a) => a.startsWith(CONTRACT_ARG));
  try {
    const names = JSON.parse(arg?.slice(CONTRACT_ARG.length) ?? '') as { channels?: unknown; streams?: unknown };
    const strings = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
    return { channels: strings(names.channels), streams: strings(names.streams) };
  } catch {
    return { channels: [], streams: [] };
  }
}

export function createBridge(ipc: Ipc, argv: readonly string[]): ContractBridge {
  const { channels, streams } = contractNames(argv);
  return Object.freeze({
    channels: Object.freeze([...channels]),
    streams: Object.freeze([...streams]),
    invoke(channel: string, payload: unknown): Promise<unknown> {
      if (typeof channel !== 'string' || !channels.includes(channel)) {
        return Promise.resolve({ kind: 'response', id: null, ok: false, error: { code: 'unknown-channel', message: `unknown channel "${String(channel)}"` } });
      }
      return ipc.invoke(IPC_INVOKE, channel, payload);
    },
    subscribe(stream: string, listener: (payload: unknown) => void): () => void {
      if (!streams.includes(stream)) throw new Error(`unknown event stream "${String(stream)}"`);
      const forward = (_event: unknown, name: unknown, payload: unknown) => {
        if (name === stream) listener(payload);
      };
      ipc.on(IPC_EVENT, forward);
      return () => void ipc.removeListener(IPC_EVENT, forward);
    },
  });
}

contextBridge.exposeInMainWorld('burrow', createBridge(ipcRenderer, process.argv));
