/**
 * The server's admin API (plain HTTP, JSON; public interface: see README "Admin API").
 *
 *   GET    /api/status             -> ServerSnapshot
 *   GET    /api/clients            -> ServerClientInfo[]
 *   GET    /api/tunnels            -> ServerTunnelInfo[] (flattened across clients)
 *   DELETE /api/clients/:clientId  -> 200 {"disconnected": id} | 404 {"error": "no client \"id\""}
 *   GET    /metrics                -> Prometheus text format
 *
 * Every request, /metrics included, needs `Authorization: Bearer <admin token>` (compared in
 * constant time); authentication is checked before routing, so without the token every path
 * answers 401 and the route table is not revealed. The right token is always accepted: it is
 * checked first (SHA-256 digests compared in constant time, cheap whatever is presented), so
 * strangers sharing an administrator's address (a NAT) cannot lock them out. A source address
 * that presented 10 wrong credentials within 60 s (or 200 wrong ones from all addresses together)
 * gets 429 with Retry-After for further wrong or missing credentials, until the oldest of those
 * failures leaves the window; requests with no credential at all are otherwise answered 401 but
 * not counted (they guess nothing). Unknown paths: 404; known path, wrong
 * method: 405 with Allow. HEAD is accepted wherever GET is.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { proofsEqual } from '../io/auth-proof.js';
import { monotonicClock } from '../io/clock.js';
import type { Clock } from '../shared/clock.js';
import { formatHostPort, parseHostPort, unmapAddress } from '../shared/net/address.js';
import type { ServerTunnelInfo } from '../shared/types/server-status.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { BurrowServer } from './burrow-server.js';
import { createMetrics, type BurrowMetrics } from './metrics.js';

export interface AdminConfig {
  listen: string;
  token: string;
}

/** Wrong credentials from one address within the window before it gets 429. */
const MAX_FAILURES = 10;
/** Wrong credentials from all addresses together within the window before every wrong one gets 429. */
const MAX_GLOBAL_FAILURES = 200;
const FAILURE_WINDOW_MS = 60_000;
/** Memory bound for the per-address failure records (oldest evicted first). */
const MAX_TRACKED_SOURCES = 4096;

/** What the admin API needs from the server (tests pass a fake). */
export type AdminTarget = Pick<BurrowServer, 'snapshot' | 'disconnect'>;
type Method = 'GET' | 'DELETE';

/** The answer to a request: status, JSON body (or raw text) and extra headers. */
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Send `body` (a string) as-is with this content type instead of JSON. */
  contentType?: string;
}

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * "Bearer <credential>" -> credential; undefined when no Authorization header was sent; '' for
 * another scheme (a presented but necessarily wrong credential).
 */
function bearerCredential(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+(.*)$/is.exec(header);
  return m ? m[1]! : '';
}

/** Key for the failure limiter: IPv4-mapped IPv6 addresses count as their IPv4 address. */
function sourceOf(req: IncomingMessage): string {
  return unmapAddress(req.socket.remoteAddress ?? 'unknown');
}

/** Path of an origin-form ("/a/b?q") or absolute-form request target; undefined if neither. */
function pathOf(target: string): string | undefined {
  if (target.startsWith('/')) return target.replace(/[?#].*$/s, '');
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class AdminApi {
  private config: AdminConfig;
  /** SHA-256 of the token; undefined while the admin section is gone from the config. */
  private tokenDigest: string | undefined;
  private server: Server | undefined;
  private readonly limiter = new AuthFailureLimiter({
    failures: MAX_FAILURES,
    windowMs: FAILURE_WINDOW_MS,
    maxTracked: MAX_TRACKED_SOURCES,
    globalFailures: MAX_GLOBAL_FAILURES,
  });
  private readonly metrics: BurrowMetrics;

  constructor(
    private readonly burrow: AdminTarget,
    admin: AdminConfig,
    private readonly logger: Logger,
    /** The monotonic clock the failed-credential window runs on. */
    private readonly clock: Clock = monotonicClock,
  ) {
    this.config = { ...admin };
    this.tokenDigest = digest(admin.token);
    this.metrics = createMetrics(() => burrow.snapshot());
  }

  /** The port actually listened on (useful with port 0). Throws when not started. */
  get port(): number {
    const a = this.server?.address() as AddressInfo | string | null | undefined;
    if (!a || typeof a === 'string') throw new Error('admin API is not listening');
    return a.port;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('admin API already started');
    const hp = parseHostPort(this.config.listen);
    if (!hp) throw new Error(`admin.listen: expected HOST:PORT, got "${this.config.listen}"`);
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: hp.host, port: hp.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error({ err: err.message }, 'admin API listener error'));
    this.server = server;
    const a = server.address() as AddressInfo;
    this.logger.info({ listen: formatHostPort(a.address, a.port) }, 'admin API listening');
    if (!isLoopback(hp.host)) {
      this.logger.warn({ listen: this.config.listen }, 'admin API listens beyond loopback over plain HTTP: the admin token travels unencrypted');
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /**
   * Apply a reloaded config: a new token applies to the next request (on open connections too);
   * a new listen address needs a restart. `undefined` (admin section removed) refuses every
   * request with 503 until the section comes back or the server restarts.
   */
  reload(admin: AdminConfig | undefined): void {
    if (!admin) {
      if (this.tokenDigest !== undefined) {
        this.logger.warn('admin section removed from the config: admin API refuses all requests; it stops listening after a restart');
      }
      this.tokenDigest = undefined;
      return;
    }
    if (admin.listen !== this.config.listen) {
      this.logger.warn({ listen: this.config.listen, configured: admin.listen }, 'admin.listen changes take effect after a restart');
    }
    const next = digest(admin.token);
    if (next !== this.tokenDigest) this.logger.info('admin token changed');
    this.tokenDigest = next;
    this.config = { listen: this.config.listen, token: admin.token };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req)
      .catch((err: unknown) => {
        this.logger.error({ err: err instanceof Error ? err.message : String(err), method: req.method, url: req.url }, 'admin API request failed');
        return { status: 500, body: { error: 'internal error' } } satisfies Reply;
      })
      .then((reply) => this.send(res, reply))
      .catch(() => res.destroy());
  }

  private send(res: ServerResponse, reply: Reply): void {
    if (res.headersSent || res.destroyed) return;
    const body = reply.contentType !== undefined ? String(reply.body) : `${JSON.stringify(reply.body)}\n`;
    res.writeHead(reply.status, {
      'content-type': reply.contentType ?? 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    });
    res.end(body);
  }

  private async route(req: IncomingMessage): Promise<Reply> {
    const denied = this.authenticate(req);
    if (denied) return denied;

    const path = pathOf(req.url ?? '/');
    if (path === undefined) return { status: 400, body: { error: 'bad request' } };
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const only = (allowed: Method, handler: () => Reply | Promise<Reply>): Reply | Promise<Reply> =>
      method === allowed
        ? handler()
        : { status: 405, body: { error: 'method not allowed' }, headers: { allow: allowed === 'GET' ? 'GET, HEAD' : allowed } };

    switch (path) {
      case '/api/status':
        return only('GET', () => ({ status: 200, body: this.burrow.snapshot() }));
      case '/api/clients':
        return only('GET', () => ({ status: 200, body: this.burrow.snapshot().clients }));
      case '/api/tunnels':
        return only('GET', () => ({
          status: 200,
          body: this.burrow.snapshot().clients.flatMap((c): ServerTunnelInfo[] => c.tunnels),
        }));
      case '/metrics':
        return only('GET', async () => {
          const registry = this.metrics.registry;
          return { status: 200, body: await registry.metrics(), contentType: registry.contentType };
        });
    }
    const m = /^\/api\/clients\/([^/]+)$/.exec(path);
    if (m) {
      let clientId: string;
      try {
        clientId = decodeURIComponent(m[1]!);
      } catch {
        return { status: 400, body: { error: 'bad client id encoding' } };
      }
      return only('DELETE', async () => {
        if (!(await this.burrow.disconnect(clientId))) return { status: 404, body: { error: `no client "${clientId}"` } };
        this.logger.info({ clientId, remote: sourceOf(req) }, 'client disconnected by administrator');
        return { status: 200, body: { disconnected: clientId } };
      });
    }
    return { status: 404, body: { error: 'not found' } };
  }

  /** undefined when the request carries the admin token; otherwise the 401/429/503 reply. */
  private authenticate(req: IncomingMessage): Reply | undefined {
    const expected = this.tokenDigest;
    if (expected === undefined) return { status: 503, body: { error: 'admin API disabled' } };
    const source = sourceOf(req);
    const now = this.clock.now();
    const credential = bearerCredential(req.headers.authorization);
    // The right token before the limiter: it is never refused for others' failures. Digests make
    // the comparison independent of the token's length as well.
    if (credential !== undefined && proofsEqual(expected, digest(credential))) return undefined;
    if (this.limiter.isBlocked(source, now)) {
      if (credential !== undefined) this.limiter.recordFailure(source, now);
      const retry = this.limiter.retryAfterSeconds(source, now);
      return { status: 429, body: { error: 'too many failed attempts' }, headers: { 'retry-after': String(retry) } };
    }
    if (credential !== undefined) {
      this.limiter.recordFailure(source, now);
      this.logger.warn({ remote: source }, 'admin API: wrong credentials');
    }
    return { status: 401, body: { error: 'unauthorized' }, headers: { 'www-authenticate': 'Bearer' } };
  }
}
