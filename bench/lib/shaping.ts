/**
 * Link shaping for the lab: a tbf (token bucket) qdisc on both ends of a public host's veth, so
 * traffic to and from that host is held to a rate. (`tc netem` is not available here; tbf is.)
 */
import type { BenchLab, LabHost } from './natlab.js';

/** tc arguments of the shaper: `rate` Mbit/s, a 2.5 ms burst (at least 16 KiB), 20 ms of queue. */
export function tbfArgs(dev: string, rateMbit: number): string[] {
  const burstBytes = Math.max(16 * 1024, Math.round((rateMbit * 1e6) / 8 / 400));
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes), 'latency', '20ms'];
}

function ends(lab: BenchLab, host: LabHost): Array<{ ns: string; dev: string }> {
  if (!host.veth) throw new Error(`host ${host.ns} (kind ${host.kind}) has no veth on the bridge to shape`);
  return [
    { ns: host.ns, dev: host.veth.hostSide },
    { ns: lab.bridge, dev: host.veth.bridgeSide },
  ];
}

/** Shape both directions of the host's link to `rateMbit`. */
export function shapeHost(lab: BenchLab, host: LabHost, rateMbit: number): void {
  for (const e of ends(lab, host)) lab.exec(e.ns, 'tc', tbfArgs(e.dev, rateMbit));
}

/** Back to the default qdisc on both ends. */
export function unshapeHost(lab: BenchLab, host: LabHost): void {
  for (const e of ends(lab, host)) {
    try {
      lab.exec(e.ns, 'tc', ['qdisc', 'del', 'dev', e.dev, 'root']);
    } catch {
      // no root qdisc of ours: already unshaped
    }
  }
}

/** Packets the tbf qdiscs on both ends of the host's veth have dropped so far (queue full). */
export function tbfDrops(lab: BenchLab, host: LabHost): number {
  let sum = 0;
  for (const e of ends(lab, host)) {
    const m = /dropped (\d+)/.exec(lab.exec(e.ns, 'tc', ['-s', 'qdisc', 'show', 'dev', e.dev, 'root']));
    sum += m ? Number(m[1]) : 0;
  }
  return sum;
}
