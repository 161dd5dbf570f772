import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ContractClient } from '../../../shared/ipc/client.js';
import type { ConsoleState } from '../store.js';
import type { NatReport } from '../types.js';
import { filteringInWords, mappingInWords, NAT_STEPS, natReportText, natVerdictWords, stepStateInWords } from '../view.js';

/** The NAT wizard: runs the engine's detector step by step and ends with a verdict in plain words. */
export function NatPage({ client, store }: { client: ContractClient; store: StoreApi<ConsoleState> }) {
  const steps = useStore(store, (s) => s.natSteps);
  const [stun, setStun] = useState('');
  const [lifetime, setLifetime] = useState(false);
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<NatReport | undefined>();
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    void client.call('nat.defaults', {}).then((d) => setStun((s) => s || d.stun));
  }, [client]);

  const run = async () => {
    setRunning(true);
    setReport(undefined);
    setProblem(undefined);
    store.setState({ natSteps: {} });
    try {
      setReport(await client.call('nat.run', { stun, lifetime }));
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setRunning(false);
    }
  };
  const save = () => {
    if (!report) return;
    const url = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'burrow-nat-report.json';
    a.click();
    URL.revokeObjectURL(url);
  };
  const words = report && natVerdictWords(report);

  return (
    <section aria-labelledby="nat-heading">
      <h2 id="nat-heading">NAT check: can this machine connect directly?</h2>
      <p className="hint">Burrow asks a STUN server how your router (NAT) treats this machine's traffic, then says what that means for direct peer-to-peer connections.</p>
      <form
        aria-label="NAT check"
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label>
          STUN server <input value={stun} onChange={(e) => setStun(e.target.value)} placeholder="stun.example.org:3478" required />
        </label>
        <label className="inline">
          <input type="checkbox" checked={lifetime} onChange={(e) => setLifetime(e.target.checked)} /> Also measure how long the router keeps a mapping (about a minute)
        </label>
        <button type="submit" disabled={running}>
          {running ? 'Checking…' : 'Run the NAT check'}
        </button>
      </form>
      <ol className="steps" aria-label="NAT check steps">
        {NAT_STEPS.map(({ step, title }) => {
          const s = steps[step];
          const state = s?.state ?? 'waiting';
          return (
            <li key={step} className={`step ${state}`} aria-label={title}>
              <span className="step-title">{title}</span>
              <span className="step-state">{stepStateInWords(state, s?.detail)}</span>
            </li>
          );
        })}
      </ol>
      {problem && <p role="alert">{problem}</p>}
      {report && words && (
        <article aria-label="NAT verdict" className={`verdict ${words.difficulty}`}>
          <h3>{words.headline}</h3>
          <dl>
            <dt>Seen from outside as</dt>
            <dd>{report.mappedAddress ?? 'no reply'}</dd>
            <dt>Mapping</dt>
            <dd aria-label="mapping">{mappingInWords(report.mapping)}</dd>
            <dt>Filtering</dt>
            <dd aria-label="filtering">{filteringInWords(report.filtering)}</dd>
            <dt>Hairpinning</dt>
            <dd>{report.hairpinning === 'unknown' ? 'no reply' : report.hairpinning ? 'works' : 'does not work'}</dd>
          </dl>
          <h4>Direct connections with each kind of peer</h4>
          <table>
            <thead>
              <tr>
                <th scope="col">Peer</th>
                <th scope="col">Path</th>
              </tr>
            </thead>
            <tbody>
              {words.peers.map((p) => (
                <tr key={p.peer}>
                  <td>{p.peer}</td>
                  <td>{p.path}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h4>What you can do</h4>
          <ul>
            {words.advice.map((a) => (
              <li key={a}>{a}</li>
            ))}
          </ul>
          {report.notes.length > 0 && (
            <details>
              <summary>Notes from the tests</summary>
              <ul>
                {report.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            </details>
          )}
          <p className="footnote">
            Classic name (RFC 3489): {report.classicName}
            {report.partial ? ' (partial: the server has only an alternate port or address)' : ''}.
          </p>
          <div className="row">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(natReportText(report))}>
              Copy report
            </button>
            <button type="button" onClick={save}>
              Save report as JSON
            </button>
          </div>
        </article>
      )}
    </section>
  );
}
