/** Bulk throughput through a path, measured by an `iperf3` client (server side = iperf3 -s target). */
import { HOST } from './ports.js';
import { runToEnd } from './proc.js';

export interface IperfResult {
  /** Megabytes (10^6 bytes) per second, as received by the iperf3 server. */
  mbPerSec: number;
  streams: number;
  seconds: number;
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second?: number } };
}

export async function runIperf(port: number, streams: number, seconds: number): Promise<IperfResult> {
  const args = ['-c', HOST, '-p', String(port), '-t', String(seconds), '--json'];
  if (streams > 1) args.push('-P', String(streams));
  // iperf3 takes ~1 s to set up and tear down; allow generous slack but stay bounded.
  const { code, stdout, stderr } = await runToEnd(`iperf3 -c :${port} -P ${streams}`, 'iperf3', args, (seconds + 20) * 1000);
  return { mbPerSec: iperfMbPerSec(code, stdout, stderr), streams, seconds };
}

/** MB/s received by the iperf3 server, from an `iperf3 --json` client's output; throws with the reason when there is none. */
export function iperfMbPerSec(code: number | string, stdout: string, stderr: string): number {
  let json: IperfJson;
  try {
    json = JSON.parse(stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 exited ${code} without JSON: ${(stderr || stdout).trim().slice(0, 300)}`);
  }
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  const bps = json.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number' || !(bps > 0)) throw new Error(`iperf3 exited ${code} with no end.sum_received.bits_per_second`);
  return bps / 8 / 1e6;
}
