import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerSnapshot } from '../shared/types/server-status.js';
import { AdminApi, type AdminTarget } from './admin-api.js';

const TOKEN = 'admin-token-123';

class FakeServer implements AdminTarget {
  readonly disconnected: string[] = [];
  failSnapshot = false;
  failDisconnect = false;
  snap: ServerSnapshot = {
    version: '0.1.0',
    startedAt: '2024-06-01T00:00:00.000Z',
    listen: '0.0.0.0:7000',
    tls: true,
    fingerprint: 'AA:BB',
    clients: [
      {
        clientId: 'c1',
        sessionId: 'sess1',
        address: '10.0.0.1:50000',
        version: '0.1.0',
        connectedAt: '2024-06-01T00:00:01.000Z',
        idleWorkConnections: 2,
        bytesIn: 1244,
        bytesOut: 5698,
        activeConnections: 3,
        totalConnections: 10,
        tunnels: [
          {
            name: 'ssh',
            type: 'tcp',
            clientId: 'c1',
            remotePort: 6022,
            createdAt: '2024-06-01T00:00:02.000Z',
            bytesIn: 1234,
            bytesOut: 5678,
            activeConnections: 2,
            totalConnections: 7,
          },
          {
            name: 'dns',
            type: 'udp',
            clientId: 'c1',
            remotePort: 6053,
            createdAt: '2024-06-01T00:00:02.000Z',
            bytesIn: 10,
            bytesOut: 20,
            activeConnections: 1,
            totalConnections: 3,
          },
        ],
      },
      {
        clientId: 'c 2/x',
        sessionId: 'sess2',
        address: '[::1]:50001',
        version: '0.1.0',
        connectedAt: '2024-06-01T00:00:03.000Z',
        idleWorkConnections: 0,
        bytesIn: 0,
        bytesOut: 0,
        activeConnections: 0,
        totalConnections: 0,
        tunnels: [
          {
            name: 'db',
            type: 'secret',
            clientId: 'c 2/x',
            createdAt: '2024-06-01T00:00:04.000Z',
            bytesIn: 0,
            bytesOut: 0,
            activeConnections: 0,
            totalConnections: 0,
          },
        ],
      },
    ],
    counters: {
      loginsSucceeded: 2,
      loginsFailed: 1,
      loginsRateLimited: 0,
      protocolErrors: 0,
      refusedByAccessList: 0,
      workConnTimeouts: 0,
      visitorsRefused: 0,
    },
  };

  snapshot(): ServerSnapshot {
    if (this.failSnapshot) throw new Error('snapshot exploded');
    return structuredClone(this.snap);
  }

  async disconnect(clientId: string): Promise<boolean> {
    if (this.failDisconnect) throw new Error('disconnect exploded');
    const i = this.snap.clients.findIndex((c) => c.clientId === clientId);
    if (i < 0) return false;
    this.snap.clients.splice(i, 1);
    this.disconnected.push(clientId);
    return true;
  }
}

/** A pino logger whose records land in `records`. */
function captureLogger(): { logger: Logger; records: Array<{ level: number; msg: string }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) records.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

let fake: FakeServer;
let api: AdminApi;
let log: ReturnType<typeof captureLogger>;
let base: string;

beforeEach(async () => {
  fake = new FakeServer();
  log = captureLogger();
  api = new AdminApi(fake, { listen: '127.0.0.1:0', token: TOKEN }, log.logger);
  await api.start();
  base = `http://127.0.0.1:${api.port}`;
});

afterEach(async () => {
  await api.stop();
});

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const get = (path: string, headers: Record<string, string> = auth()) => fetch(`${base}${path}`, { headers });

/** Sends raw bytes and returns the raw response (for requests fetch refuses to make). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(api.port, '127.0.0.1', () => socket.end(request));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('AdminApi authentication', () => {
  it('answers 401 without a token, on every path', async () => {
    for (const path of ['/api/status', '/api/clients', '/api/tunnels', '/metrics', '/nope']) {
      const res = await get(path, {});
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toEqual({ error: 'unauthorized' });
    }
    const del = await fetch(`${base}/api/clients/c1`, { method: 'DELETE' });
    expect(del.status).toBe(401);
    expect(fake.disconnected).toEqual([]);
  });

  it('answers 401 for a wrong token, a token prefix, and other schemes', async () => {
    for (const headers of [
      auth('wrong-token-123'),
      auth(TOKEN.slice(0, -1)),
      auth(`${TOKEN}x`),
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer' },
    ]) {
      const res = await get('/api/status', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toEqual({ error: 'unauthorized' });
    }
  });

  it('accepts the scheme case-insensitively', async () => {
    expect((await get('/api/status', { authorization: `bearer ${TOKEN}` })).status).toBe(200);
  });

  it('after 10 wrong tokens within the window answers wrong ones 429, and the right token still works', async () => {
    for (let i = 0; i < 10; i++) expect((await get('/api/status', auth(`wrong-${i}-xxxxxx`))).status).toBe(401);
    // Many admins can share one address behind a NAT: a stranger's failures do not lock them out.
    expect((await get('/api/status')).status).toBe(200);
    const blocked = await get('/api/status', auth('wrong-again-xxxxxx'));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await blocked.json()) as unknown).toEqual({ error: 'too many failed attempts' });
    expect((await get('/metrics', auth('wrong-metrics-xxxxxx'))).status).toBe(429);
    expect((await get('/api/status', {})).status).toBe(429);
    expect((await get('/metrics')).status).toBe(200);
    for (let i = 0; i < 20; i++) expect((await get('/api/status', auth(`more-wrong-${i}-xxxxxx`))).status).toBe(429);
    expect((await get('/api/clients')).status).toBe(200);
  });

  it('does not count requests that carry no credential', async () => {
    for (let i = 0; i < 15; i++) expect((await get('/api/status', {})).status).toBe(401);
    expect((await get('/api/status')).status).toBe(200);
  });

  it('reload: a new token applies at once, the old one fails', async () => {
    expect((await get('/api/status')).status).toBe(200);
    api.reload({ listen: '127.0.0.1:0', token: 'new-token-456' });
    expect((await get('/api/status')).status).toBe(401);
    expect((await get('/api/status', auth('new-token-456'))).status).toBe(200);
    expect(log.records.some((r) => r.msg === 'admin token changed')).toBe(true);
    expect(JSON.stringify(log.records)).not.toContain('new-token-456');
  });

  it('reload: a listen change only warns (needs a restart)', async () => {
    const port = api.port;
    api.reload({ listen: '127.0.0.1:7599', token: TOKEN });
    expect(api.port).toBe(port);
    expect((await get('/api/status')).status).toBe(200);
    expect(log.records.some((r) => r.level === 40 && /restart/.test(r.msg))).toBe(true);
  });

  it('reload without an admin section refuses everything until it comes back', async () => {
    api.reload(undefined);
    const res = await get('/api/status');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'admin API disabled' });
    api.reload({ listen: '127.0.0.1:0', token: TOKEN });
    expect((await get('/api/status')).status).toBe(200);
  });
});

describe('AdminApi endpoints', () => {
  it('GET /api/status returns the snapshot', async () => {
    const res = await get('/api/status');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual(fake.snap);
  });

  it('GET /api/clients returns the clients', async () => {
    const res = await get('/api/clients');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(fake.snap.clients);
  });

  it('GET /api/tunnels returns tunnels flattened across clients', async () => {
    const res = await get('/api/tunnels?verbose=1');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Array<{ clientId: string; name: string }>;
    expect(body.map((t) => `${t.clientId}/${t.name}`)).toEqual(['c1/ssh', 'c1/dns', 'c 2/x/db']);
    expect(body[0]).toEqual(fake.snap.clients[0]!.tunnels[0]);
  });

  it('DELETE /api/clients/:id disconnects an existing client', async () => {
    const res = await fetch(`${base}/api/clients/c1`, { method: 'DELETE', headers: auth() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ disconnected: 'c1' });
    expect(fake.disconnected).toEqual(['c1']);
    const clients = (await (await get('/api/clients')).json()) as Array<{ clientId: string }>;
    expect(clients.map((c) => c.clientId)).toEqual(['c 2/x']);
  });

  it('DELETE decodes the client id', async () => {
    const res = await fetch(`${base}/api/clients/${encodeURIComponent('c 2/x')}`, { method: 'DELETE', headers: auth() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ disconnected: 'c 2/x' });
    expect(fake.disconnected).toEqual(['c 2/x']);
  });

  it('DELETE of an unknown client is 404', async () => {
    const res = await fetch(`${base}/api/clients/x`, { method: 'DELETE', headers: auth() });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'no client "x"' });
    expect(fake.disconnected).toEqual([]);
  });

  it('DELETE with a malformed percent-encoding is 400', async () => {
    const res = await fetch(`${base}/api/clients/%E0%A4%A`, { method: 'DELETE', headers: auth() });
    expect(res.status).toBe(400);
  });

  it('GET /metrics serves Prometheus text, behind the token', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = (await res.text()).split('\n');
    expect(lines).toContain('burrow_tunnel_bytes_total{client="c1",tunnel="ssh",type="tcp",direction="in"} 1234');
    expect(lines).toContain('burrow_tunnel_bytes_total{client="c1",tunnel="ssh",type="tcp",direction="out"} 5678');
    expect(lines).toContain('burrow_clients_connected 2');
    expect(lines).toContain('burrow_logins_total{result="success"} 2');
    expect(lines.some((l) => /^process_resident_memory_bytes \d+$/.test(l))).toBe(true);
    expect((await get('/metrics', auth('nope-nope-nope'))).status).toBe(401);
  });

  it('HEAD works where GET does', async () => {
    const res = await fetch(`${base}/api/status`, { method: 'HEAD', headers: auth() });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('unknown paths are 404, wrong methods 405 with Allow', async () => {
    for (const path of ['/', '/api', '/api/status/x', '/api/clients/', '/API/STATUS', '/metrics/x']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    }
    const post = await fetch(`${base}/api/status`, { method: 'POST', headers: auth(), body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const getClient = await get('/api/clients/c1');
    expect(getClient.status).toBe(405);
    expect(getClient.headers.get('allow')).toBe('DELETE');
    const delAll = await fetch(`${base}/api/clients`, { method: 'DELETE', headers: auth() });
    expect(delAll.status).toBe(405);
    expect(fake.disconnected).toEqual([]);
  });

  it('answers 500 (and keeps serving) when the server throws', async () => {
    fake.failSnapshot = true;
    const res = await get('/api/status');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    expect((await get('/metrics')).status).toBe(500);
    fake.failDisconnect = true;
    expect((await fetch(`${base}/api/clients/c1`, { method: 'DELETE', headers: auth() })).status).toBe(500);
    fake.failSnapshot = false;
    expect((await get('/api/status')).status).toBe(200);
  });

  it('survives malformed requests', async () => {
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`OPTIONS * HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET //api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 404/,
    );
    expect(
      await raw(`GET http://admin.example/api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 200/);
    expect(await raw(`GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect((await get('/api/status')).status).toBe(200);
  });
});

describe('AdminApi lifecycle', () => {
  it('port throws before start; start rejects a bad listen address or a busy port', async () => {
    const idle = new AdminApi(fake, { listen: '127.0.0.1:0', token: TOKEN }, log.logger);
    expect(() => idle.port).toThrow(/not listening/);
    await idle.stop(); // harmless when never started
    await expect(new AdminApi(fake, { listen: 'nonsense', token: TOKEN }, log.logger).start()).rejects.toThrow(/HOST:PORT/);
    await expect(new AdminApi(fake, { listen: `127.0.0.1:${api.port}`, token: TOKEN }, log.logger).start()).rejects.toThrow(/EADDRINUSE/);
    await expect(api.start()).rejects.toThrow(/already started/);
  });

  it('stop closes kept-alive connections and is idempotent', async () => {
    expect((await get('/api/status')).status).toBe(200); // leaves a keep-alive connection open
    await api.stop();
    await api.stop();
    await expect(get('/api/status')).rejects.toThrow();
  });
});
