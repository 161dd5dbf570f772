import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { TrafficSample } from '../../shared/ipc/contract.js';
import { COUNT_INCREMENTS, formatRate, rateSeries, relativeTimeLabel, TIME_INCREMENTS, timeRange } from './view.js';

export interface SeriesSpec {
  label: string;
  stroke: string;
  dash?: number[];
}

const COLORS = ['#2b7bd6', '#d6762b', '#2f9e44', '#ae3ec9', '#e03131', '#1098ad', '#f59f00'];
export const seriesColor = (i: number): string => COLORS[i % COLORS.length]!;

/**
 * A uPlot line chart over the last 10 minutes: x is seconds relative to the newest sample, labelled
 * "−30 s", "−2 min", "now" on whole-second/minute ticks.
 */
export function LineChart({ data, series, label, format, height = 200, whole = false, legend = true }: { data: number[][]; series: SeriesSpec[]; label: string; format: (v: number) => string; height?: number; /** whole numbers only on the y axis (counts) */ whole?: boolean; legend?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const key = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current!;
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#ccc' : '#333', grid: { stroke: dark ? '#333' : '#e5e5e5' }, ticks: { stroke: dark ? '#444' : '#ccc' } };
    const width = () => Math.max(260, el.clientWidth - 2);
    plot.current = new uPlot(
      {
        width: width(),
        height,
        legend: { show: legend },
        scales: { x: { time: false, range: (_u, min) => timeRange([min]) }, y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] } },
        series: [{ label: 'time', value: (_u, v) => (v == null ? '' : relativeTimeLabel(v)) }, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, ...(s.dash ? { dash: s.dash } : {}), value: (_u: uPlot, v: number | null) => (v == null ? '' : format(v)) }))],
        axes: [
          { ...axis, incrs: TIME_INCREMENTS, values: (_u, v) => v.map((x) => relativeTimeLabel(x)) },
          { ...axis, size: 80, ...(whole ? { incrs: COUNT_INCREMENTS } : {}), values: (_u, v) => v.map((x) => format(x)) },
        ],
      },
      [[], ...series.map(() => [])],
      el,
    );
    const resize = () => plot.current?.setSize({ width: width(), height });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.current?.destroy();
    };
  }, [key, height, whole, legend]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return <div ref={box} role="img" aria-label={label} className="chart" />;
}

/** Bytes/s in and out for one tunnel or the total. */
export function TrafficChart({ samples, tunnel, height, legend = true }: { samples: TrafficSample[]; tunnel?: string; height?: number; legend?: boolean }) {
  return (
    <LineChart
      data={rateSeries(samples, tunnel)}
      series={[
        { label: 'in (received from remote users)', stroke: '#2b7bd6' },
        { label: 'out (sent to remote users)', stroke: '#d6762b', dash: [8, 4] },
      ]}
      label={`traffic chart${tunnel ? ` of ${tunnel}` : ''}: bytes per second in and out, last 10 minutes`}
      format={formatRate}
      {...(height ? { height } : {})}
      legend={legend}
    />
  );
}
