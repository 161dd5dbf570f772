/**
 * The `burrow` command as a user runs it: real processes, real config files, real signals.
 * Needs the build (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientStatus } from '../../shared/types/status.js';
import { connectTcp, echoServer, roundTrip, tempDir } from './harness.js';

const BIN = resolve(import.meta.dirname, '../../bin/burrow.js');
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** `burrow <args>` under this node; `asInstalled` runs the script itself, as a user does, with its shebang's node flags and environment. */
function burrow(args: string[], opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv; asInstalled?: boolean } = {}): Run {
  const [cmd, argv] = opts.asInstalled ? [BIN, args] : [process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exit;
    }
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function fetchStatus(adminPort: number): Promise<ClientStatus | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/status`);
    return (await res.json()) as ClientStatus;
  } catch {
    return undefined;
  }
}

/** The STUN/TURN modules (server or client side, the codecs) and SASLprep among loaded module URLs. */
const stunStack = (urls: string[]) => urls.filter((u) => /\/(server|engine|shared)\/stun\/|\/saslprep\//.test(u));

/**
 * The loaded URLs plus, for each chunk of the command's bundle (build/bundle-cli.config.mjs),
 * the modules inside it: rolldown heads each with a `// dist/…` or `// node_modules/…` comment.
 */
async function withBundled(urls: string[]): Promise<string[]> {
  const inside = await Promise.all(
    urls
      .filter((u) => u.startsWith('file:') && u.includes('/dist/bundle/'))
      .map(async (u) => [...(await readFile(fileURLToPath(u), 'utf8')).matchAll(/^\/\/ ((?:dist|node_modules)\/\S+\.m?js)$/gm)].map((m) => `bundled:/${m[1]}`)),
  );
  return [...urls, ...inside.flat()];
}

/**
 * A module loader hook (node --import) that appends every module URL a process loads to a file:
 * `launch(name)` gives burrow()'s options for one process and a reader of what it loaded so far.
 */
async function moduleRecorder(dir: string) {
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.BURROW_LOAD_LOG, url + '\\n');\n  return next(url, context);\n}\n`);
  const register = join(dir, 'register.mjs');
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return {
    launch: (name: string) => {
      const log = join(dir, `loaded-${name}.txt`);
      return { nodeArgs: ['--import', register], env: { BURROW_LOAD_LOG: log }, modules: async () => withBundled((await readFile(log, 'utf8')).split('\n')) };
    },
  };
}

async function until<T>(f: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until a `burrow server` accepts TCP on its control port (its stderr in the failure). */
const serverListening = (controlPort: number, server: Run): Promise<true> =>
  until(() => connectTcp(controlPort).then((s) => (s.destroy(), true as const), () => false), `server listening; stderr: ${server.stderr()}`);

const clientYaml = (controlPort: number, adminPort: number, stateDir: string, tunnels: string) => `
server: 127.0.0.1:${controlPort}
token: cli-test-token-123
stateDir: ${stateDir}
poolSize: 2
admin: { listen: "127.0.0.1:${adminPort}" }
log: { level: warn }
tunnels:
${tunnels}`;

describe('burrow server + client processes', () => {
  it('SIGHUP adds and removes tunnels while an untouched tunnel keeps its live connection; status --json reports it', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const [controlPort, adminPort] = [await freePort(), await freePort()];
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: cli-test-token-123\nstateDir: server-state\nproxyBind: 127.0.0.1\nlog: { level: warn }\n`);
    const server = burrow(['server', '--config', serverFile]);
    await serverListening(controlPort, server);

    const clientFile = join(dir.path, 'client.yaml');
    const local = `"127.0.0.1:${echo.port}"`;
    const tunnel = (name: string) => `  - { name: ${name}, type: tcp, local: ${local}, remotePort: 0 }\n`;
    await writeFile(clientFile, clientYaml(controlPort, adminPort, join(dir.path, 'client-state'), tunnel('keep') + tunnel('drop')));
    const client = burrow(['client', '--config', clientFile]);

    const online = (s: ClientStatus | undefined, names: string[]) =>
      s && s.state === 'online' && names.every((n) => s.tunnels.find((t) => t.name === n)?.state === 'online') ? s : undefined;
    const first = await until(async () => online(await fetchStatus(adminPort), ['keep', 'drop']), `tunnels online; client stderr: ${client.stderr()}`);
    expect(first.serverFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const portOf = (s: ClientStatus, n: string) => Number(s.tunnels.find((t) => t.name === n)!.remoteAddress!.split(':').pop());
    const keepPort = portOf(first, 'keep');
    const dropPort = portOf(first, 'drop');

    // A live connection through "keep".
    const live = await connectTcp(keepPort);
    const echoOnce = (s: Socket, text: string) =>
      new Promise<string>((r) => {
        s.once('data', (d: Buffer) => r(d.toString()));
        s.write(text);
      });
    expect(await echoOnce(live, 'one')).toBe('one');

    await writeFile(clientFile, clientYaml(controlPort, adminPort, join(dir.path, 'client-state'), tunnel('keep') + tunnel('added')));
    client.child.kill('SIGHUP');
    const second = await until(async () => {
      const s = online(await fetchStatus(adminPort), ['keep', 'added']);
      return s && !s.tunnels.some((t) => t.name === 'drop') ? s : undefined;
    }, 'reloaded tunnels');
    expect(second.tunnels.map((t) => t.name).sort()).toEqual(['added', 'keep']);
    expect(portOf(second, 'keep')).toBe(keepPort);

    // The untouched tunnel's connection survived the reload.
    expect(await echoOnce(live, 'two')).toBe('two');
    live.destroy();
    // The added one works, the removed one is gone.
    expect((await roundTrip(await connectTcp(portOf(second, 'added')), Buffer.from('new'))).toString()).toBe('new');
    await expect(connectTcp(dropPort)).rejects.toThrow(/ECONNREFUSED/);

    // `burrow status --json` prints the same picture.
    const status = burrow(['status', '--admin', `127.0.0.1:${adminPort}`, '--json']);
    expect(await status.exit).toBe(0);
    const printed = JSON.parse(status.stdout()) as ClientStatus;
    expect(printed.tunnels.find((t) => t.name === 'keep')).toMatchObject({ state: 'online', remoteAddress: `127.0.0.1:${keepPort}`, totalConnections: 1 });
    expect(printed.tunnels.find((t) => t.name === 'keep')!.bytesIn).toBe(6);
    const human = burrow(['status', '--config', clientFile]);
    expect(await human.exit).toBe(0);
    expect(human.stdout()).toMatch(/keep\s+tcp\s+online\s+127\.0\.0\.1:\d+/);

    client.child.kill('SIGTERM');
    expect(await client.exit).toBe(0);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 60_000);

  it('a client whose config has no p2p does not load the native p2p libraries (about 5 MB of RSS); a p2p tunnel added by SIGHUP loads them', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const [controlPort, adminPort] = [await freePort(), await freePort()];
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: cli-test-token-123\nstateDir: server-state\nproxyBind: 127.0.0.1\nlog: { level: warn }\n`);
    const server = burrow(['server', '--config', serverFile]);
    await serverListening(controlPort, server);
    const clientFile = join(dir.path, 'client.yaml');
    const tcp = `  - { name: web, type: tcp, local: "127.0.0.1:9", remotePort: 0 }\n`;
    await writeFile(clientFile, clientYaml(controlPort, adminPort, join(dir.path, 'client-state'), tcp));
    const client = burrow(['client', '--config', clientFile]);
    const tunnelsOnline = (names: string[]) => async () => {
      const s = await fetchStatus(adminPort);
      return s && s.state === 'online' && names.every((n) => s.tunnels.find((t) => t.name === n)?.state === 'online') ? s : undefined;
    };
    await until(tunnelsOnline(['web']), `tunnel online; client stderr: ${client.stderr()}`);
    // The shared objects mapped into the process: udx-native's and sodium-native's addons.
    const nativeP2p = async () => (await readFile(`/proc/${client.child.pid}/maps`, 'utf8')).split('\n').filter((l) => /(udx|sodium)[^/]*\.node$/.test(l));
    expect(await nativeP2p()).toEqual([]);

    const p2p = `  - { name: nas, type: p2p, local: "127.0.0.1:9", secret: "correct horse battery staple" }\n`;
    await writeFile(clientFile, clientYaml(controlPort, adminPort, join(dir.path, 'client-state'), tcp + p2p));
    client.child.kill('SIGHUP');
    await until(tunnelsOnline(['web', 'nas']), `p2p tunnel online; client stderr: ${client.stderr()}`);
    expect((await nativeP2p()).length).toBeGreaterThan(0);
  }, 60_000);

  it('a server whose config has no stun section does not load the STUN/TURN stack or SASLprep (about 2 MB of heap); with one it does', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const recorder = await moduleRecorder(dir.path);
    const loaded = async (stun: string): Promise<string[]> => {
      const controlPort = await freePort();
      const serverFile = join(dir.path, 'server.yaml');
      await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: cli-test-token-123\nstateDir: server-state\nlog: { level: warn }\n${stun}`);
      const run = recorder.launch(`server-${controlPort}`);
      const server = burrow(['server', '--config', serverFile], run);
      await serverListening(controlPort, server);
      return run.modules();
    };
    const without = await loaded('');
    expect(without.some((u) => u.endsWith('/dist/server/burrow-server.js'))).toBe(true);
    expect(stunStack(without)).toEqual([]);
    const withStun = await loaded('stun: { listen: "127.0.0.1:0", tlsListen: false }\n');
    expect(stunStack(withStun).length).toBeGreaterThan(0);
  }, 60_000);

  it('a client whose config has no p2p does not load the STUN client or SASLprep (about 2 MB of heap)', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const recorder = await moduleRecorder(dir.path);
    const [controlPort, adminPort] = [await freePort(), await freePort()];
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: cli-test-token-123\nstateDir: server-state\nproxyBind: 127.0.0.1\nlog: { level: warn }\nstun: { listen: "127.0.0.1:0", tlsListen: false }\n`);
    const server = burrow(['server', '--config', serverFile]);
    await serverListening(controlPort, server);
    const clientFile = join(dir.path, 'client.yaml');
    await writeFile(clientFile, clientYaml(controlPort, adminPort, join(dir.path, 'client-state'), `  - { name: web, type: tcp, local: "127.0.0.1:9", remotePort: 0 }\n`));
    const run = recorder.launch('client');
    const client = burrow(['client', '--config', clientFile], run);
    await until(async () => (await fetchStatus(adminPort))?.tunnels.find((t) => t.name === 'web')?.state === 'online', `tunnel online; client stderr: ${client.stderr()}`);
    const modules = await run.modules();
    expect(modules.some((u) => u.endsWith('/dist/engine/engine.js'))).toBe(true);
    expect(stunStack(modules)).toEqual([]);
  }, 60_000);

  it('status without a running client says so and exits 1', async () => {
    const port = await freePort();
    const run = burrow(['status', '--admin', `127.0.0.1:${port}`]);
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toContain(`no client answering at 127.0.0.1:${port}`);
  });
});

describe('no secret in logs or status output (canary)', () => {
  const CANARY = 'CANARY-s3cr3t-c1i9';

  it('a reload that fails logs why without the file\'s token', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const controlPort = await freePort();
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: ${CANARY}\nstateDir: server-state\ntls: false\nlog: { level: info }\n`);
    const server = burrow(['server', '--config', serverFile, '--json-logs']);
    await serverListening(controlPort, server);
    // Not a mapping: the whole file is one string, token included.
    await writeFile(serverFile, `listen=127.0.0.1:${controlPort} token=${CANARY}\n`);
    server.child.kill('SIGHUP');
    await until(async () => server.stdout().includes('reload failed'), `reload failure logged; stdout: ${server.stdout()}`);
    expect(server.stdout()).toContain('expected a mapping of keys');
    expect(server.stdout() + server.stderr()).not.toContain(CANARY);
    // And the same file at startup: exit 2, nothing echoed.
    const again = burrow(['server', '--config', serverFile]);
    expect(await again.exit).toBe(2);
    expect(again.stderr()).toContain('expected a mapping of keys');
    expect(again.stdout() + again.stderr()).not.toContain(CANARY);
  }, 30_000);

  it('a client refused by the server shows neither its token nor its secrets in status and logs', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const [controlPort, adminPort] = [await freePort(), await freePort()];
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(serverFile, `listen: 127.0.0.1:${controlPort}\ntoken: the-right-token-123\nstateDir: server-state\ntls: false\nlog: { level: debug }\n`);
    const server = burrow(['server', '--config', serverFile, '--json-logs']);
    await serverListening(controlPort, server);
    const clientFile = join(dir.path, 'client.yaml');
    await writeFile(
      clientFile,
      `server: 127.0.0.1:${controlPort}\ntoken: ${CANARY}-token\ntls: false\nstateDir: client-state\nadmin: { listen: "127.0.0.1:${adminPort}" }\nlog: { level: debug }\n` +
        `tunnels:\n  - { name: db, type: secret, local: "127.0.0.1:5432", secret: ${CANARY}-tunnel }\n` +
        `visitors:\n  - { name: v, tunnel: db, secret: ${CANARY}-visitor, bind: "127.0.0.1:0" }\n`,
    );
    const client = burrow(['client', '--config', clientFile, '--json-logs']);
    await until(async () => (await fetchStatus(adminPort))?.error?.startsWith('authentication failed'), `client refused; stderr: ${client.stderr()}`);
    const json = burrow(['status', '--admin', `127.0.0.1:${adminPort}`, '--json']);
    const text = burrow(['status', '--admin', `127.0.0.1:${adminPort}`]);
    expect(await json.exit).toBe(0);
    expect(await text.exit).toBe(0);
    expect(json.stdout()).toContain('authentication failed');
    for (const output of [json.stdout(), text.stdout(), client.stdout(), client.stderr(), server.stdout(), server.stderr()]) {
      expect(output).not.toContain(CANARY);
    }
  }, 30_000);
});

describe('bad config files', () => {
  const cases: Array<[string, string, 'client' | 'server', RegExp]> = [
    ['yaml syntax', 'server: [127.0.0.1:7000\ntoken: x', 'client', /line \d+/],
    ['missing token', 'server: 127.0.0.1:7000\n', 'client', /token: required/],
    ['port out of range', 'server: 127.0.0.1:7000\ntoken: abcdefgh12\ntunnels:\n  - { name: a, type: tcp, local: "127.0.0.1:22", remotePort: 70000 }\n', 'client', /tunnels\[0\]\.remotePort/],
    ['unknown key', 'server: 127.0.0.1:7000\ntoken: abcdefgh12\nremote_port: 1\n', 'client', /remote_port/],
    ['bad tunnel type', 'server: 127.0.0.1:7000\ntoken: abcdefgh12\ntunnels:\n  - { name: a, type: http, local: "127.0.0.1:22", remotePort: 1 }\n', 'client', /tunnels\[0\]\.type/],
    ['bad listen', 'listen: nowhere\ntoken: abcdefgh12\n', 'server', /listen: expected "host:port"/],
  ];
  for (const [title, text, kind, expected] of cases) {
    it(`${kind}: ${title} -> exit 2 with the key named`, async () => {
      const dir = await tempDir();
      cleanup.push(dir.remove);
      const file = join(dir.path, `${kind}.yaml`);
      await writeFile(file, text);
      const run = burrow([kind, '--config', file]);
      expect(await run.exit).toBe(2);
      expect(run.stderr()).toContain(file);
      expect(run.stderr()).toMatch(expected);
    });
  }

  it('a missing config file is a clear error', async () => {
    const run = burrow(['server', '--config', '/nonexistent/burrow.yaml']);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/\/nonexistent\/burrow\.yaml: cannot read config/);
  });
});

describe('burrow demo', () => {
  it('exposes the demo service through the relay and counts the bytes', async () => {
    const run = burrow(['demo', '--duration', '4', '--json']);
    const ready = await until(async () => {
      const line = run.stdout().split('\n').find((l) => l.includes('"ready"'));
      return line ? (JSON.parse(line) as { url: string; tls: boolean; fingerprint: string }) : undefined;
    }, `demo ready; stderr: ${run.stderr()}`);
    expect(ready.tls).toBe(true);
    const body = await (await fetch(ready.url)).text();
    expect(body).toContain('Hello from behind the NAT');
    expect(await run.exit).toBe(0);
    const last = run.stdout().trim().split('\n').pop()!;
    const counters = JSON.parse(last) as { event: string; bytesOut: number; totalConnections: number };
    expect(counters.event).toBe('counters');
    expect(counters.totalConnections).toBeGreaterThanOrEqual(1);
    expect(counters.bytesOut).toBeGreaterThan(body.length);
  }, 30_000);
});


describe('garbage collection while relaying', () => {
  /** A plain tcp tunnel through real `burrow server` and `burrow client` processes; the server's major GC count from /metrics. */
  async function relayAndCountMajorGcs(env: NodeJS.ProcessEnv, megabytes: number): Promise<{ majors: number; received: number }> {
    const sink = createServer((s) => s.on('data', () => {}).on('error', () => {}));
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => sink.close(r)));
    let received = 0;
    sink.on('connection', (s: Socket) => s.on('data', (d: Buffer) => (received += d.length)));
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const [controlPort, serverAdmin, clientAdmin, remotePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const serverFile = join(dir.path, 'server.yaml');
    await writeFile(
      serverFile,
      `listen: 127.0.0.1:${controlPort}\ntoken: cli-test-token-123\ntls: false\nstateDir: server-state\nproxyBind: 127.0.0.1\nadmin: { listen: "127.0.0.1:${serverAdmin}", token: admin-token-456 }\nlog: { level: warn }\n`,
    );
    const server = burrow(['server', '--config', serverFile], { env, asInstalled: true });
    await serverListening(controlPort, server);
    const clientFile = join(dir.path, 'client.yaml');
    await writeFile(
      clientFile,
      clientYaml(controlPort, clientAdmin, join(dir.path, 'client-state'), `  - { name: bulk, type: tcp, local: "127.0.0.1:${(sink.address() as AddressInfo).port}", remotePort: ${remotePort} }\n`) + 'tls: false\n',
    );
    const client = burrow(['client', '--config', clientFile], { env, asInstalled: true });
    await until(async () => (await fetchStatus(clientAdmin))?.tunnels.find((t) => t.name === 'bulk')?.state === 'online', `tunnel online; client stderr: ${client.stderr()}`);
    const majors = async (): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${serverAdmin}/metrics`, { headers: { authorization: 'Bearer admin-token-456' } });
      const m = /^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)/m.exec(await res.text());
      return m ? Number(m[1]) : 0; // no line: no major collection yet
    };
    const before = await majors();
    const user = await connectTcp(remotePort);
    const chunk = Buffer.alloc(64 * 1024, 7); // the same Buffer every time: the test allocates nothing per write
    const total = megabytes * 1024 * 1024;
    await new Promise<void>((resolve, reject) => {
      user.once('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!user.write(chunk)) return void user.once('drain', pump);
        }
        resolve();
      };
      pump();
    });
    await until(async () => received >= total, `all ${megabytes} MB at the service (${received} so far)`);
    user.destroy();
    return { majors: (await majors()) - before, received };
  }

  it('a plain relay moving 512 MB frees its read Buffers in scavenges, not in a full mark-compact every few dozen MB', async () => {
    // BURROW_YOUNG_GC=off is V8's own schedule: dead Buffers' memory counts against the old
    // generation's limit until a young collection frees it, and a relay allocates too few
    // JavaScript objects per byte for one to come in time (io/young-gc-pacer.ts).
    const off = await relayAndCountMajorGcs({ BURROW_YOUNG_GC: 'off' }, 512);
    for (const f of cleanup.splice(0).reverse()) await f();
    const on = await relayAndCountMajorGcs({}, 512);
    expect(off.received).toBe(512 * 1024 * 1024);
    expect(on.received).toBe(512 * 1024 * 1024);
    expect(off.majors, 'the scenario no longer reproduces the mark-compact storm: revisit io/young-gc-pacer.ts').toBeGreaterThanOrEqual(8);
    expect(on.majors).toBeLessThanOrEqual(Math.floor(off.majors / 4));
  }, 180_000);
});
