import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { StunConfigSchema, TurnConfigSchema } from '../../shared/config/server-config.js';
import { StunTurnListener } from '../stun/stun-listener.js';
import { TurnServer } from './turn-server.js';

const UCLIENT = '/usr/bin/turnutils_uclient';

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(UCLIENT, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe.skipIf(!existsSync(UCLIENT))('interop with coturn turnutils_uclient', () => {
  let listener: StunTurnListener | undefined;
  let turn: TurnServer | undefined;
  afterEach(async () => {
    await listener?.stop();
    await turn?.close();
  });

  async function start(): Promise<number> {
    turn = new TurnServer(
      TurnConfigSchema.parse({ users: { alice: 'secret' }, relayIps: ['127.0.0.1', '::1'], restSecret: 'rest-secret-1', userQuota: 100, relayPorts: '44000-44999', allowPeers: ['127.0.0.0/8', '::1'] }),
      { logger: silentLogger(), crypto: nodeStunCrypto, software: 'burrow-interop', serverAddresses: [] },
    );
    listener = new StunTurnListener(StunConfigSchema.parse({ listen: '127.0.0.1:0' }), { logger: silentLogger(), software: 'burrow-interop', turn });
    await listener.start();
    return listener.addresses().udp[0]!.port;
  }

  for (const [name, flags] of [
    ['UDP, channels', []],
    ['UDP, Send/Data indications', ['-s']],
    ['TCP, channels', ['-t']],
    ['UDP, DONT-FRAGMENT', ['-g']],
    ['RFC 6062 TCP relay', ['-T']],
    ['dual allocation', ['-Z']],
    ['IPv6 relay', ['-x']],
    ['TURN REST credentials', ['-W', 'rest-secret-1']],
  ] as const) {
    it(`client-to-client over ${name}`, async () => {
      const port = await start();
      const { out } = await run(['-y', '-c', '-n', '20', '-l', '200', '-u', 'alice', '-w', 'secret', '-p', String(port), ...flags, '127.0.0.1']);
      console.log(out.slice(-1500));
      if ((flags as readonly string[]).includes('-Z')) expect(turn!.allocationsInfo().some((a) => a.relayed.length === 2)).toBe(true);
      expect(out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
    }, 90_000);
  }

  it('ten clients relaying to an echo peer (turnutils_peer), with extra requests (-G)', async () => {
    const port = await start();
    const peerPort = 44_990 + Math.floor(Math.random() * 9);
    const peer = spawn('/usr/bin/turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const { out } = await run(['-m', '10', '-n', '20', '-l', '120', '-G', '-u', 'alice', '-w', 'secret', '-p', String(port), '-e', '127.0.0.1', '-r', String(peerPort), '127.0.0.1']);
      console.log(out.slice(-800));
      expect(out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      expect(turn!.stats().authFailures).toBe(0);
    } finally {
      peer.kill();
    }
  }, 90_000);

  it('survives coturn negative protocol tests and wrong passwords', async () => {
    const port = await start();
    await run(['-R', '-y', '-n', '5', '-u', 'alice', '-w', 'secret', '-p', String(port), '127.0.0.1']);
    const { out } = await run(['-y', '-n', '5', '-u', 'alice', '-w', 'wrong', '-p', String(port), '127.0.0.1']);
    expect(out).not.toMatch(/Total lost packets 0 \(0\.0+%\)/);
    expect(turn!.stats().authFailures).toBeGreaterThan(0);
    // Still serving.
    const ok = await run(['-y', '-n', '5', '-u', 'alice', '-w', 'secret', '-p', String(port), '127.0.0.1']);
    expect(ok.out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
  }, 90_000);
});
