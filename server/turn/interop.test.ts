import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { StunConfigSchema, TurnConfigSchema } from '../../shared/config/server-config.js';
import { StunTurnListener } from '../stun/stun-listener.js';
import { createTurnServer } from '../create-turn-server.js';
import { dgramSockets, type DatagramSocketFactory } from '../../io/datagram-socket.js';
import { NodeRelayFactory } from './relay-factory.js';
import type { TurnServer } from './turn-server.js';

const UCLIENT = '/usr/bin/turnutils_uclient';
const PEER = '/usr/bin/turnutils_peer';
const HAS_COTURN = existsSync(UCLIENT) && existsSync(PEER);
/** Under CI the coturn tools must be there: the tests run (and fail) instead of being skipped. */
const REQUIRED = !!process.env.CI;
const RELAY_PORTS: readonly [number, number] = [44_000, 44_999];

/** Resolves true once the UDP echo server on 127.0.0.1:`port` echoes a probe (false after `timeoutMs`). */
async function echoes(port: number, timeoutMs = 5_000): Promise<boolean> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  try {
    return await new Promise<boolean>((resolve) => {
      const probe = Buffer.from('burrow-peer-probe');
      s.on('message', (data) => {
        if (data.equals(probe)) finish(true);
      });
      const send = () => s.send(probe, port, '127.0.0.1');
      const every = setInterval(send, 50);
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearInterval(every);
        clearTimeout(timer);
        resolve(ok);
      };
      send();
    });
  } finally {
    s.close();
  }
}

/** A UDP port the OS hands out as free on 127.0.0.1, outside the relay range (so no allocation can take it). */
async function freeUdpPortOutsideRelayRange(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const s = createSocket('udp4');
    const port = await new Promise<number>((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if (port < RELAY_PORTS[0] || port > RELAY_PORTS[1]) return port;
  }
  throw new Error('no free UDP port outside the relay range');
}

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(UCLIENT, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe.skipIf(!HAS_COTURN && !REQUIRED)('interop with coturn turnutils_uclient', () => {
  let listener: StunTurnListener | undefined;
  let turn: TurnServer | undefined;
  afterEach(async () => {
    await listener?.stop();
    await turn?.close();
  });

  /** The server's UDP sockets: the default (native/udp-batch where built, as in CI), or `datagramSockets`. */
  async function start(datagramSockets?: DatagramSocketFactory): Promise<number> {
    expect(HAS_COTURN, `${UCLIENT} and ${PEER} (coturn) are needed; apt-get install -y coturn`).toBe(true);
    turn = createTurnServer(
      TurnConfigSchema.parse({ users: { alice: 'secret' }, relayIps: ['127.0.0.1', '::1'], restSecret: 'rest-secret-1', userQuota: 100, relayPorts: RELAY_PORTS.join('-'), allowPeers: ['127.0.0.0/8', '::1'] }),
      {
        logger: silentLogger(),
        crypto: nodeStunCrypto,
        software: 'burrow-interop',
        serverAddresses: [],
        ...(datagramSockets ? { relayFactory: new NodeRelayFactory({ ports: RELAY_PORTS, datagramSockets }) } : {}),
      },
    );
    listener = new StunTurnListener(StunConfigSchema.parse({ listen: '127.0.0.1:0' }), { logger: silentLogger(), software: 'burrow-interop', turn, ...(datagramSockets ? { datagramSockets } : {}) });
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

  it('client-to-client over UDP channels and IPv6 relay with node:dgram sockets (the fallback where native/udp-batch is not built)', async () => {
    for (const flags of [[], ['-x']]) {
      const port = await start(dgramSockets);
      const { out } = await run(['-y', '-c', '-n', '20', '-l', '200', '-u', 'alice', '-w', 'secret', '-p', String(port), ...flags, '127.0.0.1']);
      expect(out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      await listener!.stop();
      await turn!.close();
      listener = undefined;
      turn = undefined;
    }
  }, 90_000);

  it('ten clients relaying to an echo peer (turnutils_peer), with extra requests (-G)', async () => {
    const port = await start();
    // The echo peer's port comes from the OS (free now, outside the relay range), not from a guess.
    const peerPort = await freeUdpPortOutsideRelayRange();
    const peer = spawn(PEER, ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
    let peerExited = false;
    peer.once('exit', () => (peerExited = true));
    try {
      // Ready once it echoes (instead of a fixed sleep), and still running (it exits when it cannot bind).
      expect(await echoes(peerPort), `turnutils_peer does not echo on 127.0.0.1:${peerPort}`).toBe(true);
      expect(peerExited, `turnutils_peer exited (port ${peerPort})`).toBe(false);
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
