import { useState } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ContractClient } from '../../../shared/ipc/client.js';
import type { EventOf, RequestOf } from '../../../shared/ipc/contract.js';
import type { ConsoleState } from '../store.js';
import { TunnelForm, type FormTarget, type TunnelInput } from '../TunnelForm.js';
import { formatRate, pathInWords, pathOf, stateInWords } from '../view.js';

type Status = EventOf<'status'>;
type TunnelStatus = Status['tunnels'][number];
type VisitorStatus = Status['visitors'][number];

export function TunnelsPage({ client, store }: { client: ContractClient; store: StoreApi<ConsoleState> }) {
  const status = useStore(store, (s) => s.status);
  const samples = useStore(store, (s) => s.samples);
  const health = useStore(store, (s) => s.health);
  const mode = useStore(store, (s) => s.mode);
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
    const { tunnels } = await client.call('tunnels.listAsWritten', {});
    const tunnel = tunnels.find((t) => t.name === name);
    if (tunnel) setForm({ original: name, tunnel: tunnel as TunnelInput });
  };

  return (
    <>
      {mode?.mode === 'demo' && (
        <p className="note" aria-label="try it locally">
          Trying it locally: a Burrow server runs inside this app, on your machine only, and the tunnel <strong>demo-web</strong> makes a built-in demo page reachable through it.{' '}
          {mode.demoUrl && (
            <>
              Open <a href={mode.demoUrl} target="_blank" rel="noreferrer">{mode.demoUrl}</a> to see it. 
            </>
          )}{' '}
          When you are ready, connect to your own server in Settings.
        </p>
      )}
      <section aria-labelledby="tunnels-heading">
        <div className="row">
          <h2 id="tunnels-heading">Tunnels</h2>
          <button type="button" onClick={() => setForm({})}>
            Add tunnel
          </button>
        </div>
        {form && (
          <TunnelForm
            key={form.original ?? '+'}
            target={form}
            check={(address, type) => client.call('local.check', { address, type })}
            onCancel={() => setForm(undefined)}
            onSave={async (tunnel) => {
              await client.call('tunnels.save', { ...(form.original !== undefined ? { original: form.original } : {}), tunnel: tunnel as RequestOf<'tunnels.save'>['tunnel'] });
              setForm(undefined);
            }}
          />
        )}
        {status && status.tunnels.length === 0 && <p>No tunnels yet. Add one to expose a local service.</p>}
        <ul className="tunnels">
          {status?.tunnels.map((t) => (
            <TunnelRow
              key={t.name}
              tunnel={t}
              rate={latest?.tunnels.find((r) => r.name === t.name)}
              local={health[t.name]}
              onToggle={(enabled) => act(() => client.call('tunnels.setEnabled', { name: t.name, enabled }))}
              onEdit={() => act(() => edit(t.name))}
              onDelete={() => act(() => client.call('tunnels.remove', { name: t.name }))}
            />
          ))}
        </ul>
      </section>
      <section aria-labelledby="visitors-heading">
        <h2 id="visitors-heading">Visitors</h2>
        {status && status.visitors.length === 0 ? (
          <p>No visitors. A visitor (in client.yaml) opens a local port that reaches another machine's secret or p2p tunnel.</p>
        ) : (
          <ul className="tunnels">
            {status?.visitors.map((v) => (
              <VisitorRow key={v.name} visitor={v} onToggle={(enabled) => act(() => client.call('visitors.setEnabled', { name: v.name, enabled }))} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function Path({ entry, name }: { entry: { type?: string; state: string; path?: unknown; p2p?: { path?: unknown } }; name: string }) {
  return (
    <span className="path" aria-label={`${name} path`}>
      path: {pathInWords(pathOf(entry))}
    </span>
  );
}

function copy(text: string) {
  void navigator.clipboard?.writeText(text);
}

function TunnelRow(props: {
  tunnel: TunnelStatus;
  rate: { inPerSec: number; outPerSec: number } | undefined;
  local: { reachable: boolean; checked: boolean; error?: string } | undefined;
  onToggle: (enabled: boolean) => void;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const { tunnel: t, rate, local } = props;
  const on = t.state !== 'stopped';
  const localDown = on && local?.checked && !local.reachable;
  return (
    <li aria-label={`tunnel ${t.name}`} className={`tunnel ${t.state}${localDown ? ' local-down' : ''}`}>
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
            <button type="button" aria-label={`Copy public address of ${t.name}`} onClick={() => copy(t.remoteAddress!)}>
              Copy
            </button>
          </>
        ) : (
          <span>{t.type === 'secret' || t.type === 'p2p' ? `${t.type} tunnel: reached through a visitor` : 'no public address yet'}</span>
        )}
      </div>
      <div className="numbers" aria-label={`${t.name} traffic`}>
        in {formatRate(rate?.inPerSec ?? 0)} · out {formatRate(rate?.outPerSec ?? 0)} · {t.activeConnections} open · {t.totalConnections} total · {t.bytesIn + t.bytesOut} bytes
      </div>
      {localDown && (
        <div className="local-problem" role="status" aria-label={`${t.name} local service`}>
          The local service at {t.local} does not answer ({local.error ?? 'no answer'}): remote users who connect get their connection reset.
        </div>
      )}
      <div className="actions">
        <Path entry={t} name={t.name} />
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

function VisitorRow({ visitor: v, onToggle }: { visitor: VisitorStatus; onToggle: (enabled: boolean) => void }) {
  const on = v.state !== 'stopped';
  return (
    <li aria-label={`visitor ${v.name}`} className={`tunnel ${v.state}`}>
      <div className="title">
        <strong>{v.name}</strong> <span className="kind">visitor</span> of {v.tunnel}
      </div>
      <div className="state" aria-label={`${v.name} state`}>
        {stateInWords(v.state, v.error)}
      </div>
      <div className="address">
        {on ? 'listens on' : 'will listen on'} <code aria-label={`${v.name} bind address`}>{v.bind}</code>
        {on ? ' ' : ' when switched on '}
        <button type="button" aria-label={`Copy bind address of ${v.name}`} onClick={() => copy(v.bind)}>
          Copy
        </button>
      </div>
      <div className="numbers" aria-label={`${v.name} traffic`}>
        {v.activeConnections} open · {v.totalConnections} total · {v.bytesIn + v.bytesOut} bytes
      </div>
      <div className="actions">
        <Path entry={v} name={v.name} />
        <button type="button" role="switch" aria-checked={on} aria-label={`${v.name} on`} className="switch" onClick={() => onToggle(!on)}>
          {on ? 'On' : 'Off'}
        </button>
      </div>
    </li>
  );
}
