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

/** The host's history followed by the live samples that arrived after its newest one. */
export function mergeHistory(history: readonly TrafficSample[], live: readonly TrafficSample[]): TrafficSample[] {
  const last = history.at(-1)?.at ?? -Infinity;
  return trimWindow([...history, ...live.filter((s) => s.at > last)]);
}

export function createConsoleStore(client: ContractClient) {
  const store = createStore<ConsoleState>(() => ({ connected: false, status: undefined, samples: [], problem: undefined }));
  client.on('status', (status) => store.setState({ status, connected: true }));
  client.on('traffic', (sample) => store.setState((s) => ({ samples: trimWindow([...s.samples, sample]) })));
  return store;
}
