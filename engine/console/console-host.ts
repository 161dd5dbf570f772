/**
 * `burrow console`'s host: runs the engine for one client.yaml and serves the built renderer plus
 * the contract's WebSocket on loopback. Every HTTP request and WebSocket upgrade needs the random
 * access token (from the printed URL's `?token=`, remembered in a SameSite cookie) and a loopback
 * Host/Origin (./../local-request.ts); anything else gets 403.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, type FSWatcher } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { z } from 'zod';
import { editTunnels, readTunnelsAsWritten, writeConnection, type TunnelAsWritten } from '../../io/config-edit.js';
import { ConfigError, loadClientConfig } from '../../io/config-loader.js';
import { watchConfigFile } from '../../io/config-watch.js';
import type { ClientConfig } from '../../shared/config/client-config.js';
import { formatHostPort, parseHostPort } from '../../shared/net/address.js';
import type { ConnectRequestSchema, ConsoleModeSchema, EventOf, ResponseOf, TrafficSample } from '../../shared/ipc/contract.js';
import { Router } from '../../shared/ipc/router.js';
import type { ClientStatus } from '../../shared/types/status.js';
import { Engine } from '../engine.js';
import { refuseNonLocal } from '../local-request.js';
import { startDemoPage } from './demo-page.js';
import { checkLocalService } from './local-check.js';
import { LEVELS, maskRecord, type LogRecord } from './log-mask.js';
import { runNatWizard } from './nat-wizard.js';
import { RateCalculator } from './traffic-rate.js';

type LogLine = EventOf<'log'>;

/** An embedded server on loopback for "Try it locally", started by the host that embeds one (cli/console-command.ts). */
export interface LocalServer {
  /** "127.0.0.1:PORT" of its control port. */
  server: string;
  token: string;
  tls: boolean;
  fingerprint?: string;
  /** "127.0.0.1:PORT" of its STUN service, if it runs one (the NAT wizard's default in demo mode). */
  stun?: string;
  stop(): Promise<void>;
}

export interface ConsoleOptions {
  configFile: string;
  /** "127.0.0.1:0" by default; must be a loopback address. */
  listen: string;
  logger: Logger;
  stateDir: string;
  /** The built renderer (dist/renderer). */
  rendererDir?: string;
  sampleIntervalMs?: number;
  /** How often the tunnels' local services are checked (ms, default 3000). */
  healthIntervalMs?: number;
  /** Starts the embedded server for "Try it locally" (the engine layer cannot build one itself). */
  startLocalServer?: () => Promise<LocalServer>;
}

export interface ConsoleHost {
  url: string;
  /** The contract's router, for a second transport (the desktop app's Electron IPC, electron/ipc-transport.ts). */
  router: Router;
  close(): Promise<void>;
}

type Mode = z.output<typeof ConsoleModeSchema>;

const COOKIE = 'burrow_console';
/** How much traffic history the host keeps for the chart. */
const HISTORY_MS = 10 * 60_000;
/** Log lines kept for a page opened late. */
const LOG_LINES = 500;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
const NO_STATUS: ClientStatus = { server: '', clientId: '', state: 'stopped', reconnects: 0, tunnels: [], visitors: [] };

/** The engine for one config file, and what "Try it locally" started around it. */
interface Session {
  mode: 'client' | 'demo';
  file: string;
  config: ClientConfig;
  engine: Engine;
  watcher: FSWatcher;
  demo?: { local: LocalServer; page: HttpServer; visitor: NodeJS.Timeout; dir: string; url?: string };
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleHost> {
  const { logger, configFile } = options;
  const listen = parseHostPort(options.listen);
  if (!listen || !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(listen.host)) throw new ConfigError('--listen', [], `the console listens on loopback only (got "${options.listen}")`);
  const rendererDir = options.rendererDir ?? fileURLToPath(new URL('../../renderer/', import.meta.url));
  const token = randomBytes(24).toString('hex');

  // The engine logs through here: each line is masked, kept for late pages, pushed to the pages
  // and passed on to the console's own logger (the terminal).
  const logLines: LogLine[] = [];
  const secrets = (): string[] => {
    const c = session?.config;
    if (!c) return [];
    return [c.token, ...c.tunnels.flatMap((t) => ('secret' in t ? [t.secret] : [])), ...c.visitors.map((v) => v.secret)];
  };
  const engineLogger = pino(
    { level: logger.level === 'silent' ? 'info' : logger.level },
    {
      write(text: string) {
        let rec: LogRecord;
        try {
          rec = JSON.parse(text) as LogRecord;
        } catch {
          return;
        }
        const line = maskRecord(rec, secrets(), Date.now());
        logLines.push(line);
        if (logLines.length > LOG_LINES) logLines.shift();
        router.publish('log', line);
        const { level: _l, time: _t, msg, pid: _p, hostname: _h, ...fields } = rec;
        const method = LEVELS[rec.level] ?? 'info';
        logger[method](fields, String(msg ?? ''));
      },
    },
  );

  let session: Session | undefined;
  let busy = Promise.resolve();
  /** Mode changes and reloads one at a time. */
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = busy.then(f);
    busy = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };

  const openSession = async (file: string, mode: Session['mode'], demo?: Session['demo']): Promise<Session> => {
    const config = await loadClientConfig(file);
    const engine = new Engine(config, { logger: engineLogger, stateDir: config.stateDir ?? options.stateDir });
    await engine.start();
    const s: Session = { mode, file, config, engine, watcher: watchConfigFile(file, () => void reload()) };
    if (demo) s.demo = demo;
    return s;
  };
  const closeSession = async (s: Session | undefined): Promise<void> => {
    if (!s) return;
    s.watcher.close();
    await s.engine.stop();
    if (s.demo) {
      clearInterval(s.demo.visitor);
      s.demo.page.close();
      await s.demo.local.stop();
      await rm(s.demo.dir, { recursive: true, force: true });
    }
  };
  const modeInfo = (): Mode => {
    if (!session) return { mode: 'empty', configFile };
    return { mode: session.mode, configFile: session.file, ...(session.demo?.url ? { demoUrl: session.demo.url } : {}) };
  };
  const announce = () => {
    router.publish('mode', modeInfo());
    router.publish('status', status());
  };

  const reload = (): Promise<void> =>
    serial(async () => {
      const s = session;
      if (!s) return;
      try {
        s.config = await loadClientConfig(s.file);
        await s.engine.reload(s.config);
      } catch (err) {
        engineLogger.error({ reason: err instanceof Error ? err.message : String(err) }, 'reload failed; keeping the running config');
      }
    });
  const need = (): Session => {
    if (!session) throw new Error('no server is configured yet: use "Try it locally" or "Connect to my server" first');
    return session;
  };
  /** Write the edit, then apply it now rather than waiting for the file watcher. */
  const edit = async (e: Parameters<typeof editTunnels>[1]) => {
    await editTunnels(need().file, e);
    await reload();
    return { ok: true as const };
  };
  const status = (): ClientStatus => session?.engine.status() ?? NO_STATUS;

  const tryLocally = (): Promise<Mode> =>
    serial(async () => {
      if (session?.mode === 'demo') return modeInfo();
      if (session) throw new Error(`already connected to ${session.config.server}: "Try it locally" is for a first start without a server`);
      if (!options.startLocalServer) throw new Error('this console cannot start a local server');
      const dir = await mkdtemp(join(tmpdir(), 'burrow-try-'));
      const local = await options.startLocalServer();
      const page = await startDemoPage();
      const file = join(dir, 'client.yaml');
      const pagePort = (page.address() as AddressInfo).port;
      await writeFile(
        file,
        [
          '# "Try it locally": a server embedded in burrow console, on this machine only',
          `server: ${local.server}`,
          `token: ${local.token}`,
          `tls: ${local.tls}`,
          ...(local.fingerprint ? [`serverFingerprint: "${local.fingerprint}"`] : []),
          'clientId: try-locally',
          'admin: false',
          `stateDir: ${dir}/state`,
          'tunnels:',
          '  # the built-in demo web page, as if it were a service on your network',
          '  - name: demo-web',
          '    type: tcp',
          `    local: 127.0.0.1:${pagePort}`,
          '    remotePort: 0',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const demo: NonNullable<Session['demo']> = { local, page, dir, visitor: setInterval(() => void visitDemo(), 1000) };
      // A visitor of the demo page once a second, so the chart moves without anyone clicking.
      const visitDemo = async () => {
        const t = session?.demo === demo ? session.engine.status().tunnels.find((x) => x.name === 'demo-web') : undefined;
        if (t?.state !== 'online' || !t.remoteAddress) return;
        const url = `http://${t.remoteAddress}/`;
        if (demo.url !== url) {
          demo.url = url;
          router.publish('mode', modeInfo());
        }
        try {
          await (await fetch(demo.url, { signal: AbortSignal.timeout(2000) })).arrayBuffer();
        } catch {
          // the tunnel was switched off or removed: nothing to visit
        }
      };
      demo.visitor.unref();
      try {
        session = await openSession(file, 'demo', demo);
      } catch (err) {
        clearInterval(demo.visitor);
        page.close();
        await local.stop();
        throw err;
      }
      engineLogger.info({ server: local.server }, 'Try it locally: embedded server started');
      setTimeout(announce, 0);
      return modeInfo();
    });

  const connect = (c: z.output<typeof ConnectRequestSchema>): Promise<Mode> =>
    serial(async () => {
      const previous = session;
      await writeConnection(configFile, { server: c.server, token: c.token, tls: c.tls, ...(c.serverFingerprint ? { serverFingerprint: c.serverFingerprint } : {}) });
      session = undefined;
      await closeSession(previous);
      session = await openSession(configFile, 'client');
      setTimeout(announce, 0);
      return modeInfo();
    });

  let natRunning = false;
  const router = new Router(
    {
      'status.get': () => status(),
      'traffic.history': () => ({ samples: history }),
      'tunnels.list': () => ({ tunnels: need().config.tunnels }),
      'tunnels.add': ({ tunnel }) => edit({ op: 'add', tunnel }),
      'tunnels.update': ({ name, tunnel }) => edit({ op: 'update', name, tunnel }),
      'tunnels.remove': ({ name }) => edit({ op: 'remove', name }),
      'tunnels.setEnabled': ({ name, enabled }) => edit({ op: 'setEnabled', name, enabled }),
      'visitors.setEnabled': ({ name, enabled }) => edit({ op: 'setVisitorEnabled', name, enabled }),
      'tunnels.listAsWritten': async () => ({ tunnels: (session ? await readTunnelsAsWritten(session.file) : []) as unknown as ResponseOf<'tunnels.listAsWritten'>['tunnels'] }),
      'tunnels.save': ({ original, tunnel }) => edit({ op: 'save', ...(original !== undefined ? { original } : {}), tunnel: tunnel as TunnelAsWritten }),
      'local.check': ({ address, type }) => checkLocalService(address, type),
      'nat.defaults': () => {
        if (session?.demo?.local.stun) return { stun: session.demo.local.stun };
        const host = session ? parseHostPort(session.config.server)?.host : undefined;
        return { stun: host ? formatHostPort(host, 3478) : '' };
      },
      'nat.run': async ({ stun, lifetime }) => {
        if (natRunning) throw new Error('the NAT check is already running');
        natRunning = true;
        try {
          engineLogger.info({ stun }, 'NAT check started');
          return await runNatWizard(stun, { lifetime }, (p) => router.publish('nat.progress', p));
        } finally {
          natRunning = false;
        }
      },
      'logs.history': () => ({ lines: logLines }),
      'console.mode': () => modeInfo(),
      'settings.get': () => {
        const c = session?.config;
        const seen = session?.engine.status().serverFingerprint;
        return {
          configFile: session?.file ?? configFile,
          server: c?.server ?? '',
          tls: c?.tls ?? true,
          tokenMasked: c ? maskToken(c.token) : '',
          ...(c?.serverFingerprint ? { configuredFingerprint: c.serverFingerprint } : {}),
          ...(seen ? { seenFingerprint: seen } : {}),
        };
      },
      'settings.revealToken': () => ({ token: need().config.token }),
      'setup.tryLocally': () => tryLocally(),
      'setup.connect': (c) => connect(c),
    },
    { warn: (fields, message) => engineLogger.warn(fields, message) },
  );

  try {
    session = await openSession(configFile, 'client');
  } catch (err) {
    // First start: no config file yet. The page offers "Try it locally" and "Connect to my server".
    if (!(err instanceof ConfigError) || !(await missing(configFile))) throw err;
    logger.info({ config: configFile }, 'no config file yet: the console starts empty');
  }

  const rates = new RateCalculator();
  const history: TrafficSample[] = [];
  const tick = () => {
    if (!session && existsSync(configFile)) {
      // written by hand (or by another tool) while the console was empty: pick it up
      void serial(async () => {
        if (session) return;
        try {
          session = await openSession(configFile, 'client');
          announce();
        } catch (err) {
          engineLogger.error({ reason: (err as Error).message }, 'the new config file cannot be used');
        }
      });
    }
    const now = status();
    const sample = rates.sample(now.tunnels, performance.now(), Date.now());
    history.push(sample);
    while (history.length > 0 && history[0]!.at <= sample.at - HISTORY_MS) history.shift();
    router.publish('traffic', sample);
    router.publish('status', now);
  };
  const sampler = setInterval(tick, options.sampleIntervalMs ?? 1000);
  const checkHealth = async () => {
    const s = session;
    if (!s || router.connections === 0) return;
    const live = s.engine.status().tunnels.filter((t) => t.state !== 'stopped');
    const types = new Map(s.config.tunnels.map((t) => [t.name, t.type === 'p2p' && t.protocol === 'udp' ? 'udp' : t.type]));
    const tunnels = await Promise.all(live.map(async (t) => ({ name: t.name, local: t.local, ...(await checkLocalService(t.local, types.get(t.name))) })));
    router.publish('local.health', { tunnels });
  };
  const health = setInterval(() => void checkHealth(), options.healthIntervalMs ?? 3000);

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
    router,
    async close() {
      clearInterval(sampler);
      clearInterval(health);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await busy;
      const s = session;
      session = undefined;
      await closeSession(s);
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

/** "••••••1234": enough to tell two tokens apart, not enough to use one. */
export function maskToken(token: string): string {
  return `${'•'.repeat(8)}${token.length > 12 ? token.slice(-4) : ''}`;
}

async function missing(file: string): Promise<boolean> {
  try {
    await access(file);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
