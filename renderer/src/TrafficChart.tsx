import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { TrafficSample } from '../../shared/ipc/contract.js';
import { chartSeries, formatRate } from './view.js';

/** Total bytes/s in and out (uPlot), redrawn on each sample. */
export function TrafficChart({ samples }: { samples: TrafficSample[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useEffect(() => {
    const el = box.current!;
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#ccc' : '#333', grid: { stroke: dark ? '#333' : '#e5e5e5' } };
    plot.current = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 200,
        series: [{}, { label: 'in', stroke: '#2b7bd6', width: 2 }, { label: 'out', stroke: '#d6762b', width: 2, dash: [8, 4] }],
        axes: [axis, { ...axis, size: 90, values: (_u, v) => v.map((x) => formatRate(x)) }],
      },
      [[], [], []],
      el,
    );
    const resize = () => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: 200 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.current?.destroy();
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(chartSeries(samples));
  }, [samples]);

  return <div ref={box} role="img" aria-label="traffic chart: bytes per second in and out, last 10 minutes" className="chart" />;
}
