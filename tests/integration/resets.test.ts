/**
 * Resets travel (issue 8 point 1): when one end of a tunnelled connection is reset, or a Burrow
 * process or the connection between them dies mid-transfer, the surviving end sees a reset
 * (ECONNRESET), as with direct TCP, never a clean end that makes a truncated transfer look complete.
 * A clean close still arrives as a clean close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcp, echoServer, roundTrip, sha256, startClient, startServer, tempDir, TOKEN, tunnelOnline, waitFor } from './harness.js';

const BIN = resolve(import.meta.dirname, '../../bin/burrow.js');
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** How a socket's reading ended: 'end' for a FIN, else the error's code; and how many bytes came first. */
interface Ending {
  bytes: number;
  how: string;
}

/**
 * A reset that arrives while unread data is queued is reported by libuv as end-of-stream (with
 * the error left pending in the kernel), so on 'end' a zero-byte write asks the kernel: it fails
 * with ECONNRESET on a reset connection and succeeds after a real FIN. A C program's read() would
 * see the ECONNRESET directly.
 */
function ending(s: Socket): Promise<Ending> {
  return new Promise((resolve) => {
    let bytes = 0;
    s.on('data', (c: Buffer) => (bytes += c.length));
    s.once('end', () => {
      if (!s.writable) return resolve({ bytes, how: 'end' });
      s.write(Buffer.alloc(0), (e?: NodeJS.ErrnoException | null) => resolve({ bytes, how: e ? String(e.code) : 'end' }));
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ bytes, how: String(e.code) }));
  });
}

/** A local service whose behaviour per connection is `serve`; records how each connection's reading ended. */
async function service(serve: (s: Socket) => void): Promise<{ port: number; endings: Promise<Ending>[]; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const endings: Promise<Ending>[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    endings.push(ending(s));
    serve(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const close = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  };
  cleanup.push(close);
  return { port: (server.address() as AddressInfo).port, endings, close };
}

/** Writes 64 KiB chunks for as long as the socket takes them (a download that never finishes by itself). */
function stream(s: Socket): void {
  const chunk = randomBytes(64 * 1024);
  const more = () => {
    while (!s.destroyed && s.writable && s.write(chunk));
  };
  s.on('drain', more);
  more();
}

/** Resolves once `s` has read at least `n` bytes: the transfer is well under way. */
function received(s: Socket, n: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const on = (c: Buffer) => {
      got += c.length;
      if (got >= n) {
        s.off('data', on);
        resolve();
      }
    };
    s.on('data', on);
  });
}

/**
 * A TCP proxy in front of the server's control port, so a test can cut the connection that carries
 * a transfer (the mux connection with mux, the work connection without) while the others live.
 */
async function cuttableProxy(upstreamPort: number) {
  const links: Array<{ down: Socket; up: Socket; bytes: number }> = [];
  const server = createServer({ allowHalfOpen: true }, (down) => {
    const up = connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
    const link = { down, up, bytes: 0 };
    links.push(link);
    for (const [from, to] of [
      [down, up],
      [up, down],
    ] as const) {
      from.on('error', () => {});
      from.on('data', (d: Buffer) => {
        link.bytes += d.length;
        to.write(d);
      });
      from.on('end', () => to.end());
      from.once('close', () => to.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => {
    for (const l of links) (l.down.destroy(), l.up.destroy());
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    /** Cuts the busiest connection: with `reset`, RST both ways; otherwise FIN both ways (as a crashed middlebox's kernel does). */
    cutBusiest(reset: boolean): void {
      const busiest = links.filter((l) => !l.down.destroyed).sort((x, y) => y.bytes - x.bytes)[0]!;
      for (const s of [busiest.down, busiest.up]) {
        if (reset) s.resetAndDestroy();
        else s.destroy();
      }
    },
  };
}

async function inProcess(mux: boolean, tls: boolean, localPort: number, via?: (serverPort: number) => Promise<number>) {
  const state = await tempDir();
  cleanup.push(state.remove);
  const server = await startServer({ tls }, `${state.path}/server`);
  cleanup.push(() => server.stop());
  const serverPort = via ? await via(server.address.port) : server.address.port;
  const engine = await startClient(
    serverPort,
    { tls, mux, tunnels: [{ name: 'svc', type: 'tcp', local: `127.0.0.1:${localPort}`, remotePort: 0 }] },
    `${state.path}/client`,
  );
  cleanup.push(() => engine.stop());
  const port = await tunnelOnline(engine, 'svc');
  if (mux) await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux attached');
  return { server, engine, port };
}

function burrowProcess(args: string[]): { child: ChildProcess; exit: Promise<unknown>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise((r) => child.once('exit', r));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });
  return { child, exit, stderr: () => err };
}

describe.each([
  { mux: true, tls: true },
  { mux: false, tls: true },
  { mux: false, tls: false },
])('resets travel through a tcp tunnel (mux: $mux, tls: $tls)', ({ mux, tls }) => {
  it('a clean close still arrives as a clean close: full data, FIN, no error', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const { port } = await inProcess(mux, tls, echo.port);
    const payload = randomBytes(4 * 1024 * 1024);
    const back = await roundTrip(await connectTcp(port), payload);
    expect(back.length).toBe(payload.length);
    expect(sha256(back)).toBe(sha256(payload));
  }, 30_000);

  it('a reset from the local service reaches the user as ECONNRESET', async () => {
    // The service sends 1 MiB, then resets.
    const svc = await service((s) => {
      s.on('error', () => {});
      s.write(randomBytes(1024 * 1024), () => setTimeout(() => s.resetAndDestroy(), 50));
    });
    const { port } = await inProcess(mux, tls, svc.port);
    const user = await connectTcp(port);
    const got = await ending(user);
    expect(got.how).toBe('ECONNRESET');
  }, 30_000);

  it('a local service that is down: the user gets a reset, and the client keeps serving', async () => {
    const gone = await echoServer();
    const { port } = await inProcess(mux, tls, gone.port);
    await gone.close();
    // before the fix, with mux the stream's reset was an unhandled 'error' event that killed the client
    expect((await ending(await connectTcp(port))).how).toBe('ECONNRESET');
    expect((await ending(await connectTcp(port))).how).toBe('ECONNRESET');
  }, 30_000);

  it('a reset from the user reaches the local service as ECONNRESET', async () => {
    const svc = await service((s) => s.resume());
    const { port } = await inProcess(mux, tls, svc.port);
    const user = await connectTcp(port);
    user.write(randomBytes(256 * 1024));
    await waitFor(() => svc.endings.length === 1, 'the service accepted the connection');
    await new Promise((r) => setTimeout(r, 100));
    user.resetAndDestroy();
    expect((await svc.endings[0]!).how).toBe('ECONNRESET');
  }, 30_000);

  it(`the connection carrying the transfer (${mux ? 'mux' : 'work'} connection) cut mid-stream: both ends see a reset`, async () => {
    const svc = await service(stream);
    let proxy: Awaited<ReturnType<typeof cuttableProxy>> | undefined;
    const { port } = await inProcess(mux, tls, svc.port, async (p) => {
      proxy = await cuttableProxy(p);
      return proxy.port;
    });
    const user = await connectTcp(port);
    const atUser = ending(user);
    await received(user, 2 * 1024 * 1024);
    // With mux a plain FIN on the mux connection (no yamux FIN on the stream) is a loss; a pooled
    // work connection is a raw byte pipe, where only a reset can say so.
    proxy!.cutBusiest(!mux);
    expect((await atUser).how).toBe('ECONNRESET');
    expect((await svc.endings[0]!).how).toBe('ECONNRESET');
  }, 30_000);
});

describe.each([{ mux: true }, { mux: false }])('a Burrow process killed mid-transfer (mux: $mux)', ({ mux }) => {
  it('kill -9 of the client: the user sees a reset, not a clean end', async () => {
    const svc = await service(stream);
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const server = await startServer({ tls: true }, join(dir.path, 'server'));
    cleanup.push(() => server.stop());
    const file = join(dir.path, 'client.yaml');
    await writeFile(
      file,
      [
        `server: 127.0.0.1:${server.address.port}`,
        `token: ${TOKEN}`,
        `stateDir: ${join(dir.path, 'client')}`,
        `mux: ${mux}`,
        'poolSize: 2',
        'admin: false',
        'log: { level: warn }',
        'tunnels:',
        `  - { name: svc, type: tcp, local: "127.0.0.1:${svc.port}", remotePort: 0 }`,
        '',
      ].join('\n'),
    );
    const client = burrowProcess(['client', '--config', file]);
    const port = await waitFor(() => server.snapshot().clients[0]?.tunnels[0]?.remotePort, `tunnel online; client stderr: ${client.stderr()}`, 20_000);
    if (mux) await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux attached');
    const user = await connectTcp(port);
    const atUser = ending(user);
    await received(user, 2 * 1024 * 1024);
    client.child.kill('SIGKILL');
    const got = await atUser;
    expect(got.how).toBe('ECONNRESET');
  }, 40_000);

  it('kill -9 of the server: the local service sees a reset, not a clean end', async () => {
    // The user uploads; the service reads. Its end must not look like a finished upload.
    const svc = await service((s) => s.resume());
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const controlPort = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const file = join(dir.path, 'server.yaml');
    await writeFile(file, `listen: 127.0.0.1:${controlPort}\ntoken: ${TOKEN}\nstateDir: ${join(dir.path, 'server')}\nproxyBind: 127.0.0.1\nlog: { level: warn }\n`);
    const server = burrowProcess(['server', '--config', file]);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const up = await connectTcp(controlPort).then(
        (s) => (s.destroy(), true),
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) throw new Error(`server not listening; stderr: ${server.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const engine = await startClient(controlPort, { tls: true, mux, tunnels: [{ name: 'svc', type: 'tcp', local: `127.0.0.1:${svc.port}`, remotePort: 0 }] }, join(dir.path, 'client'));
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'svc');
    if (mux) await waitFor(() => engine.status().tunnels.length > 0 && (engine as unknown as { muxConn?: { streamCount?: number } }).muxConn?.streamCount !== undefined, 'mux attached');
    const user = await connectTcp(port);
    user.on('error', () => {});
    stream(user);
    await waitFor(() => svc.endings.length === 1, 'the service accepted the connection');
    await waitFor(() => (engine.status().tunnels[0]?.bytesIn ?? 0) >= 2 * 1024 * 1024, 'the upload under way');
    server.child.kill('SIGKILL');
    expect((await svc.endings[0]!).how).toBe('ECONNRESET');
  }, 40_000);
});

describe.each([{ mux: true }, { mux: false }])('resets travel through a secret tunnel and its visitor (mux: $mux)', ({ mux }) => {
  async function secretSetup(localPort: number): Promise<number> {
    const state = await tempDir();
    cleanup.push(state.remove);
    const server = await startServer({ tls: true }, `${state.path}/server`);
    cleanup.push(() => server.stop());
    const owner = await startClient(
      server,
      { tls: true, mux, tunnels: [{ name: 'db', type: 'secret', local: `127.0.0.1:${localPort}`, secret: 'correct horse battery' }] },
      `${state.path}/owner`,
    );
    cleanup.push(() => owner.stop());
    await waitFor(() => owner.status().tunnels[0]!.state === 'online', 'secret tunnel online');
    if (mux) await waitFor(() => server.snapshot().clients[0]?.muxStreams !== undefined, 'mux attached');
    const visitor = await startClient(
      server,
      { tls: true, mux, visitors: [{ name: 'to-db', tunnel: 'db', secret: 'correct horse battery', bind: '127.0.0.1:0' }] },
      `${state.path}/visitor`,
    );
    cleanup.push(() => visitor.stop());
    await waitFor(() => visitor.status().state === 'online', 'visitor client online');
    return waitFor(() => (visitor as unknown as { visitors: Map<string, { port?: number }> }).visitors.get('to-db')?.port, 'visitor listening');
  }

  it('a clean close arrives clean, a reset from the service reaches the visitor user, and a reset from the user reaches the service', async () => {
    let mode: 'echo' | 'reset' = 'echo';
    const svc = await service((s) => {
      s.on('error', () => {});
      if (mode === 'echo') s.pipe(s);
      else s.write(randomBytes(1024 * 1024), () => setTimeout(() => s.resetAndDestroy(), 50));
    });
    const port = await secretSetup(svc.port);

    const payload = randomBytes(1024 * 1024);
    const back = await roundTrip(await connectTcp(port), payload);
    expect(sha256(back)).toBe(sha256(payload));

    mode = 'reset';
    expect((await ending(await connectTcp(port))).how).toBe('ECONNRESET');

    mode = 'echo';
    const user = await connectTcp(port);
    user.on('error', () => {});
    user.write(randomBytes(64 * 1024));
    await waitFor(() => svc.endings.length === 3, 'the service accepted the third connection');
    await new Promise((r) => setTimeout(r, 100));
    user.resetAndDestroy();
    expect((await svc.endings[2]!).how).toBe('ECONNRESET');
  }, 30_000);
});
