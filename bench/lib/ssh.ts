/**
 * Path (d): `ssh -R` through a private sshd (Debian's /usr/sbin/sshd) on a free loopback
 * port, with a throwaway host key, user key and authorized_keys in a temp directory.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PathSpec } from './path.js';
import { freePorts, HOST, waitListening } from './ports.js';
import { assertRunning, deadReport, killTree, runToEnd, spawnTracked, type Tracked } from './proc.js';
import { makeTempDir, removeTempDir } from './tempdir.js';

const SSHD = '/usr/sbin/sshd';

async function keygen(file: string): Promise<void> {
  const r = await runToEnd('ssh-keygen', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'burrow-bench', '-f', file], 15_000);
  if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.trim()}`);
}

function clientOptions(dir: string, sshPort: number, logLevel = 'ERROR'): string[] {
  return [
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', `LogLevel=${logLevel}`,
    '-i', path.join(dir, 'userkey'),
    '-p', String(sshPort),
  ];
}

/** Which cipher a fresh session negotiates (informational; separate short session). */
async function negotiatedCipher(dir: string, sshPort: number): Promise<string> {
  const r = await runToEnd('ssh -v true', 'ssh', [...clientOptions(dir, sshPort, 'DEBUG1'), `root@${HOST}`, 'true'], 15_000);
  const m = /kex: server->client cipher: (\S+)/.exec(r.stderr);
  return m?.[1] ?? 'unknown';
}

export const sshPath: PathSpec = {
  id: 'd',
  label: 'ssh -R',
  start: async (targets) => {
    const dir = makeTempDir('burrow-bench-ssh-');
    const procs: Tracked[] = [];
    const stop = async (): Promise<void> => {
      // Client first so the per-connection sshd children exit on their own.
      for (const p of [...procs].reverse()) await killTree(p);
      removeTempDir(dir);
    };
    try {
      const [sshPort, iperfPort, echoPort] = (await freePorts(3)) as [number, number, number];
      await keygen(path.join(dir, 'hostkey'));
      await keygen(path.join(dir, 'userkey'));
      copyFileSync(path.join(dir, 'userkey.pub'), path.join(dir, 'authorized_keys'));
      const config = path.join(dir, 'sshd_config');
      writeFileSync(
        config,
        [
          `Port ${sshPort}`,
          `ListenAddress ${HOST}`,
          `HostKey ${path.join(dir, 'hostkey')}`,
          `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'StrictModes no',
          'UsePAM no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'AllowTcpForwarding yes',
          'PidFile none',
          'LogLevel ERROR',
          '',
        ].join('\n'),
      );
      // Debian's sshd refuses to start without its privilege separation directory.
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

      const sshd = spawnTracked('sshd', SSHD, ['-D', '-e', '-f', config]);
      procs.push(sshd);
      await waitListening(sshPort, 10_000, () => assertRunning(sshd));

      const ssh = spawnTracked('ssh -R', 'ssh', [
        '-N',
        ...clientOptions(dir, sshPort),
        '-o', 'ExitOnForwardFailure=yes',
        '-R', `${HOST}:${iperfPort}:${HOST}:${targets.iperf}`,
        '-R', `${HOST}:${echoPort}:${HOST}:${targets.echo}`,
        `root@${HOST}`,
      ]);
      procs.push(ssh);
      const check = (): void => {
        assertRunning(sshd);
        assertRunning(ssh);
      };
      await waitListening(iperfPort, 15_000, check);
      await waitListening(echoPort, 15_000, check);
      const cipher = await negotiatedCipher(dir, sshPort).catch(() => 'unknown');
      return {
        iperfPort,
        echoPort,
        server: { label: 'sshd (+children)', pid: sshd.pid, includeChildren: true },
        client: { label: 'ssh', pid: ssh.pid, includeChildren: true },
        health: () => deadReport(procs),
        notes: [`ssh cipher: ${cipher} (OpenSSH default)`],
        stop,
      };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};
