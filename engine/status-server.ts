/**
 * The client's local status endpoint (read by `burrow status`): GET /status returns the
 * engine's ClientStatus as JSON. Loopback by default; nothing here changes state.
 *
 * Only requests whose Host is a loopback name or address (or the configured listen host) with
 * this port, and whose Origin, if any, is a loopback origin, are answered; others get 403, so a web
 * page cannot read the status through DNS rebinding (see ./local-request.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from '../shared/net/address.js';
import type { ClientStatus } from '../shared/types/status.js';
import { refuseNonLocal } from './local-request.js';

export async function startStatusServer(listen: string, status: () => ClientStatus): Promise<Server> {
  const { host, port } = parseHostPort(listen)!;
  const server = createServer((req, res) => {
    const refused = refuseNonLocal(req.headers.host, req.headers.origin, { port: serverPort(server), listenHost: host });
    if (refused !== undefined) {
      res.writeHead(403, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: `forbidden: ${refused}` }));
      return;
    }
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/')) {
      const body = JSON.stringify(status());
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
