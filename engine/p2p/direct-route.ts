/**
 * The direct path of one p2p visitor: punches in the background (through the DirectPathDialer),
 * keeps the DirectTransport of the current path, and re-punches with backoff when there is none
 * or it is lost. Connections ask get(timeout): the transport if one is up or comes up in time,
 * otherwise undefined (and they take the relay).
 */
import type { Logger } from 'pino';
import type UDX from 'udx-native';
import type { P2pStatus, PathCounters } from '../../shared/types/status.js';
import { Backoff } from '../backoff.js';
import type { DirectPathDialer, PunchedPath } from './direct-path.js';
import { DirectTransport } from './direct-transport.js';

export interface DirectRouteDeps {
  readonly dialer: DirectPathDialer;
  readonly udx: UDX;
  readonly tunnel: string;
  readonly secret: string;
  readonly logger: Logger;
  /** Whether a punch can be tried now (logged in to the server). */
  readonly online: () => boolean;
  /** Re-punch delays after a failed attempt (default 2 s doubling to 30 s). */
  readonly backoff?: Backoff;
}

export class DirectRoute {
  private transport: DirectTransport | undefined;
  private path: PunchedPath | undefined;
  private closed = false;
  private running = false;
  /** An attempt is in flight (punching or the transport's handshake), so a path may come up soon. */
  private dialing = false;
  private attemptsStarted = 0;
  private wake: (() => void) | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly backoff: Backoff;
  readonly directCounters: PathCounters = { bytesIn: 0, bytesOut: 0, connections: 0 };

  constructor(private readonly deps: DirectRouteDeps) {
    this.backoff = deps.backoff ?? new Backoff({ initialMs: 2_000, maxMs: 30_000 });
  }

  /** Start the punching loop if it is not running (a running loop keeps its backoff: connections do not hammer a dead peer). */
  kick(): void {
    if (!this.closed && !this.running) void this.run();
  }

  /** The live transport, waiting up to `timeoutMs` for one. */
  async get(timeoutMs: number): Promise<DirectTransport | undefined> {
    if (this.usable()) return this.transport;
    this.kick();
    // No attempt in flight: the last one failed (or the strategy said relay) and the loop waits out
    // its backoff, so nothing can come up in time; the connection takes the relay at once.
    if (timeoutMs <= 0 || !this.dialing) return undefined;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
    return this.usable() ? this.transport : undefined;
  }

  status(relay: PathCounters): P2pStatus {
    const attempts = [...this.deps.dialer.attempts(this.deps.tunnel)];
    const up = this.usable();
    const p = this.path;
    return {
      path: up ? 'direct' : this.attemptsStarted === 0 || (attempts.length === 1 && attempts[0]!.outcome === 'connecting') ? 'connecting' : 'relay',
      ...(up && p ? { pair: { local: `${p.local.ip}:${p.local.port}`, remote: `${p.remote.ip}:${p.remote.port}` }, rttMs: p.rttMs } : {}),
      ...(p ? { nat: { local: p.localNat, remote: p.remoteNat } } : {}),
      attempts,
      direct: { ...this.directCounters },
      relay: { ...relay },
    };
  }

  close(): void {
    this.closed = true;
    this.wake?.();
    this.transport?.close('visitor closed');
    this.transport = undefined;
    for (const w of [...this.waiters]) w();
  }

  private usable(): boolean {
    return this.transport !== undefined && !this.transport.closed;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        if (!this.deps.online()) {
          await this.sleep(1_000);
          continue;
        }
        this.attemptsStarted++;
        this.dialing = true;
        const path = await this.deps.dialer.dial({ tunnel: this.deps.tunnel, secret: this.deps.secret });
        if (this.closed) {
          this.dialing = false;
          await path?.close();
          break;
        }
        if (!path) {
          this.dialing = false;
          this.release();
          await this.sleep(this.backoff.next());
          continue;
        }
        const transport = new DirectTransport(path, this.deps.secret, this.deps.udx);
        const started = await transport.start();
        this.dialing = false;
        if (!started) {
          this.release();
          transport.close('handshake failed');
          await this.sleep(this.backoff.next());
          continue;
        }
        this.backoff.reset();
        this.path = path;
        this.transport = transport;
        this.deps.logger.info({ tunnel: this.deps.tunnel, remote: `${path.remote.ip}:${path.remote.port}`, rttMs: path.rttMs }, 'direct path ready');
        this.release();
        const reason = await new Promise<string>((resolve) => transport.once('close', resolve));
        if (this.closed) break;
        this.deps.logger.warn({ tunnel: this.deps.tunnel, reason }, 'direct path gone; new connections use the relay while re-punching');
        await this.sleep(1_000);
      }
    } finally {
      this.running = false;
      this.dialing = false;
      this.release();
    }
  }

  /** Wakes every connection waiting in get(): the attempt is over, one way or the other. */
  private release(): void {
    for (const w of [...this.waiters]) w();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(() => {
      this.wake = undefined;
    });
  }
}
