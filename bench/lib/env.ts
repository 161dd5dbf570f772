/** A one-line description of the machine and tool versions, for the report. */
import os from 'node:os';
import { runToEnd } from './proc.js';

async function firstLine(cmd: string, args: string[], pattern: RegExp): Promise<string> {
  try {
    const r = await runToEnd(cmd, cmd, args, 5000);
    const m = pattern.exec(`${r.stdout}\n${r.stderr}`);
    return m?.[1] ?? '?';
  } catch {
    return '?';
  }
}

export async function describeEnvironment(): Promise<string> {
  const cpus = os.cpus();
  const [ssh, socat, iperf] = await Promise.all([
    firstLine('ssh', ['-V'], /(OpenSSH_\S+)/),
    firstLine('socat', ['-V'], /socat version (\S+)/),
    firstLine('iperf3', ['--version'], /iperf (\S+)/),
  ]);
  return [
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores`,
    `${(os.totalmem() / 1e9).toFixed(0)} GB RAM`,
    `Linux ${os.release()}`,
    `Node ${process.version}`,
    `${ssh}`,
    `socat ${socat}`,
    `iperf3 ${iperf}`,
  ].join(', ');
}
