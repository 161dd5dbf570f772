/**
 * The engine's STUN and TURN clients and the `burrow stun|turn|nat` commands against a real coturn
 * (4.6) started here on 127.0.0.1 + 127.0.0.2 (two addresses, so that it does RFC 5780), on ports
 * picked at random and checked free. Skipped when `turnserver` is not installed, except under CI,
 * where they fail. Where 127.0.0.2 is not an address of the machine (not Linux), coturn runs on
 * 127.0.0.1 alone and only the RFC 5780 tests skip, saying so. The CLI tests need the build
 * (`npm test` builds first).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverNat } from '../../engine/stun/nat-discovery.js';
import { stunBinding, stunBindingTcp, stunBindingTls } from '../../engine/stun/stun-client.js';
import { TurnClient, TurnError } from '../../engine/turn/turn-client.js';
import { ensureSelfSignedIdentity } from '../../io/tls-identity.js';

const HAS_COTURN = spawnSync('sh', ['-c', 'command -v turnserver'], { encoding: 'utf8' }).status === 0;
if (!HAS_COTURN) console.warn('coturn-clients: `turnserver` (coturn) is not installed, skipping these tests outside CI (apt-get install -y coturn)');

const BIN = resolve(import.meta.dirname, '../../bin/burrow.js');
const BUILT = existsSync(resolve(import.meta.dirname, '../../dist/cli/stun-command.js'));
const USER = 'alice';
const PASSWORD = 'secret';
const REALM = 'burrow.test';

async function canBind(ip: string, port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(port, ip, () => s.close(() => r(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((r) => {
    const u = createSocket('udp4');
    u.once('error', () => {
      u.close();
      r(false);
    });
    u.bind(port, ip, () => u.close(() => r(true)));
  });
}

/** Four consecutive ports free for TCP and UDP on every address (below the ephemeral range). */
async function pickPorts(ips: string[]): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20000 + Math.floor(Math.random() * 9000);
    let ok = true;
    for (const ip of ips) for (const port of [p, p + 1, p + 2, p + 3]) ok &&= await canBind(ip, port);
    if (ok) return p;
  }
  throw new Error('no free port pair for coturn');
}

interface Coturn {
  port: number;
  altPort: number;
  tlsPort: number;
  /** The self-signed certificate of the TLS listener (PEM). */
  cert: string;
  ips: string[];
  child: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** 127.0.0.2 exists on Linux (all of 127/8 is loopback) and not on some other systems. */
async function hasSecondLoopback(): Promise<boolean> {
  const s = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.2', () => resolve());
    });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return false;
    throw err;
  } finally {
    s.close();
  }
}

const NO_SECOND_LOOPBACK = '127.0.0.2 is not an address of this machine (EADDRNOTAVAIL): coturn runs on one IP and does no RFC 5780';

async function startCoturn(): Promise<Coturn> {
  const second = await hasSecondLoopback();
  const ips = second ? ['127.0.0.1', '127.0.0.2'] : ['127.0.0.1'];
  const port = await pickPorts(ips);
  const relayBase = 10000 + Math.floor(Math.random() * 9000);
  const dir = await mkdtemp(join(tmpdir(), 'burrow-coturn-'));
  const identity = await ensureSelfSignedIdentity(dir);
  const args = [
    '-n', // no config file
    ...ips.map((ip) => `--listening-ip=${ip}`),
    `--listening-port=${port}`,
    `--alt-listening-port=${port + 1}`,
    '--relay-ip=127.0.0.1',
    `--min-port=${relayBase}`,
    `--max-port=${relayBase + 199}`,
    '--lt-cred-mech',
    `--user=${USER}:${PASSWORD}`,
    `--realm=${REALM}`,
    `--tls-listening-port=${port + 2}`,
    `--alt-tls-listening-port=${port + 3}`,
    `--cert=${join(dir, 'server-cert.pem')}`,
    `--pkey=${join(dir, 'server-key.pem')}`,
    '--no-dtls',
    '--allow-loopback-peers',
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--userdb=${join(dir, 'turndb.sqlite')}`,
  ];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  // ready when it answers a Binding over UDP and TCP
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`turnserver exited (${child.exitCode}):\n${log}`);
      try {
        await stunBinding(probe, { host: '127.0.0.1', port }, { rtoMs: 100, maxSends: 2, lastWaitFactor: 2 });
        await stunBindingTcp('127.0.0.1', port, { timeoutMs: 500 });
        await stunBindingTls('127.0.0.1', port + 2, { timeoutMs: 500, tls: tlsTrust(identity.cert) });
        break;
      } catch {
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`turnserver did not come up:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    probe.close();
  }
  return { port, altPort: port + 1, tlsPort: port + 2, cert: identity.cert, ips, child, log: () => log, stop };
}

/** Trust exactly this self-signed certificate (its CN is not 127.0.0.1, so skip the name check). */
function tlsTrust(cert: string) {
  return { ca: cert, checkServerIdentity: () => undefined };
}

async function udpSocket(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** A UDP peer that echoes every datagram back to its sender (the relay). */
async function udpEchoPeer(): Promise<UdpSocket> {
  const s = await udpSocket();
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  return s;
}

function nextData(c: TurnClient, timeoutMs = 3000): Promise<{ text: string; peer: { address: string; port: number }; channel: number | undefined }> {
  return new Promise((resolveData, reject) => {
    const onData = (data: Uint8Array, peer: { address: string; port: number }, channel: number | undefined): void => {
      clearTimeout(t);
      resolveData({ text: new TextDecoder().decode(data), peer, channel });
    };
    const t = setTimeout(() => {
      c.off('data', onData);
      reject(new Error(`no data from the relay within ${timeoutMs} ms`));
    }, timeoutMs);
    c.once('data', onData);
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function burrow(args: string[]): Promise<Run> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => r({ code, stdout, stderr }));
  });
}

describe.skipIf(!HAS_COTURN && !process.env.CI)('STUN/TURN clients against coturn', () => {
  let coturn: Coturn;
  const toClose: Array<{ close: () => unknown }> = [];

  beforeAll(async () => {
    if (!HAS_COTURN) throw new Error('`turnserver` (coturn) is not installed, and CI must not skip these tests (apt-get install -y coturn)');
    coturn = await startCoturn();
  });

  afterAll(async () => {
    for (const c of toClose.splice(0).reverse()) await c.close();
    await coturn?.stop();
  });

  const server = () => ({ host: '127.0.0.1', port: coturn.port });

  it("stunBinding over UDP: 127.0.0.1 and the socket's port, coturn's SOFTWARE and OTHER-ADDRESS", async () => {
    const s = await udpSocket();
    toClose.push(s);
    const r = await stunBinding(s, server());
    expect(r.mapped).toEqual({ family: 'IPv4', address: '127.0.0.1', port: s.address().port });
    expect(r.software).toMatch(/Coturn/i);
  });

  it('stunBinding over UDP, RFC 5780 (coturn on two IPs): OTHER-ADDRESS, and CHANGE-REQUEST is answered from it', async (ctx) => {
    if (coturn.ips.length !== 2) return ctx.skip(NO_SECOND_LOOPBACK);
    const s = await udpSocket();
    toClose.push(s);
    const r = await stunBinding(s, server());
    expect(r.otherAddress).toEqual({ family: 'IPv4', address: '127.0.0.2', port: coturn.altPort });
    const changed = await stunBinding(s, server(), { changeIp: true, changePort: true });
    expect(changed.source).toEqual({ family: 'IPv4', address: '127.0.0.2', port: coturn.altPort });
    expect(changed.mapped.port).toBe(s.address().port);
  });

  it("stunBindingTcp: 127.0.0.1 and the connection's local port", async () => {
    const r = await stunBindingTcp('127.0.0.1', coturn.port);
    expect(r.mapped.address).toBe('127.0.0.1');
    expect(r.mapped.port).toBe(r.localAddress.port);
  });

  it("stunBindingTls: 127.0.0.1 and the connection's local port", async () => {
    const r = await stunBindingTls('127.0.0.1', coturn.tlsPort, { tls: tlsTrust(coturn.cert) });
    expect(r.mapped.address).toBe('127.0.0.1');
    expect(r.mapped.port).toBe(r.localAddress.port);
    // an untrusted certificate is refused
    await expect(stunBindingTls('127.0.0.1', coturn.tlsPort, { timeoutMs: 2000 })).rejects.toThrow(/certificate/i);
  });

  it('discoverNat on loopback: open internet, mapped address = local address', async () => {
    const r = await discoverNat(server(), { localIp: '127.0.0.1' });
    expect(r.classicName).toBe('open internet');
    expect(r.mappedAddress).toBe(r.localAddress);
  });

  it('discoverNat without the hairpinning test (what the p2p engine asks for): the same verdict, hairpinning unknown', async () => {
    const r = await discoverNat(server(), { localIp: '127.0.0.1', hairpin: false });
    expect(r.classicName).toBe('open internet');
    expect(r.hairpinning).toBe('unknown');
  });

  it('discoverNat on loopback, RFC 5780 (coturn on two IPs): endpoint-independent everything, hairpinning, lifetime probes', async (ctx) => {
    if (coturn.ips.length !== 2) return ctx.skip(NO_SECOND_LOOPBACK);
    const r = await discoverNat(server(), { localIp: '127.0.0.1', lifetime: { probesMs: [200, 400] } });
    expect(r).toMatchObject({
      mapping: 'endpoint-independent',
      filtering: 'endpoint-independent',
      hairpinning: true,
      classicName: 'open internet',
      partial: false,
      bindingLifetime: { atLeastMs: 400 },
    });
    expect(r.mappedAddress).toBe(r.localAddress);
  });

  it('TurnClient over UDP: long-term auth, permission, Send/Data echo, ChannelBind/ChannelData echo, refresh, close', async () => {
    const sock = await udpSocket(); // caller-owned: survives close(), so a second allocation can reuse the 5-tuple
    toClose.push(sock);
    const peer = await udpEchoPeer();
    toClose.push(peer);
    const peerAddr = { address: '127.0.0.1', port: peer.address().port };

    const c = new TurnClient({ server: server(), username: USER, password: PASSWORD, socket: sock });
    toClose.push(c);
    const a = await c.allocate();
    expect(a.relayed.address).toBe('127.0.0.1');
    expect(a.mapped).toEqual({ family: 'IPv4', address: '127.0.0.1', port: sock.address().port });
    expect(a.lifetime).toBeGreaterThan(0);

    // Without a permission the relay drops the Send. No waiting to see that nothing arrives: had it been
    // relayed, the peer would have received it before the Send made after the permission (the relay
    // sends in order, loopback keeps it).
    const peerGot: string[] = [];
    peer.on('message', (m: Buffer) => peerGot.push(m.toString()));
    c.send(peerAddr, new TextEncoder().encode('no permission yet'));
    await c.createPermission('127.0.0.1');
    const viaSend = nextData(c);
    c.send(peerAddr, new TextEncoder().encode('hello via Send'));
    expect(await viaSend).toEqual({ text: 'hello via Send', peer: { family: 'IPv4', ...peerAddr }, channel: undefined });
    expect(peerGot[0]).toBe('hello via Send');

    const channel = await c.channelBind(peerAddr);
    expect(channel).toBeGreaterThanOrEqual(0x4000);
    const viaChannel = nextData(c);
    c.send(peerAddr, new TextEncoder().encode('hello via ChannelData'));
    expect(await viaChannel).toEqual({ text: 'hello via ChannelData', peer: { family: 'IPv4', ...peerAddr }, channel });

    // the peer's datagram to the relayed address arrives too (peer -> relay direction)
    const fromPeer = nextData(c);
    peer.send('unsolicited', a.relayed.port, a.relayed.address);
    expect((await fromPeer).text).toBe('unsolicited');

    expect(await c.refresh(300)).toBeGreaterThan(0);
    await c.close();
    expect(c.current).toBeUndefined();

    // close() deleted the allocation: the same 5-tuple can allocate again. (coturn answers 437
    // Allocation Mismatch for about a second while it tears the old session down; had the
    // allocation not been deleted, 437 would last its whole lifetime.)
    const deadline = Date.now() + 5000;
    for (;;) {
      const again = new TurnClient({ server: server(), username: USER, password: PASSWORD, socket: sock });
      toClose.push(again);
      try {
        const b = await again.allocate();
        expect(b.relayed.address).toBe('127.0.0.1');
        await again.close();
        break;
      } catch (err) {
        if (!(err instanceof TurnError && err.code === 437) || Date.now() > deadline) throw err;
        await again.close();
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });

  it('TurnClient over TCP: allocate and echo through a UDP relay', async () => {
    const peer = await udpEchoPeer();
    toClose.push(peer);
    const peerAddr = { address: '127.0.0.1', port: peer.address().port };
    const c = new TurnClient({ server: server(), username: USER, password: PASSWORD, transport: 'tcp' });
    toClose.push(c);
    const a = await c.allocate();
    expect(a.transport).toBe('udp');
    await c.createPermission('127.0.0.1');
    const d1 = nextData(c);
    c.send(peerAddr, new TextEncoder().encode('tcp send'));
    expect((await d1).text).toBe('tcp send');
    await c.channelBind(peerAddr);
    const d2 = nextData(c);
    c.send(peerAddr, new TextEncoder().encode('odd-length!')); // ChannelData padded over TCP
    expect((await d2).text).toBe('odd-length!');
    await c.close();
  });

  it('TurnClient over TLS: allocate and echo', async () => {
    const peer = await udpEchoPeer();
    toClose.push(peer);
    const peerAddr = { address: '127.0.0.1', port: peer.address().port };
    const c = new TurnClient({ server: { host: '127.0.0.1', port: coturn.tlsPort }, username: USER, password: PASSWORD, transport: 'tls', tls: tlsTrust(coturn.cert) });
    toClose.push(c);
    await c.allocate();
    await c.createPermission('127.0.0.1');
    const d = nextData(c);
    c.send(peerAddr, new TextEncoder().encode('tls send'));
    expect((await d).text).toBe('tls send');
    await c.close();
  });

  it('a wrong password is a 401 after the challenge', async () => {
    const c = new TurnClient({ server: server(), username: USER, password: 'wrong', rtoMs: 200 });
    toClose.push(c);
    const err = (await c.allocate().catch((e: unknown) => e)) as TurnError;
    expect(err).toBeInstanceOf(TurnError);
    expect(err.kind).toBe('auth');
    expect(err.code).toBe(401);
  });

  it('RFC 6062: a TCP allocation connects to a TCP peer and ConnectionBind yields a socket to it', async () => {
    // like an SSH server, the peer speaks first: its banner may arrive together with the
    // ConnectionBind response and must not be lost
    const echo: Server = createServer((s) => {
      s.on('error', () => {});
      s.write('banner\n');
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    toClose.push(echo);
    const c = new TurnClient({ server: server(), username: USER, password: PASSWORD, transport: 'tcp' });
    toClose.push(c);
    const a = await c.allocate({ transport: 'tcp' });
    expect(a.transport).toBe('tcp');
    await c.createPermission('127.0.0.1');
    const id = await c.connect({ address: '127.0.0.1', port: (echo.address() as AddressInfo).port });
    const data = await c.connectionBind(id);
    data.on('error', () => {});
    await new Promise((r) => setTimeout(r, 200)); // the caller attaches its reader late
    let received = '';
    data.on('data', (d: Buffer) => (received += d.toString()));
    data.write('through the TCP relay');
    const deadline = Date.now() + 3000;
    while (received !== 'banner\nthrough the TCP relay' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toBe('banner\nthrough the TCP relay');
    data.destroy();
    await c.close();
  });

  describe('the CLI (needs `npm run build`)', () => {
    beforeAll(() => {
      if (!BUILT) throw new Error('dist/cli/stun-command.js is missing: run `npm run build` (or `npm test`) first');
    });

    it('burrow stun HOST:PORT --json', async () => {
      const r = await burrow(['stun', `127.0.0.1:${coturn.port}`, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      // otherAddress is there only when the server does RFC 5780 (next test).
      expect(Object.keys(j).filter((k) => k !== 'otherAddress').sort()).toEqual(['localAddress', 'mappedAddress', 'rttMs', 'server', 'software']);
      expect(j.server).toBe(`127.0.0.1:${coturn.port}`);
      expect(j.mappedAddress).toBe(j.localAddress);
      expect(j.mappedAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(typeof j.rttMs).toBe('number');
    });

    it('burrow stun --json, RFC 5780 (coturn on two IPs): otherAddress is the alternate address', async (ctx) => {
      if (coturn.ips.length !== 2) return ctx.skip(NO_SECOND_LOOPBACK);
      const r = await burrow(['stun', `127.0.0.1:${coturn.port}`, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as Record<string, unknown>).otherAddress).toBe(`127.0.0.2:${coturn.altPort}`);
    });

    it('burrow stun --tcp --json, and the human form', async () => {
      const r = await burrow(['stun', `127.0.0.1:${coturn.port}`, '--json', '--tcp']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(j.mappedAddress).toBe(j.localAddress);
      const h = await burrow(['stun', `127.0.0.1:${coturn.port}`]);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/^mapped address\s+127\.0\.0\.1:\d+$/m);
      expect(h.stdout).toMatch(/^rtt\s+[\d.]+ ms$/m);
    });

    it('burrow stun exits 1 with a message when nothing answers', async () => {
      const silent = await udpSocket();
      toClose.push(silent);
      const r = await burrow(['stun', `127.0.0.1:${silent.address().port}`, '--timeout', '1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no STUN response from 127\.0\.0\.1:\d+ within 1 s/);
      const j = await burrow(['stun', `127.0.0.1:${silent.address().port}`, '--timeout', '1', '--json']);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout)).toMatchObject({ error: expect.stringMatching(/no STUN response/) });
    });

    it('burrow turn HOST:PORT --user --password --json', async () => {
      for (const extra of [[], ['--tcp', '--channel']]) {
        const r = await burrow(['turn', `127.0.0.1:${coturn.port}`, '--user', USER, '--password', PASSWORD, '--json', ...extra]);
        expect(r.code, r.stderr + r.stdout).toBe(0);
        const j = JSON.parse(r.stdout) as {
          server: string;
          relayedAddress: string;
          mappedAddress: string;
          lifetime: number;
          echo: { sent: number; received: number; rttMs: { min: number; avg: number; max: number } };
        };
        expect(Object.keys(j).sort()).toEqual(['echo', 'lifetime', 'mappedAddress', 'relayedAddress', 'server']);
        expect(j.server).toBe(`127.0.0.1:${coturn.port}`);
        expect(j.relayedAddress).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(j.mappedAddress).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(j.lifetime).toBeGreaterThan(0);
        expect(j.echo.sent).toBe(5);
        expect(j.echo.received).toBe(5);
        expect(j.echo.rttMs.min).toBeLessThanOrEqual(j.echo.rttMs.avg);
        expect(j.echo.rttMs.avg).toBeLessThanOrEqual(j.echo.rttMs.max);
      }
    });

    it('burrow turn with a wrong password exits 1', async () => {
      const r = await burrow(['turn', `127.0.0.1:${coturn.port}`, '--user', USER, '--password', 'nope']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/401/);
    });

    it('burrow nat --stun HOST:PORT --json and the human form', async () => {
      const r = await burrow(['nat', '--stun', `127.0.0.1:${coturn.port}`, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(j).toMatchObject({ server: `127.0.0.1:${coturn.port}`, classicName: 'open internet', hairpinning: true });
      for (const k of ['mapping', 'filtering', 'hairpinning', 'mappedAddress', 'localAddress', 'classicName', 'notes', 'partial']) expect(j).toHaveProperty(k);
      const h = await burrow(['nat', '--stun', `127.0.0.1:${coturn.port}`]);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/^ {2}mapping\s+endpoint-independent$/m);
      expect(h.stdout).toMatch(/^ {2}classic name\s+open internet$/m);
    });
  });
});
