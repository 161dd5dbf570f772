/** iperf3 between lab hosts: a server in one namespace, a client run to the end in another. */
import type { BenchLab } from './natlab.js';
import { iperfMbPerSec } from './iperf.js';
import { runToEnd, spawnTracked, type Tracked } from './proc.js';
import { sleep } from './stats.js';

/** `iperf3 -s -p port` in `ns` (bound to every address of that namespace). */
export async function startIperfServerIn(lab: BenchLab, ns: string, port: number): Promise<Tracked> {
  const t = spawnTracked(`iperf3 -s (${ns})`, 'ip', ['netns', 'exec', ns, 'iperf3', '-s', '-p', String(port)]);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (t.hasExited()) throw new Error(`iperf3 -s in ${ns} exited: ${t.output()}`);
    if (lab.exec(ns, 'ss', ['-Hntl', `sport = :${port}`]).trim()) return t;
    await sleep(50);
  }
  throw new Error(`iperf3 -s in ${ns} is not listening on :${port}`);
}

/** One iperf3 client run in `ns` to host:port, one stream, `seconds` long: MB/s (10^6 B) received. */
export async function runIperfIn(ns: string, host: string, port: number, seconds: number): Promise<number> {
  const { code, stdout, stderr } = await runToEnd(`iperf3 -c ${host}:${port} (${ns})`, 'ip', ['netns', 'exec', ns, 'iperf3', '-c', host, '-p', String(port), '-t', String(seconds), '--json'], (seconds + 20) * 1000);
  return iperfMbPerSec(code, stdout, stderr);
}
