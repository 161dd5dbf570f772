import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ContractClient } from '../../shared/ipc/client.js';
import type { ConsoleState, Page } from './store.js';
import { LogsPage } from './pages/LogsPage.js';
import { NatPage } from './pages/NatPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { TrafficPage } from './pages/TrafficPage.js';
import { TunnelsPage } from './pages/TunnelsPage.js';
import { Welcome } from './pages/Welcome.js';
import { stateInWords } from './view.js';

const PAGES: ReadonlyArray<{ page: Page; title: string }> = [
  { page: 'tunnels', title: 'Tunnels' },
  { page: 'traffic', title: 'Traffic' },
  { page: 'nat', title: 'NAT check' },
  { page: 'logs', title: 'Logs' },
  { page: 'settings', title: 'Settings' },
];

export function App({ client, store }: { client: ContractClient; store: StoreApi<ConsoleState> }) {
  const status = useStore(store, (s) => s.status);
  const connected = useStore(store, (s) => s.connected);
  const problem = useStore(store, (s) => s.problem);
  const mode = useStore(store, (s) => s.mode);
  const page = useStore(store, (s) => s.page);
  const empty = mode?.mode === 'empty';

  return (
    <>
      <header className="top">
        <h1>Burrow</h1>
        <p aria-label="server connection" className={`conn ${status?.state ?? ''}`}>
          {empty ? 'No server configured' : status && mode ? `${mode.mode === 'demo' ? 'Local test server' : status.server}: ${stateInWords(status.state, status.error)}` : connected ? 'Loading…' : 'Connecting to the console…'}
        </p>
        {!empty && (
          <nav aria-label="pages">
            {PAGES.map((p) => (
              <button key={p.page} type="button" aria-current={page === p.page ? 'page' : undefined} onClick={() => store.setState({ page: p.page })}>
                {p.title}
              </button>
            ))}
          </nav>
        )}
      </header>
      <main>
        {problem && (
          <p role="alert" className="problem">
            {problem}
          </p>
        )}
        {mode === undefined ? null : empty ? (
          <Welcome client={client} store={store} />
        ) : page === 'tunnels' ? (
          <TunnelsPage client={client} store={store} />
        ) : page === 'traffic' ? (
          <TrafficPage store={store} />
        ) : page === 'nat' ? (
          <NatPage client={client} store={store} />
        ) : page === 'logs' ? (
          <LogsPage store={store} />
        ) : (
          <SettingsPage client={client} store={store} />
        )}
      </main>
    </>
  );
}
