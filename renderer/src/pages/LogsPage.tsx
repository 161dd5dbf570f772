import { useEffect, useMemo, useRef, useState } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ConsoleState, LogLine } from '../store.js';
import { filterLogs, LOG_LEVELS, logLineText, type LogLevel } from '../view.js';

/** Live engine logs (masked by the host), filtered by level and tunnel; paused keeps the view still. */
export function LogsPage({ store }: { store: StoreApi<ConsoleState> }) {
  const live = useStore(store, (s) => s.logs);
  const [level, setLevel] = useState<LogLevel>('info');
  const [tunnel, setTunnel] = useState('');
  const [frozen, setFrozen] = useState<LogLine[] | undefined>(undefined);
  const lines = frozen ?? live;
  const tunnels = useMemo(() => [...new Set(live.flatMap((l) => (l.tunnel ? [l.tunnel] : [])))].sort(), [live]);
  const shown = filterLogs(lines, level, tunnel);
  const text = shown.map(logLineText).join('\n');
  const box = useRef<HTMLPreElement>(null);
  // follow the newest line while not paused
  useEffect(() => {
    if (!frozen && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown.length, frozen]);
  return (
    <section aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <div className="row">
        <label>
          Level{' '}
          <select value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
            {LOG_LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
        </label>
        <label>
          Tunnel{' '}
          <select value={tunnel} onChange={(e) => setTunnel(e.target.value)}>
            <option value="">all</option>
            {tunnels.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <button type="button" aria-pressed={frozen !== undefined} onClick={() => setFrozen(frozen ? undefined : live)}>
          {frozen ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => void navigator.clipboard?.writeText(text)}>
          Copy logs
        </button>
        <span>{frozen ? `paused: ${live.length - frozen.length} new lines waiting` : `${shown.length} lines`}</span>
      </div>
      <p className="hint">Tokens and secrets are masked before the lines leave the engine.</p>
      <pre ref={box} className="logs" aria-label="log lines" tabIndex={0}>
        {shown.map((l, i) => (
          <div key={i} className={`log ${l.level}`}>
            {logLineText(l)}
          </div>
        ))}
      </pre>
    </section>
  );
}
