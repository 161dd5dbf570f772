/** The renderer's state (zustand): what the host last pushed, and the traffic window for the chart. */
import { createStore } from 'zustand/vanilla';
import type { ContractClient } from '../../shared/ipc/client.js';
import type { EventOf, TrafficSample } from '../../shared/ipc/contract.js';
import { trimWindow, type StepState } from './view.js';

export type LogLine = EventOf<'log'>;
export type NatProgress = EventOf<'nat.progress'>;
export type Page = 'tunnels' | 'traffic' | 'nat' | 'logs' | 'settings';

/** Log lines the page keeps (the host keeps its own 500 for a page opened late). */
export const MAX_LOG_LINES = 2000;

export interface ConsoleState {
  connected: boolean;
  status: EventOf<'status'> | undefined;
  samples: TrafficSample[];
  /** Last failed action, shown to the user in words. */
  problem: string | undefined;
  /** undefined until the host said. */
  mode: EventOf<'mode'> | undefined;
  logs: LogLine[];
  /** The NAT wizard's steps as the host reported them. */
  natSteps: Partial<Record<NatProgress['step'], { state: StepState; detail?: string }>>;
  /** Whether each tunnel's local service answers (host checks). */
  health: Record<string, { reachable: boolean; checked: boolean; error?: string }>;
  page: Page;
}

/** The host's history followed by the live samples that arrived after its newest one. */
export function mergeHistory(history: readonly TrafficSample[], live: readonly TrafficSample[]): TrafficSample[] {
  const last = history.at(-1)?.at ?? -Infinity;
  return trimWindow([...history, ...live.filter((s) => s.at > last)]);
}

/** The host's kept lines followed by those that arrived live after them, at most MAX_LOG_LINES. */
export function mergeLogs(history: readonly LogLine[], live: readonly LogLine[]): LogLine[] {
  const last = history.at(-1)?.at ?? -Infinity;
  return [...history, ...live.filter((l) => l.at > last)].slice(-MAX_LOG_LINES);
}

export function createConsoleStore(client: ContractClient) {
  const store = createStore<ConsoleState>(() => ({ connected: false, status: undefined, samples: [], problem: undefined, mode: undefined, logs: [], natSteps: {}, health: {}, page: 'tunnels' }));
  client.on('status', (status) => store.setState({ status, connected: true }));
  client.on('traffic', (sample) => store.setState((s) => ({ samples: trimWindow([...s.samples, sample]) })));
  client.on('mode', (mode) => store.setState({ mode }));
  client.on('log', (line) => store.setState((s) => ({ logs: [...s.logs, line].slice(-MAX_LOG_LINES) })));
  client.on('nat.progress', (p) => store.setState((s) => ({ natSteps: { ...s.natSteps, [p.step]: p.detail === undefined ? { state: p.state } : { state: p.state, detail: p.detail } } })));
  client.on('local.health', ({ tunnels }) => store.setState({ health: Object.fromEntries(tunnels.map(({ name, local: _local, ...h }) => [name, h])) }));
  return store;
}
