/**
 * `burrow console`'s host: runs the engine for one client.yaml and serves the built renderer plus
 * the contract's WebSocket on loopback. Every HTTP request and WebSocket upgrade needs the random
 * access token (from the printed URL's `?token=`, remembered in a SameSite cookie) and a loopback
 * Host/Origin (./../local-request.ts); anything else gets 403.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { editTunnels } from '../../io/config-edit.js';
import { ConfigError, loadClientConfig } from '../../io/config-loader.js';
import { watchConfigFile } from '../../io/config-watch.js';
import { formatHostPort, parseHostPort } from '../../shared/net/address.js';
import type { TrafficSample } from '../../shared/ipc/contract.js';
import { Router } from '../../shared/ipc/router.js';
import { Engine } from '../engine.js';
import { refuseNonLocal } from '../local-request.js';
import { RateCalculator } from './traffic-rate.js';

export interface ConsoleOptions {
  configFile: string;
  /** "127.0.0.1:0" by default; must be a loopback address. */
  listen: string;
  logger: Logger;
  stateDir: string;
  /** The built renderer (dist/renderer). */
  rendererDir?: string;
  sampleIntervalMs?: number;
}

export interface ConsoleHost {
  url: string;
  close(): Promise<void>;
}

const COOKIE = 'burrow_console';
/** How much traffic history the host keeps for the chart. */
const HISTORY_MS = 10 * 60_000;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

export async function startConsole(options: ConsoleOptions): Promise<ConsoleHost> {
  const { logger, configFile } = options;
  const listen = parseHostPort(options.listen);
  if (!listen || !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(listen.host)) throw new ConfigError('--listen', [], `the console listens on loopback only (got "${options.listen}")`);
  const rendererDir = options.rendererDir ?? fileURLToPath(new URL('../../renderer/', import.meta.url));
  const token = randomBytes(24).toString('hex');

  let config = await loadClientConfig(configFile);
  const engine = new Engine(config, { logger, stateDir: config.stateDir ?? options.stateDir });
  await engine.start();

  let reloading = Promise.resolve();
  const reload = (): Promise<void> =>
    (reloading = reloading.then(async () => {
      try {
        config = await loadClientConfig(configFile);
        await engine.reload(config);
      } catch (err) {
        logger.error({ reason: err instanceof Error ? err.message : String(err) }, 'reload failed; keeping the running config');
      }
    }));
  const watcher = watchConfigFile(configFile, () => void reload());
  /** Write the edit, then apply it now rather than waiting for the file watcher. */
  const edit = async (e: Parameters<typeof editTunnels>[1]) => {
    await editTunnels(configFile, e);
    await reload();
    return { ok: true as const };
  };

  const router = new Router(
    {
      'status.get': () => engine.status(),
      'traffic.history': () => ({ samples: history }),
      'tunnels.list': () => ({ tunnels: config.tunnels }),
      'tunnels.add': ({ tunnel }) => edit({ op: 'add', tunnel }),
      'tunnels.update': ({ name, tunnel }) => edit({ op: 'update', name, tunnel }),
      'tunnels.remove': ({ name }) => edit({ op: 'remove', name }),
      'tunnels.setEnabled': ({ name, enabled }) => edit({ op: 'setEnabled', name, enabled }),
    },
    { warn: (fields, message) => logger.warn(fields, message) },
  );

  const rates = new RateCalculator();
  const history: TrafficSample[] = [];
  const tick = () => {
    const status = engine.status();
    const sample = rates.sample(status.tunnels, performance.now(), Date.now());
    history.push(sample);
    while (history.length > 0 && history[0]!.at <= sample.at - HISTORY_MS) history.shift();
    router.publish('traffic', sample);
    router.publish('status', status);
  };
  const sampler = setInterval(tick, options.sampleIntervalMs ?? 1000);

  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  wss.on('connection', (ws: WebSocket) => {
    const conn = router.connect({ send: (m) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m)) });
    ws.on('message', (data) => {
      let raw: unknown;
      try {
        raw = JSON.parse(String(data));
      } catch {
        raw = undefined;
      }
      void conn.receive(raw);
    });
    ws.on('close', () => conn.close());
    ws.on('error', () => conn.close());
  });

  const server: Server = createServer((req, res) => {
    const why = refused(req);
    if (why !== undefined) return forbid(res, why);
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.searchParams.has('token')) {
      // Remember the token for the page's own requests, and drop it from the address bar.
      res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' });
      return res.end();
    }
    void serveFile(rendererDir, url.pathname, res);
  });
  server.on('upgrade', (req, socket, head) => {
    const why = refused(req);
    if (why !== undefined || new URL(req.url ?? '/', 'http://console').pathname !== '/ws') {
      socket.end(`HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  function refused(req: IncomingMessage): string | undefined {
    const local = refuseNonLocal(req.headers.host, req.headers.origin, { port: (server.address() as AddressInfo).port, listenHost: listen!.host });
    if (local !== undefined) return local;
    const given = new URL(req.url ?? '/', 'http://console').searchParams.get('token') ?? cookie(req.headers.cookie, COOKIE);
    if (given === undefined || !sameSecret(given, token)) return 'missing or wrong access token (open the URL burrow console printed)';
    return undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${formatHostPort(listen.host, port)}/?token=${token}`;
  return {
    url,
    async close() {
      clearInterval(sampler);
      watcher.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await reloading;
      await engine.stop();
    },
  };
}

function forbid(res: ServerResponse, why: string): void {
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`forbidden: ${why}\n`);
}

async function serveFile(root: string, pathname: string, res: ServerResponse): Promise<void> {
  const rel = normalize(decodeURIComponent(pathname === '/' ? '/index.html' : pathname));
  const path = join(root, rel);
  if (!path.startsWith(normalize(root + sep))) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(pathname === '/' || pathname === '/index.html' ? 'the console page is not built: run npm run build\n' : 'not found\n');
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name && v !== undefined) return v;
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
