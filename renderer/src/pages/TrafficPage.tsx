import { useMemo } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ConsoleState } from '../store.js';
import { LineChart, seriesColor, TrafficChart } from '../TrafficChart.js';
import { connectionSeries, formatRate, peak, tunnelNames } from '../view.js';

export function TrafficPage({ store }: { store: StoreApi<ConsoleState> }) {
  const samples = useStore(store, (s) => s.samples);
  const latest = samples.at(-1);
  const names = useMemo(() => tunnelNames(samples), [samples]);
  const connections = useMemo(() => connectionSeries(samples, names), [samples, names]);
  return (
    <>
      <section aria-labelledby="traffic-heading">
        <h2 id="traffic-heading">Traffic, last 10 minutes (this machine)</h2>
        <p className="hint">In: bytes this machine received from remote users, on their way to your services. Out: bytes your services sent back. Rates are measured by the engine once a second.</p>
        <p>
          Total: in {formatRate(latest?.total.inPerSec ?? 0)}, out {formatRate(latest?.total.outPerSec ?? 0)}, {latest?.total.activeConnections ?? 0} connections
        </p>
        <p aria-label="peak traffic">
          Peak in these 10 minutes: in {formatRate(peak(samples, 'inPerSec'))}, out {formatRate(peak(samples, 'outPerSec'))}
        </p>
        <TrafficChart samples={samples} />
      </section>
      <section aria-labelledby="connections-heading">
        <h2 id="connections-heading">Active connections</h2>
        <LineChart
          data={connections}
          series={[{ label: 'all tunnels', stroke: '#555' }, ...names.map((n, i) => ({ label: n, stroke: seriesColor(i + 2) }))]}
          label="active connections chart, last 10 minutes"
          format={(v) => String(Math.round(v))}
          height={160}
          whole
        />
      </section>
      <section aria-labelledby="per-tunnel-heading">
        <h2 id="per-tunnel-heading">Per tunnel</h2>
        {names.length === 0 && <p>No tunnel has carried traffic in the last 10 minutes.</p>}
        <div className="grid">
          {names.map((n) => (
            <figure key={n} className="per-tunnel">
              <figcaption>
                {n} <span className="hint">(blue: in, orange dashed: out)</span>
              </figcaption>
              <TrafficChart samples={samples} tunnel={n} height={140} legend={false} />
            </figure>
          ))}
        </div>
      </section>
    </>
  );
}
