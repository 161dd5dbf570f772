import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startConsole, type ConsoleHost } from './console-host.js';

let host: ConsoleHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

async function start() {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-console-'));
  const configFile = join(dir, 'client.yaml');
  // port 9 on loopback: nothing answers, the engine keeps "connecting"; the console still works
  await writeFile(configFile, '# mine\nserver: 127.0.0.1:9\ntoken: secret-token-123\ntls: false\nadmin: false\n');
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Burrow</title>');
  host = await startConsole({ configFile, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), stateDir: dir, rendererDir: dir, sampleIntervalMs: 50 });
  const url = new URL(host.url);
  return { url, configFile, token: url.searchParams.get('token')! };
}

function get(url: URL, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openWs(url: URL, query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${url.host}/ws${query}`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('burrow console host', () => {
  it('refuses HTTP without the token, and with a wrong one, with 403', async () => {
    const { url } = await start();
    expect((await get(url, '/')).status).toBe(403);
    expect((await get(url, '/?token=wrong')).status).toBe(403);
    expect((await get(url, '/', { cookie: 'burrow_console=wrong' })).body).toMatch(/access token/);
  });

  it('turns the token in the URL into a cookie, then serves the page', async () => {
    const { url, token } = await start();
    const first = await get(url, `/?token=${token}`);
    expect(first.status).toBe(303);
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    const page = await get(url, '/', { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Burrow</title>');
    expect((await get(url, '/../../etc/passwd', { cookie })).status).toBe(404);
  });

  it('refuses a non-loopback Host even with the token (DNS rebinding)', async () => {
    const { url, token } = await start();
    expect((await get(url, `/?token=${token}`, { host: `evil.example:${url.port}` })).status).toBe(403);
  });

  it('refuses a WebSocket without the token or from a foreign origin', async () => {
    const { url, token } = await start();
    await expect(openWs(url, '')).rejects.toThrow('HTTP 403');
    await expect(openWs(url, `?token=${token}`, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
  });

  it('answers contract calls over the WebSocket, pushes status and traffic, and writes tunnel edits to the file', async () => {
    const { url, token, configFile } = await start();
    const ws = await openWs(url, `?token=${token}`);
    const messages: { kind: string; id?: number; stream?: string; ok?: boolean; result?: unknown; error?: { code: string } }[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    const arrived = async (match: (m: (typeof messages)[number]) => boolean) => {
      for (let i = 0; i < 500 && !messages.some(match); i++) await new Promise((r) => setTimeout(r, 10));
      return messages.find(match);
    };
    const reply = async (id: number) => (await arrived((m) => m.id === id))!;
    ws.send(JSON.stringify({ kind: 'request', id: 1, channel: 'status.get', payload: {} }));
    expect(await reply(1)).toMatchObject({ ok: true, result: { server: '127.0.0.1:9', tunnels: [] } });
    ws.send('{not json');
    ws.send(JSON.stringify({ kind: 'request', id: 2, channel: 'tunnels.add', payload: { tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:8080', remotePort: 0 } } }));
    expect(await reply(2)).toMatchObject({ ok: true });
    expect(messages.some((m) => m.kind === 'response' && m.id === null && m.error?.code === 'bad-message')).toBe(true);
    const text = await readFile(configFile, 'utf8');
    expect(text).toContain('# mine');
    expect(text).toContain('name: web');
    ws.send(JSON.stringify({ kind: 'request', id: 3, channel: 'status.get', payload: {} }));
    expect(await reply(3)).toMatchObject({ result: { tunnels: [{ name: 'web', state: 'connecting' }] } });
    // pushed every sampleIntervalMs (50 ms here), without being asked
    expect(await arrived((m) => m.kind === 'event' && m.stream === 'traffic')).toBeDefined();
    expect(await arrived((m) => m.kind === 'event' && m.stream === 'status')).toBeDefined();
    ws.close();
  });
});

/** A contract session over the WebSocket: call(channel, payload) → the response message. */
async function session(url: URL, token: string) {
  const ws = await openWs(url, `?token=${token}`);
  const messages: { kind: string; id?: number; stream?: string; ok?: boolean; result?: unknown; payload?: unknown; error?: { code: string; message: string } }[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  let id = 100;
  const arrived = async (match: (m: (typeof messages)[number]) => boolean) => {
    for (let i = 0; i < 1000 && !messages.some(match); i++) await new Promise((r) => setTimeout(r, 10));
    return messages.find(match);
  };
  const call = async (channel: string, payload: unknown = {}) => {
    const n = ++id;
    ws.send(JSON.stringify({ kind: 'request', id: n, channel, payload }));
    return (await arrived((m) => m.id === n))!;
  };
  return { ws, messages, arrived, call };
}

describe('burrow console: first start, logs, checks', () => {
  it('starts empty without a config file, and "Connect to my server" writes one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-console-'));
    const configFile = join(dir, 'burrow', 'client.yaml');
    host = await startConsole({ configFile, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), stateDir: dir, rendererDir: dir, sampleIntervalMs: 50 });
    const url = new URL(host.url);
    const s = await session(url, url.searchParams.get('token')!);
    expect(await s.call('console.mode')).toMatchObject({ ok: true, result: { mode: 'empty', configFile } });
    expect(await s.call('status.get')).toMatchObject({ ok: true, result: { state: 'stopped', tunnels: [] } });
    expect(await s.call('tunnels.add', { tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:80', remotePort: 0 } })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/no server is configured yet/) } });
    // without an embedded-server factory, "Try it locally" says so instead of failing silently
    expect(await s.call('setup.tryLocally')).toMatchObject({ ok: false, error: { message: expect.stringMatching(/cannot start a local server/) } });
    expect(await s.call('setup.connect', { server: '127.0.0.1:9', token: 'short' })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await s.call('setup.connect', { server: '127.0.0.1:9', token: 'a-long-enough-token', tls: false })).toMatchObject({ ok: true, result: { mode: 'client' } });
    const text = await readFile(configFile, 'utf8');
    expect(text).toMatch(/^server: 127\.0\.0\.1:9$/m);
    expect(text).toMatch(/^tls: false$/m);
    expect(await s.call('settings.get')).toMatchObject({ ok: true, result: { server: '127.0.0.1:9', tokenMasked: '••••••••oken', tls: false } });
    expect(await s.call('settings.revealToken')).toMatchObject({ ok: true, result: { token: 'a-long-enough-token' } });
    expect(await s.arrived((m) => m.stream === 'mode')).toMatchObject({ payload: { mode: 'client' } });
    s.ws.close();
  });

  it('pushes log lines with the token masked, and checks local services', async () => {
    const { url, token } = await start();
    const s = await session(url, token);
    // the engine logs "cannot connect to server" (port 9); the token never appears in any message
    expect(await s.arrived((m) => m.stream === 'log')).toBeDefined();
    await s.call('tunnels.save', { tunnel: { name: 'ssh', type: 'secret', local: '127.0.0.1:22', secret: 'canary-secret-5e1f' } });
    expect(JSON.stringify(s.messages)).not.toContain('secret-token-123');
    expect(JSON.stringify(s.messages)).not.toContain('canary-secret-5e1f');
    const history = await s.call('logs.history');
    expect((history.result as { lines: unknown[] }).lines.length).toBeGreaterThan(0);
    const dead = await s.call('local.check', { address: '127.0.0.1:9', type: 'tcp' });
    expect(dead).toMatchObject({ ok: true, result: { reachable: false, checked: true, error: expect.stringMatching(/connection refused/) } });
    expect(await s.call('local.check', { address: '127.0.0.1:9', type: 'udp' })).toMatchObject({ result: { checked: false } });
    s.ws.close();
  });

  it('saves a tunnel as typed: "10MB" stays "10MB" in the file and in the form', async () => {
    const { url, token, configFile } = await start();
    const s = await session(url, token);
    expect(await s.call('tunnels.save', { tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:8080', remotePort: 0, bandwidth: '10MB' } })).toMatchObject({ ok: true });
    expect(await readFile(configFile, 'utf8')).toMatch(/bandwidth: 10MB/);
    expect(await s.call('tunnels.listAsWritten')).toMatchObject({ result: { tunnels: [{ name: 'web', bandwidth: '10MB' }] } });
    expect(await s.call('tunnels.save', { tunnel: { name: 'bad', type: 'tcp', local: '127.0.0.1:8080', remotePort: 0, bandwidth: 'lots' } })).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/bandwidth/) } });
    s.ws.close();
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((r) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => (c.destroy(), r(true)));
    c.on('error', () => r(false));
  });
}

describe('burrow console: visitors on and off', () => {
  it('visitors.setEnabled closes the visitor\'s local port and opens it again, written to the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-console-'));
    const configFile = join(dir, 'client.yaml');
    const port = await freePort();
    await writeFile(configFile, `server: 127.0.0.1:9\ntoken: secret-token-123\ntls: false\nadmin: false\nvisitors:\n  # the NAS at the office\n  - name: nas\n    tunnel: nas\n    secret: visitor-secret-1\n    bind: 127.0.0.1:${port}\n`);
    host = await startConsole({ configFile, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), stateDir: dir, rendererDir: dir, sampleIntervalMs: 50 });
    const call = (channel: string, payload: unknown) => host!.router.handle({ kind: 'request', id: 1, channel, payload });
    expect(await canConnect(port)).toBe(true);

    expect(await call('visitors.setEnabled', { name: 'nas', enabled: false })).toMatchObject({ ok: true });
    expect(await canConnect(port)).toBe(false);
    expect(await call('status.get', {})).toMatchObject({ ok: true, result: { visitors: [{ name: 'nas', state: 'stopped', bind: `127.0.0.1:${port}` }] } });
    const text = await readFile(configFile, 'utf8');
    expect(text).toMatch(/^ {4}enabled: false$/m);
    expect(text).toContain('# the NAS at the office');

    expect(await call('visitors.setEnabled', { name: 'nas', enabled: true })).toMatchObject({ ok: true });
    expect(await canConnect(port)).toBe(true);
    expect(await readFile(configFile, 'utf8')).not.toContain('enabled');

    expect(await call('visitors.setEnabled', { name: 'nope', enabled: false })).toMatchObject({ ok: false, error: { code: 'failed', message: 'no visitor named "nope"' } });
    expect(await call('visitors.setEnabled', { name: 'nas', enabled: 'off' })).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/^visitors\.setEnabled: enabled: /) } });
    expect(await canConnect(port)).toBe(true);
  });
});

describe('burrow console --listen', () => {
  it('refuses an address that is not loopback', async () => {
    await expect(startConsole({ configFile: '/nonexistent.yaml', listen: '0.0.0.0:0', logger: pino({ level: 'silent' }), stateDir: tmpdir() })).rejects.toThrow(/loopback only/);
  });
});
