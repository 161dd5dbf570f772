/** Path (e): one socat hop per target (`socat TCP-LISTEN:P,fork,reuseaddr,bind=127.0.0.1 TCP:127.0.0.1:TARGET`). */
import type { PathSpec } from './path.js';
import { freePorts, HOST, waitListening } from './ports.js';
import { assertRunning, deadReport, killTree, spawnTracked, type Tracked } from './proc.js';

async function startSocat(listenPort: number, targetPort: number): Promise<Tracked> {
  const proc = spawnTracked(`socat :${listenPort}`, 'socat', [
    `TCP-LISTEN:${listenPort},fork,reuseaddr,bind=${HOST}`,
    `TCP:${HOST}:${targetPort}`,
  ]);
  await waitListening(listenPort, 10_000, () => assertRunning(proc));
  return proc;
}

export const socatPath: PathSpec = {
  id: 'e',
  label: 'socat',
  start: async (targets) => {
    const [iperfPort, echoPort] = (await freePorts(2)) as [number, number];
    const procs: Tracked[] = [];
    const stop = async (): Promise<void> => {
      await Promise.all(procs.map((p) => killTree(p)));
    };
    try {
      procs.push(await startSocat(iperfPort, targets.iperf));
      const echo = await startSocat(echoPort, targets.echo);
      procs.push(echo);
      return {
        iperfPort,
        echoPort,
        server: { label: 'socat (echo listener + forked children)', pid: echo.pid, includeChildren: true },
        notes: [],
        health: () => deadReport(procs),
        stop,
      };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};
