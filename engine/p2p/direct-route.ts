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

/** A connection waiting for a path; a patient one (fallback none) is not sent away when an attempt fails. */
type Waiter = (() => void) & { readonly patient: boolean };

export class DirectRoute {
  private transport: DirectTransport | undefined;
  private path: PunchedPath | undefined;
  private closed = false;
  private running = false;
  /** An attempt (dial and handshake) is in flight: only then can waiting for a path pay off. */
  private attempting = false;
  /** The loop waits for the control connection to come online; kick() ends that wait. */
  private waitingOnline = false;
  private attemptsStarted = 0;
  private wake: (() => void) | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly backoff: Backoff;
  readonly directCounters: PathCounters = { bytesIn: 0, bytesOut: 0, connections: 0 };

  constructor(private readonly deps: DirectRouteDeps) {
    this.backoff = deps.backoff ?? new Backoff({ initialMs: 2_000, maxMs: 30_000 });
  }

  /** Start the punching loop if it is not running (a running loop keeps its backoff: connections do not hammer a dead peer). */
  kick(): void {
    if (!this.closed && !this.running) void this.run();
    else if (this.waitingOnline) this.wake?.();
  }

  /**
   * The live transport, waiting up to `timeoutMs` for one while an attempt is in flight. With none
   * in flight (the strategy chose the relay, or a punch failed and the next try is a backoff away)
   * it answers at once: waiting could only delay the connection, which then takes the relay.
   * `patient` (fallback none: there is no relay to take) waits the whole timeout regardless.
   */
  async get(timeoutMs: number, patient = false): Promise<DirectTransport | undefined> {
    if (this.usable()) return this.transport;
    this.kick();
    // Not yet online: the first attempt starts at login, and the relay needs the login too.
    if (timeoutMs <= 0 || (!this.attempting && !this.waitingOnline && !patient)) return undefined;
    await new Promise<void>((resolve) => {
      const done: Waiter = Object.assign(
        () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        },
        { patient },
      );
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
    return this.usable() ? this.transport : undefined;
  }

  status(relay: PathCounters): P2pStatus {
    const attempts = [...this.deps.dialer.attempts(this.deps.tunnel)];
    const strategies = [...(this.deps.dialer.strategies?.(this.deps.tunnel) ?? [])];
    const up = this.usable();
    const p = this.path;
    const nat = this.deps.dialer.nat(this.deps.tunnel) ?? (p ? { local: p.localNat, remote: p.remoteNat } : undefined);
    return {
      path: up ? 'direct' : this.attemptsStarted === 0 || (attempts.length === 1 && attempts[0]!.outcome === 'connecting') ? 'connecting' : 'relay',
      ...(up && p ? { pair: { local: `${p.local.ip}:${p.local.port}`, remote: `${p.remote.ip}:${p.remote.port}` }, rttMs: p.rttMs } : {}),
      ...(nat ? { nat } : {}),
      attempts,
      ...(strategies.length > 0 ? { strategies } : {}),
      rejectedProbes: this.deps.dialer.rejectedProbes(this.deps.tunnel),
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

  /** Whether get() would wait now: no live path, and an attempt in flight that may bring one. */
  get pending(): boolean {
    return !this.usable() && this.attempting;
  }

  private usable(): boolean {
    return this.transport !== undefined && !this.transport.closed;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        if (!this.deps.online()) {
          this.waitingOnline = true;
          await this.sleep(1_000);
          this.waitingOnline = false;
          continue;
        }
        this.attemptsStarted++;
        this.attempting = true;
        const path = await this.deps.dialer.dial({ tunnel: this.deps.tunnel, secret: this.deps.secret });
        if (this.closed) {
          await path?.close();
          break;
        }
        if (!path) {
          this.endAttempt();
          await this.sleep(this.backoff.next());
          continue;
        }
        const transport = new DirectTransport(path, this.deps.secret, this.deps.udx);
        if (!(await transport.start())) {
          transport.close('handshake failed');
          this.endAttempt();
          await this.sleep(this.backoff.next());
          continue;
        }
        this.attempting = false;
        this.backoff.reset();
        this.path = path;
        this.transport = transport;
        this.deps.logger.info({ tunnel: this.deps.tunnel, remote: `${path.remote.ip}:${path.remote.port}`, rttMs: path.rttMs }, 'direct path ready');
        for (const w of [...this.waiters]) w();
        const reason = await new Promise<string>((resolve) => transport.once('close', resolve));
        if (this.closed) break;
        this.deps.logger.warn({ tunnel: this.deps.tunnel, reason }, 'direct path gone; new connections use the relay while re-punching');
        await this.sleep(1_000);
      }
    } finally {
      this.running = false;
      this.endAttempt();
    }
  }

  /** The attempt ended without a path: connections waiting for it take the relay now, not at their timeout. */
  private endAttempt(): void {
    this.attempting = false;
    for (const w of [...this.waiters]) if (!w.patient) w();
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
