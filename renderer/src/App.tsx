import { useState } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ContractClient } from '../../shared/ipc/client.js';
import type { TunnelStatusSchema } from '../../shared/ipc/contract.js';
import type { z } from 'zod';
import type { ConsoleState } from './store.js';
import { TrafficChart } from './TrafficChart.js';
import { TunnelForm, type FormTarget } from './TunnelForm.js';
import { formatRate, peak, stateInWords } from './view.js';

type TunnelStatus = z.output<typeof TunnelStatusSchema>;

export function App({ client, store }: { client: ContractClient; store: StoreApi<ConsoleState> }) {
  const status = useStore(store, (s) => s.status);
  const connected = useStore(store, (s) => s.connected);
  const samples = useStore(store, (s) => s.samples);
  const problem = useStore(store, (s) => s.problem);
  const [form, setForm] = useState<FormTarget | undefined>(undefined);
  const latest = samples.at(-1);

  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      store.setState({ problem: undefined });
    } catch (err) {
      store.setState({ problem: (err as Error).message });
    }
  };
  const edit = async (name: string) => {
    const { tunnels } = await client.call('tunnels.list', {});
    const tunnel = tunnels.find((t) => t.name === name);
    if (tunnel) setForm({ original: name, tunnel });
  };

  return (
    <main>
      <header>
        <h1>Burrow</h1>
        <p aria-label="server connection">
          {status ? `${status.server}: ${stateInWords(status.state, status.error)}` : connected ? 'Loading…' : 'Connecting to the console…'}
        </p>
      </header>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      <section aria-labelledby="tunnels-heading">
        <div className="row">
          <h2 id="tunnels-heading">Tunnels</h2>
          <button type="button" onClick={() => setForm({})}>
            Add tunnel
          </button>
        </div>
        {status && status.tunnels.length === 0 && <p>No tunnels yet. Add one to expose a local service.</p>}
        <ul className="tunnels">
          {status?.tunnels.map((t) => (
            <TunnelRow
              key={t.name}
              tunnel={t}
              rate={latest?.tunnels.find((r) => r.name === t.name)}
              onToggle={(enabled) => act(() => client.call('tunnels.setEnabled', { name: t.name, enabled }))}
              onEdit={() => act(() => edit(t.name))}
              onDelete={() => act(() => client.call('tunnels.remove', { name: t.name }))}
            />
          ))}
        </ul>
      </section>
      {form && (
        <TunnelForm
          target={form}
          onCancel={() => setForm(undefined)}
          onSave={async (tunnel) => {
            if (form.original === undefined) await client.call('tunnels.add', { tunnel });
            else await client.call('tunnels.update', { name: form.original, tunnel });
            setForm(undefined);
          }}
        />
      )}
      <section aria-labelledby="traffic-heading">
        <h2 id="traffic-heading">Traffic, last 10 minutes (this machine)</h2>
        <p>
          Total: in {formatRate(latest?.total.inPerSec ?? 0)}, out {formatRate(latest?.total.outPerSec ?? 0)}, {latest?.total.activeConnections ?? 0} connections
        </p>
        <p aria-label="peak traffic">
          Peak in these 10 minutes: in {formatRate(peak(samples, 'inPerSec'))}, out {formatRate(peak(samples, 'outPerSec'))}
        </p>
        <TrafficChart samples={samples} />
      </section>
    </main>
  );
}

function TunnelRow(props: {
  tunnel: TunnelStatus;
  rate: { inPerSec: number; outPerSec: number } | undefined;
  onToggle: (enabled: boolean) => void;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const { tunnel: t, rate } = props;
  const on = t.state !== 'stopped';
  return (
    <li aria-label={`tunnel ${t.name}`} className={`tunnel ${t.state}`}>
      <div className="title">
        <strong>{t.name}</strong> <span className="kind">{t.type}</span> → {t.local}
      </div>
      <div className="state" aria-label={`${t.name} state`}>
        {stateInWords(t.state, t.error)}
      </div>
      <div className="address">
        {t.remoteAddress ? (
          <>
            <code aria-label={`${t.name} public address`}>{t.remoteAddress}</code>{' '}
            <button type="button" aria-label={`Copy public address of ${t.name}`} onClick={() => void navigator.clipboard?.writeText(t.remoteAddress!)}>
              Copy
            </button>
          </>
        ) : (
          <span>{t.type === 'secret' ? 'secret tunnel: reached through a visitor' : 'no public address yet'}</span>
        )}
      </div>
      <div className="numbers" aria-label={`${t.name} traffic`}>
        in {formatRate(rate?.inPerSec ?? 0)} · out {formatRate(rate?.outPerSec ?? 0)} · {t.activeConnections} open · {t.totalConnections} total · {t.bytesIn + t.bytesOut} bytes
      </div>
      <div className="actions">
        <button type="button" role="switch" aria-checked={on} aria-label={`${t.name} on`} className="switch" onClick={() => props.onToggle(!on)}>
          {on ? 'On' : 'Off'}
        </button>
        <button type="button" aria-label={`Edit ${t.name}`} onClick={props.onEdit}>
          Edit
        </button>
        <button type="button" aria-label={`Delete ${t.name}`} onClick={props.onDelete}>
          Delete
        </button>
      </div>
    </li>
  );
}
