/**
 * Network loss without a clean close: a proxy between client and server silently drops every byte
 * (as when a NAT mapping vanishes), or the server process is frozen (SIGSTOP). Both heartbeats must
 * notice, the server must free the session, the client must say why it disconnected ("no heartbeat
 * reply for N s", not "connection closed") and come back once the path works again.
 * The SIGSTOP test runs real processes from the build (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientStatus } from '../../shared/types/status.js';
import { connectTcp, echoServer, roundTrip, startClient, startServer, tempDir, tunnelOnline, waitFor } from './harness.js';

const BIN = resolve(import.meta.dirname, '../../bin/burrow.js');

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A TCP proxy that can black-hole traffic: frozen connections stay open but carry nothing, ever. */
async function blackHoleProxy(upstreamPort: number): Promise<{ port: number; freeze: () => void; thaw: () => void; close: () => void }> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (down) => {
    const up = connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
    let dead = frozen;
    const link = { kill: () => (dead = true) };
    killers.add(link);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.on('data', (d: Buffer) => !dead && up.write(d));
    up.on('data', (d: Buffer) => !dead && down.write(d));
    down.on('end', () => !dead && up.end());
    up.on('end', () => !dead && down.end());
  });
  const killers = new Set<{ kill: () => void }>();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
      for (const k of killers) k.kill();
    },
    thaw: () => (frozen = false),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('network loss', () => {
  it('a silently dead path is detected by both heartbeats and the client recovers when it returns', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer({ heartbeatTimeout: 1.5 });
    cleanup.push(() => server.stop());
    const proxy = await blackHoleProxy(server.address.port);
    cleanup.push(proxy.close);
    const engine = await startClient(proxy.port, {
      heartbeat: { interval: 0.2, timeout: 1 },
      tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }],
    });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'echo');
    expect((await roundTrip(await connectTcp(port), Buffer.from('before'))).toString()).toBe('before');

    proxy.freeze();
    // The server stops hearing pings: after heartbeatTimeout the session and its port are gone.
    await waitFor(() => server.snapshot().clients.length === 0, 'server to drop the silent client', 5000);
    await expect(connectTcp(port)).rejects.toThrow(/ECONNREFUSED/);
    // The client stops hearing pongs and keeps trying.
    await waitFor(() => engine.status().state !== 'online', 'client to notice', 5000);
    expect(engine.status().error).toMatch(/no heartbeat reply|timed out|no message|closed/);
    expect(engine.status().lastDisconnect?.reason).toBe('no heartbeat reply for 1 s');

    proxy.thaw();
    await waitFor(() => engine.status().state === 'online' && engine.status().tunnels[0]!.state === 'online', 'client back online', 20_000);
    const again = await tunnelOnline(engine, 'echo');
    expect((await roundTrip(await connectTcp(again), Buffer.from('after'))).toString()).toBe('after');
  }, 40_000);
});

/** `burrow …` as a child process; its output (log lines included) is kept. */
function burrow(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, output: () => out, exited };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function clientStatus(port: number): Promise<ClientStatus | undefined> {
  try {
    return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as ClientStatus;
  } catch {
    return undefined;
  }
}

async function until<T>(f: () => Promise<T | undefined | false>, what: () => string, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a frozen server process (SIGSTOP)', () => {
  it('the client reports "no heartbeat reply for 3 s" in its log and in status lastDisconnect, and comes back after SIGCONT', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const [controlPort, statusPort] = [await freePort(), await freePort()];
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: sigstop-test-token-123\nstateDir: ${join(dir.path, 'server-state')}\nproxyBind: 127.0.0.1\nlog: { level: warn }\n`);
    const clientFile = join(dir.path, 'client.yaml');
    await writeFile(
      clientFile,
      `server: 127.0.0.1:${controlPort}\ntoken: sigstop-test-token-123\nstateDir: ${join(dir.path, 'client-state')}\n` +
        `heartbeat: { interval: 1, timeout: 3 }\nadmin: { listen: "127.0.0.1:${statusPort}" }\nlog: { level: warn }\ntunnels: []\n`,
    );
    const server = burrow(['server', '--config', serverFile]);
    const client = burrow(['client', '--config', clientFile]);
    const what = (s: string) => () => `${s}; server output: ${server.output()}; client output: ${client.output()}`;
    try {
      await until(async () => (await clientStatus(statusPort))?.state === 'online', what('client online'), 20_000);
      expect((await clientStatus(statusPort))?.lastDisconnect).toBeUndefined();

      server.child.kill('SIGSTOP');
      const down = await until(
        async () => {
          const s = await clientStatus(statusPort);
          return s?.lastDisconnect ? s : undefined;
        },
        what('a disconnect in the status'),
        15_000,
      );
      expect(down.lastDisconnect!.reason).toBe('no heartbeat reply for 3 s');
      expect(down.state).not.toBe('online');
      expect(Math.abs(Date.parse(down.lastDisconnect!.at) - Date.now())).toBeLessThan(15_000);
      const logLine = client.output().split('\n').find((l) => l.includes('connection to server lost'));
      expect(logLine, client.output()).toContain('no heartbeat reply for 3 s');

      server.child.kill('SIGCONT');
      const back = await until(async () => {
        const s = await clientStatus(statusPort);
        return s?.state === 'online' ? s : undefined;
      }, what('client back online'), 40_000);
      // The reason stays until the next disconnect.
      expect(back.lastDisconnect).toEqual(down.lastDisconnect);
    } finally {
      for (const p of [server, client]) {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGCONT');
          p.child.kill('SIGKILL');
          await p.exited;
        }
      }
    }
  }, 90_000);
});
