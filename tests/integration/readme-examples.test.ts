/**
 * Every YAML config example in README.md loads with the real loader, and starts: the server
 * examples (with the stun/turn fragment merged in, as a user would add it), then the client and
 * the visitor against that server, with traffic through each tunnel.
 *
 * Rewritten only so that they can run here: every port becomes 0 (the OS picks one) or a free
 * port, the documentation addresses 198.51.100.x become loopback addresses (alternate.ip
 * 127.0.0.2, relayIps 127.0.0.1), the client's `server` becomes the started server, tunnel
 * `local`s become echo services, visitor `bind`s free loopback ports, each engine gets its own
 * `clientId` (both run on this one machine), and stateDir a temporary directory. Hosts of `listen` values stay
 * as written (0.0.0.0 included), and TLS uses the self-signed certificate (no placeholder certs).
 */
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Engine } from '../../engine/engine.js';
import { serverPort, startStatusServer } from '../../engine/status-server.js';
import { parseClientConfig, parseServerConfig } from '../../io/config-loader.js';
import { silentLogger } from '../../io/logger.js';
import { AdminApi } from '../../server/admin-api.js';
import { BurrowServer } from '../../server/burrow-server.js';
import { parseHostPort } from '../../shared/net/address.js';
import { connectTcp, echoServer, roundTrip, tempDir, tunnelOnline, udpEchoServer, waitFor } from './harness.js';

const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

type Doc = Record<string, unknown>;
const isClient = (text: string) => /^server:/m.test(text);
const isFragment = (text: string) => !/^token:/m.test(text);

const serverExamples = blocks.filter((b) => !isClient(b) && !isFragment(b));
const fragments = blocks.filter((b) => !isClient(b) && isFragment(b));
const clientExamples = blocks.filter(isClient);

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** "host:port" -> "host:0", keeping the host as written. */
function portZero(hostPort: unknown): string {
  const hp = parseHostPort(String(hostPort))!;
  return hp.host.includes(':') ? `[${hp.host}]:0` : `${hp.host}:0`;
}

function runnableServer(text: string, stateDir: string): string {
  const doc = parse(text) as Doc;
  doc.listen = portZero(doc.listen ?? '0.0.0.0:7000');
  doc.stateDir = stateDir;
  if (doc.admin) (doc.admin as Doc).listen = '127.0.0.1:0';
  const stun = doc.stun as Doc | undefined;
  if (stun) {
    stun.listen = portZero(stun.listen ?? '0.0.0.0:3478');
    if (typeof stun.tlsListen === 'string') stun.tlsListen = portZero(stun.tlsListen);
    const alt = stun.alternate as Doc | undefined;
    if (alt?.ip !== undefined) alt.ip = '127.0.0.2';
    if (alt?.port !== undefined) delete alt.port;
  }
  const turn = doc.turn as Doc | undefined;
  if (turn?.relayIps) turn.relayIps = ['127.0.0.1'];
  if (turn?.externalIp) turn.externalIp = '127.0.0.1';
  return stringify(doc);
}

interface Started {
  server: BurrowServer;
  admin?: AdminApi;
}

async function startServerExample(text: string): Promise<Started> {
  const dir = await tempDir();
  cleanup.push(dir.remove);
  const config = parseServerConfig(runnableServer(text, join(dir.path, 'server')), 'README.md (rewritten)', dir.path);
  const server = new BurrowServer(config, { logger: silentLogger(), stateDir: config.stateDir! });
  await server.start();
  cleanup.push(() => server.stop());
  let admin: AdminApi | undefined;
  if (config.admin) {
    admin = new AdminApi(server, config.admin, silentLogger());
    await admin.start();
    cleanup.push(() => admin!.stop());
  }
  return admin ? { server, admin } : { server };
}

describe('README config examples', () => {
  it('has the examples this test knows about', () => {
    expect(serverExamples.length).toBeGreaterThanOrEqual(1);
    expect(fragments.length).toBeGreaterThanOrEqual(1); // stun/turn
    expect(clientExamples.length).toBeGreaterThanOrEqual(2); // client, visitor
  });

  it('every example loads with the real loader as written', () => {
    for (const text of serverExamples) expect(() => parseServerConfig(text, 'README.md')).not.toThrow();
    for (const fragment of fragments) {
      for (const base of serverExamples) expect(() => parseServerConfig(`${base}\n${fragment}`, 'README.md')).not.toThrow();
    }
    for (const text of clientExamples) expect(() => parseClientConfig(text, 'README.md')).not.toThrow();
  });

  it('the server example starts, with its admin API answering', async () => {
    for (const text of serverExamples) {
      const { server, admin } = await startServerExample(text);
      expect(server.address.port).toBeGreaterThan(0);
      if (admin) {
        const token = ((parse(text) as Doc).admin as Doc).token as string;
        const res = await fetch(`http://127.0.0.1:${admin.port}/api/status`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
      }
    }
  });

  it('the server example with the stun/turn fragment starts and answers STUN on both addresses', async () => {
    const { stunBinding } = await import('../../engine/stun/stun-client.js');
    for (const fragment of fragments) {
      const { server } = await startServerExample(`${serverExamples[0]!}\n${fragment}`);
      const stun = server.snapshot().stun!;
      expect(stun.addresses.udp.map((a) => a.address)).toEqual(['0.0.0.0', '0.0.0.0', '127.0.0.2', '127.0.0.2']);
      const socket = createSocket('udp4');
      cleanup.push(() => socket.close());
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      for (const host of ['127.0.0.1', '127.0.0.2']) {
        const r = await stunBinding(socket, { host, port: stun.addresses.udp[0]!.port }, { signal: AbortSignal.timeout(3000) });
        expect(r.mapped.port).toBe(socket.address().port);
      }
      expect(server.snapshot().turn).toBeDefined();
    }
  });

  it('the client and visitor examples start against it, and traffic flows through every tunnel', async () => {
    const { server } = await startServerExample(serverExamples[0]!);
    const tcpEcho = await echoServer();
    cleanup.push(tcpEcho.close);
    const udpEcho = await udpEchoServer();
    cleanup.push(udpEcho.close);
    const [clientText, visitorText] = [clientExamples.find((t) => /^tunnels:/m.test(t))!, clientExamples.find((t) => /^visitors:/m.test(t))!];

    const rewriteClient = async (text: string, dir: string, clientId: string): Promise<string> => {
      const doc = parse(text) as Doc;
      doc.server = `127.0.0.1:${server.address.port}`;
      doc.stateDir = dir;
      // The README's visitor runs on another machine; here both share a host name, which would
      // make the second login replace the first.
      doc.clientId ??= clientId;
      if (doc.serverFingerprint !== undefined) doc.serverFingerprint = server.fingerprint;
      for (const t of (doc.tunnels ?? []) as Doc[]) {
        t.local = `127.0.0.1:${t.type === 'udp' ? udpEcho.port : tcpEcho.port}`;
        if (t.remotePort !== undefined) t.remotePort = 0;
      }
      for (const v of (doc.visitors ?? []) as Doc[]) v.bind = `127.0.0.1:${await freePort()}`;
      return stringify(doc);
    };
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const clientConfig = parseClientConfig(await rewriteClient(clientText, join(dir.path, 'client'), 'readme-client'), 'README.md (rewritten)');
    const client = new Engine(clientConfig, { logger: silentLogger(), stateDir: clientConfig.stateDir! });
    await client.start();
    cleanup.push(() => client.stop());
    // The default status endpoint, on port 0.
    const status = await startStatusServer('127.0.0.1:0', () => client.status());
    cleanup.push(() => new Promise((r) => status.close(r)));

    for (const t of clientConfig.tunnels) {
      await waitFor(() => client.status().tunnels.find((x) => x.name === t.name)?.state === 'online', `tunnel ${t.name} online`);
    }
    const res = await fetch(`http://127.0.0.1:${serverPort(status)}/status`);
    expect(((await res.json()) as { state: string }).state).toBe('online');
    for (const t of clientConfig.tunnels.filter((x) => x.type === 'tcp')) {
      const port = await tunnelOnline(client, t.name);
      expect((await roundTrip(await connectTcp(port), Buffer.from(`via ${t.name}`))).toString()).toBe(`via ${t.name}`);
    }
    for (const t of clientConfig.tunnels.filter((x) => x.type === 'udp')) {
      const port = await tunnelOnline(client, t.name);
      const s = createSocket('udp4');
      cleanup.push(() => s.close());
      const reply = new Promise<string>((r) => s.once('message', (m) => r(m.toString())));
      s.send(`via ${t.name}`, port, '127.0.0.1');
      expect(await reply).toBe(`via ${t.name}`);
    }

    const visitorConfig = parseClientConfig(await rewriteClient(visitorText, join(dir.path, 'visitor'), 'readme-visitor'), 'README.md (rewritten)');
    const visitor = new Engine(visitorConfig, { logger: silentLogger(), stateDir: visitorConfig.stateDir! });
    await visitor.start();
    cleanup.push(() => visitor.stop());
    await waitFor(() => visitor.status().state === 'online', 'the visitor engine online');
    for (const v of visitorConfig.visitors) {
      const port = parseHostPort(v.bind)!.port;
      expect((await roundTrip(await connectTcp(port), Buffer.from(`via ${v.name}`))).toString()).toBe(`via ${v.name}`);
    }
  }, 30_000);
});
