import { useEffect, useState } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import { useStore } from 'zustand';
import type { ContractClient } from '../../../shared/ipc/client.js';
import type { ConsoleState } from '../store.js';
import type { Settings } from '../types.js';
import { ConnectForm } from './Welcome.js';

export function SettingsPage({ client, store }: { client: ContractClient; store: StoreApi<ConsoleState> }) {
  const status = useStore(store, (s) => s.status);
  const mode = useStore(store, (s) => s.mode);
  const [settings, setSettings] = useState<Settings | undefined>();
  const [token, setToken] = useState<string | undefined>();
  const [changing, setChanging] = useState(false);

  useEffect(() => {
    void client.call('settings.get', {}).then(setSettings);
  }, [client, status?.serverFingerprint, status?.server, mode]);

  if (!settings) return <p>Loading…</p>;
  const pinned = settings.configuredFingerprint;
  const seen = settings.seenFingerprint;
  return (
    <section aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <dl className="settings">
        <dt>Config file</dt>
        <dd>
          <code>{settings.configFile}</code> (edits by hand are picked up live)
        </dd>
        <dt>Server address</dt>
        <dd aria-label="server address">
          {settings.server} {settings.tls ? '(TLS)' : '(TLS off: traffic to the server is not encrypted)'}
        </dd>
        <dt>Token</dt>
        <dd>
          <code aria-label="token">{token ?? settings.tokenMasked}</code>{' '}
          <button type="button" aria-pressed={token !== undefined} onClick={() => (token ? setToken(undefined) : void client.call('settings.revealToken', {}).then((r) => setToken(r.token)))}>
            {token ? 'Hide token' : 'Show token'}
          </button>
        </dd>
        <dt>Server certificate (SHA-256)</dt>
        <dd aria-label="server certificate fingerprint">
          {seen ? <code className="fingerprint">{seen}</code> : settings.tls ? 'not connected yet' : 'none (TLS off)'}
          <div className="hint">
            {pinned
              ? seen && normalize(seen) === normalize(pinned)
                ? 'Matches the fingerprint pinned in the config file.'
                : `Pinned in the config file: ${pinned}`
              : 'Not pinned: trusted on first use. Compare it with the one the server printed when it started.'}
          </div>
        </dd>
        <dt>Theme</dt>
        <dd>Follows your system (light or dark).</dd>
      </dl>
      {changing ? (
        <ConnectForm
          client={client}
          heading="Change server"
          initial={{ server: mode?.mode === 'demo' ? '' : settings.server, tls: settings.tls }}
          onDone={() => {
            setChanging(false);
            setToken(undefined);
            void client.call('settings.get', {}).then(setSettings);
          }}
          onCancel={() => setChanging(false)}
        />
      ) : (
        <button type="button" onClick={() => setChanging(true)}>
          {mode?.mode === 'demo' ? 'Connect to my server' : 'Change server or token'}
        </button>
      )}
    </section>
  );
}

const normalize = (f: string) => f.replace(/:/g, '').toLowerCase();
