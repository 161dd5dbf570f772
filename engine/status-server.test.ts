import { request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientStatus } from '../shared/types/status.js';
import { serverPort, startStatusServer } from './status-server.js';

const STATUS: ClientStatus = { server: 's:1', clientId: 'c', state: 'online', reconnects: 0, tunnels: [], visitors: [] };

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** GET /status with exactly these headers (fetch cannot set Host). */
function get(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/status', headers, setHost: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status endpoint', () => {
  it('answers loopback Host values with this port, and loopback origins', async () => {
    server = await startStatusServer('127.0.0.1:0', () => STATUS);
    const port = serverPort(server);
    const loopback: Array<Record<string, string>> = [
      { host: `127.0.0.1:${port}` },
      { host: `localhost:${port}` },
      { host: `[::1]:${port}` },
      { host: `127.0.0.1:${port}`, origin: `http://localhost:3000` },
      { host: `localhost:${port}`, origin: `http://127.0.0.1:${port}` },
    ];
    for (const headers of loopback) {
      const res = await get(port, headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(res.body)).toEqual(STATUS);
    }
  });

  it('refuses another Host (DNS rebinding), another port and a foreign Origin with 403', async () => {
    server = await startStatusServer('127.0.0.1:0', () => STATUS);
    const port = serverPort(server);
    for (const headers of [
      { host: `evil.example:${port}` },
      { host: `127.0.0.1.evil.example:${port}` },
      { host: `localhost:${port + 1 > 65535 ? 1 : port + 1}` },
      { host: `127.0.0.1:${port}`, origin: 'http://evil.example' },
      { host: `127.0.0.1:${port}`, origin: 'null' },
    ] as Array<Record<string, string>>) {
      const res = await get(port, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body).not.toContain('clientId');
      expect((JSON.parse(res.body) as { error: string }).error).toMatch(/^forbidden: /);
    }
  });
});
