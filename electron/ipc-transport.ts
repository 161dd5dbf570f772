/**
 * The contract's router over Electron IPC, the desktop app's counterpart of the console's
 * WebSocket: requests arrive on ipcMain.handle(IPC_INVOKE), events go out with webContents.send.
 * A message whose sender frame is not the app's page (burrow://app/) is refused before the router
 * sees it.
 */
import type { IpcMainInvokeEvent, WebContents } from 'electron';
import { ipcMain } from 'electron';
import { IPC_EVENT, IPC_INVOKE } from '../shared/ipc/bridge.js';
import type { ResponseMessage } from '../shared/ipc/contract.js';
import type { Router, RouterLog } from '../shared/ipc/router.js';
import { isAppFrame } from './window.js';

export interface IpcTransport {
  close(): void;
}

export function attachIpcTransport(router: Router, windows: () => WebContents[], log: RouterLog): IpcTransport {
  ipcMain.handle(IPC_INVOKE, async (event: IpcMainInvokeEvent, channel: unknown, payload: unknown): Promise<ResponseMessage> => {
    if (!isAppFrame(event.senderFrame)) {
      log.warn({ frame: event.senderFrame?.url ?? '(gone)' }, 'IPC message from a frame that is not the Burrow page; refused');
      return { kind: 'response', id: null, ok: false, error: { code: 'bad-message', message: 'refused: the sender is not the Burrow window' } };
    }
    return router.handle({ kind: 'request', id: 0, channel, payload });
  });
  const connection = router.connect({
    send(message) {
      if (message.kind !== 'event') return;
      for (const contents of windows()) {
        if (!contents.isDestroyed() && isAppFrame(contents.mainFrame)) contents.send(IPC_EVENT, message.stream, message.payload);
      }
    },
  });
  return {
    close() {
      connection.close();
      ipcMain.removeHandler(IPC_INVOKE);
    },
  };
}
