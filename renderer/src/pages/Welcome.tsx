import { useState } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ContractClient } from '../../../shared/ipc/client.js';
import type { ResponseOf } from '../../../shared/ipc/contract.js';
import type { ConsoleState } from '../store.js';

/** First start, no server configured: try it on this machine, or connect to a server. */
export function Welcome({ client, store }: { client: ContractClient; store: StoreApi<ConsoleState> }) {
  const configFile = useStore(store, (s) => s.mode?.configFile);
  const [starting, setStarting] = useState(false);
  const [connect, setConnect] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const tryIt = async () => {
    setStarting(true);
    setProblem(undefined);
    try {
      const mode = await client.call('setup.tryLocally', {});
      store.setState({ mode, page: 'tunnels' });
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setStarting(false);
    }
  };
  return (
    <section aria-labelledby="welcome-heading" className="welcome">
      <h2 id="welcome-heading">Welcome to Burrow</h2>
      <p>Burrow makes a service on this machine (a web app, SSH, a game server) reachable from outside, through a Burrow server on a public host. No server is configured yet.</p>
      <p className="hint">
        Settings are kept in <code aria-label="config file">{configFile}</code>, the same file <code>burrow client</code> reads.
      </p>
      <div className="choices">
        <div className="choice">
          <h3>Try it locally</h3>
          <p>Starts a Burrow server inside this app, on this machine only, with a demo web page and a tunnel to it: you see a working tunnel and moving traffic in a few seconds.</p>
          <button type="button" className="primary" disabled={starting} onClick={() => void tryIt()}>
            {starting ? 'Starting…' : 'Try it locally'}
          </button>
        </div>
        <div className="choice">
          <h3>Connect to my server</h3>
          <p>You run <code>burrow server</code> on a public host: enter its address and token.</p>
          {connect ? (
            <ConnectForm client={client} heading="Connect to my server" onDone={(mode) => store.setState({ mode, page: 'tunnels' })} onCancel={() => setConnect(false)} />
          ) : (
            <button type="button" onClick={() => setConnect(true)}>
              Connect to my server
            </button>
          )}
        </div>
      </div>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}

export function ConnectForm(props: {
  client: ContractClient;
  heading: string;
  initial?: { server?: string; tls?: boolean };
  onDone: (mode: ResponseOf<'setup.connect'>) => void;
  onCancel: () => void;
}) {
  const [server, setServer] = useState(props.initial?.server ?? '');
  const [token, setToken] = useState('');
  const [tls, setTls] = useState(props.initial?.tls ?? true);
  const [fingerprint, setFingerprint] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <form
      aria-label={props.heading}
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setProblem(undefined);
        props.client
          .call('setup.connect', { server: server.trim(), token, tls, ...(fingerprint.trim() ? { serverFingerprint: fingerprint.trim() } : {}) })
          .then((mode) => props.onDone(mode))
          .catch((err: Error) => setProblem(err.message))
          .finally(() => setBusy(false));
      }}
    >
      <label>
        Server address <input value={server} onChange={(e) => setServer(e.target.value)} placeholder="relay.example.org:7000" required />
      </label>
      <label>
        Token <input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" required />
      </label>
      <label>
        Certificate fingerprint (optional) <input value={fingerprint} onChange={(e) => setFingerprint(e.target.value)} placeholder="AB:CD:… as the server printed it" />
      </label>
      <label className="inline">
        <input type="checkbox" checked={tls} onChange={(e) => setTls(e.target.checked)} /> Use TLS
      </label>
      {problem && <p role="alert">{problem}</p>}
      <div className="row">
        <button type="submit" disabled={busy}>
          Save and connect
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
