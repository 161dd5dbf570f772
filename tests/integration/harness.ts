/**
 * In-process server + client on loopback for integration tests, with real sockets.
 * Everything binds to 127.0.0.1 port 0 (or ports the OS just handed out).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { silentLogger } from '../../io/logger.js';
import { BurrowServer } from '../../server/burrow-server.js';
import { ClientConfigSchema, type ClientConfigInput } from '../../shared/config/client-config.js';
import { ServerConfigSchema, type ServerConfigInput } from '../../shared/config/server-config.js';
import type { ClientStatus } from '../../shared/types/status.js';

export const TOKEN = 'integration-token-0123456789';

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'burrow-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function startServer(overrides: Partial<ServerConfigInput> = {}, stateDir?: string): Promise<BurrowServer> {
  const config = ServerConfigSchema.parse({
    listen: '127.0.0.1:0',
    token: TOKEN,
    tls: false,
    proxyBind: '127.0.0.1',
    heartbeatTimeout: 30,
    ...overrides,
  });
  const server = new BurrowServer(config, { logger: silentLogger(), stateDir: stateDir ?? (await tempDir()).path });
  await server.start();
  return server;
}

export function clientConfig(server: BurrowServer | number, overrides: Partial<ClientConfigInput> = {}) {
  const port = typeof server === 'number' ? server : server.address.port;
  return ClientConfigSchema.parse({
    server: `127.0.0.1:${port}`,
    token: TOKEN,
    tls: false,
    admin: false,
    poolSize: 4,
    clientId: `client-${randomBytes(3).toString('hex')}`,
    ...overrides,
  });
}

export async function startClient(server: BurrowServer | number, overrides: Partial<ClientConfigInput> = {}, stateDir?: string): Promise<Engine> {
  const engine = new Engine(clientConfig(server, overrides), { logger: silentLogger(), stateDir: stateDir ?? (await tempDir()).path });
  await engine.start();
  return engine;
}

/** Polls until `check` returns a value (not undefined/false), or fails with the last status. */
export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function tunnelOnline(engine: Engine, name: string): Promise<number> {
  return waitFor(() => {
    const t = engine.status().tunnels.find((x) => x.name === name);
    return t?.state === 'online' && t.remoteAddress ? Number(t.remoteAddress.split(':').pop()) : undefined;
  }, `tunnel ${name} online (status: ${JSON.stringify(engine.status().tunnels.map((t) => [t.name, t.state, t.error]))})`);
}

export function tunnelStatus(engine: Engine, name: string): ClientStatus['tunnels'][number] | undefined {
  return engine.status().tunnels.find((x) => x.name === name);
}

/** A TCP echo server; returns its port. */
export async function echoServer(): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A UDP echo server; returns its port. */
export async function udpEchoServer(): Promise<{ socket: UdpSocket; port: number; close: () => void }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, close: () => socket.close() };
}

export function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `payload` through `socket`, half-closes, and resolves with everything read back. */
export function roundTrip(socket: Socket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
    socket.end(payload);
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Resolves true if the other side ends or resets the socket within timeoutMs without sending any data. */
export function closedWithoutData(socket: Socket, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    let got = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(!got);
    };
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.on('data', () => (got = true));
    socket.on('error', () => {});
    socket.once('end', done);
    socket.once('close', done);
  });
}

/**
 * Runs `bind` (starting a listener on an address this machine may not have: 127.0.0.2 off Linux,
 * ::1 without IPv6). Resolves undefined only when the bind failed because the address does not
 * exist here — EADDRNOTAVAIL, or EAFNOSUPPORT for an address family the system lacks — so the test
 * can skip saying exactly that; every other failure is thrown and fails the test.
 */
export async function bindIfAddressExists<T>(bind: () => Promise<T>): Promise<T | undefined> {
  try {
    return await bind();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return undefined;
    throw err;
  }
}
