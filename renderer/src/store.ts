/** The renderer's state (zustand): what the host last pushed, and the traffic window for the chart. */
import { createStore } from 'zustand/vanilla';
import type { ContractClient } from '../../shared/ipc/client.js';
import type { EventOf, TrafficSample } from '../../shared/ipc/contract.js';
import { trimWindow } from './view.js';

export interface ConsoleState {
  connected: boolean;
  status: EventOf<'status'> | undefined;
  samples: TrafficSample[];
  /** Last failed action, shown to the user in words. */
  problem: string | undefined;
}

export function createConsoleStore(client: ContractClient) {
  const store = createStore<ConsoleState>(() => ({ connected: false, status: undefined, samples: [], problem: undefined }));
  client.on('status', (status) => store.setState({ status, connected: true }));
  client.on('traffic', (sample) => store.setState((s) => ({ samples: trimWindow([...s.samples, sample]) })));
  return store;
}
