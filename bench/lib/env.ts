/** A one-line description of the machine and tool versions, for the report. */
import os from 'node:os';
import { runToEnd } from './proc.js';

/** First capture group of `pattern` in the output of `cmd args` (stdout and stderr), or '?'. */
export async function toolVersion(cmd: string, args: string[], pattern: RegExp): Promise<string> {
  try {
    const r = await runToEnd(cmd, cmd, args, 5000);
    const m = pattern.exec(`${r.stdout}\n${r.stderr}`);
    return m?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/** CPU model and count, RAM, kernel, Node version. */
export function describeMachine(): string[] {
  const cpus = os.cpus();
  return [
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores`,
    `${(os.totalmem() / 1e9).toFixed(0)} GB RAM`,
    `Linux ${os.release()}`,
    `Node ${process.version}`,
  ];
}

export async function describeEnvironment(): Promise<string> {
  const [ssh, socat, iperf] = await Promise.all([
    toolVersion('ssh', ['-V'], /(OpenSSH_\S+)/),
    toolVersion('socat', ['-V'], /socat version (\S+)/),
    toolVersion('iperf3', ['--version'], /iperf (\S+)/),
  ]);
  return [...describeMachine(), `${ssh}`, `socat ${socat}`, `iperf3 ${iperf}`].join(', ');
}
