/**
 * The desktop app's second transport for the contract: the Electron preload exposes a bridge
 * (`window.burrow`) with `invoke` and `subscribe`, and `bridgeTransport` turns it into the same
 * ClientTransport the WebSocket gives, so the renderer and its typed client do not change.
 * Pure: no DOM or Electron types; the preload (electron/preload.cts) implements the interface.
 */
import type { ClientTransport } from './client.js';
import type { RequestMessage } from './contract.js';

/** ipcRenderer.invoke channel: (channel, payload) -> the router's ResponseMessage. */
export const IPC_INVOKE = 'burrow:invoke';
/** webContents.send channel: (stream, payload) for every contract event. */
export const IPC_EVENT = 'burrow:event';
/** The preload's argv entry that carries the contract's names (webPreferences.additionalArguments). */
export const CONTRACT_ARG = '--burrow-contract=';

export interface ContractBridge {
  /** The contract's channel and event names, as the main process sent them. */
  readonly channels: readonly string[];
  readonly streams: readonly string[];
  /** Resolves to the host's response message (ok or refused); rejects only if IPC itself failed. */
  invoke(channel: string, payload: unknown): Promise<unknown>;
  /** Returns the unsubscribe function. */
  subscribe(stream: string, listener: (payload: unknown) => void): () => void;
}

export function bridgeTransport(bridge: ContractBridge): ClientTransport {
  let deliver: (message: unknown) => void = () => {};
  return {
    send(message: RequestMessage) {
      bridge.invoke(message.channel, message.payload).then(
        (response) => deliver(typeof response === 'object' && response !== null ? { ...response, id: message.id } : response),
        (err: unknown) => deliver({ kind: 'response', id: message.id, ok: false, error: { code: 'failed', message: err instanceof Error ? err.message : String(err) } }),
      );
    },
    onMessage(receive) {
      deliver = receive;
      for (const stream of bridge.streams) bridge.subscribe(stream, (payload) => receive({ kind: 'event', stream, payload }));
    },
  };
}
