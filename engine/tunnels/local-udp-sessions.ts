/**
 * The serving side of every UDP service Burrow carries (relay udp tunnels, p2p udp tunnels on the
 * direct path and on the relay): one connected local UDP socket per remote session, so the local
 * service's replies map back to the session they answer. Sessions expire after `idleMs` without
 * traffic either way (shared/udp-session-table.ts, one timer via io/deadline-timer.ts) and the
 * table is capped (least recently used evicted).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { DeadlineTimer, type TimerFunctions } from '../../io/deadline-timer.js';
import type { Clock } from '../../shared/clock.js';
import { parseHostPort } from '../../shared/net/address.js';
import { UdpSessionTable } from '../../shared/udp-session-table.js';

export interface LocalUdpSessionsOptions {
  /** The local service, "host:port". */
  readonly local: string;
  readonly idleMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A reply from the local service to the session `key`. */
  readonly onReply: (key: string, data: Buffer) => void;
  /** A session opened / closed (expired, evicted, closed by the caller). */
  readonly onOpen?: (key: string) => void;
  readonly onClose?: (key: string) => void;
  readonly maxSessions?: number;
  /** The expiry timer's setTimeout/clearTimeout (default Node's, unref'd); tests pass a fake. */
  readonly timers?: TimerFunctions;
}

interface Session {
  readonly socket: UdpSocket;
  /** Datagrams that arrived before the local socket finished connecting. */
  pending: Buffer[] | undefined;
}

export class LocalUdpSessions {
  private readonly sessions: UdpSessionTable<Session>;
  private readonly keys = new Map<Session, string>();
  private readonly expiry: DeadlineTimer;
  private readonly host: string;
  private readonly port: number;
  private stopped = false;

  constructor(private readonly opts: LocalUdpSessionsOptions) {
    const local = parseHostPort(opts.local);
    if (!local) throw new Error(`not a host:port: ${opts.local}`);
    this.host = local.host;
    this.port = local.port;
    this.sessions = new UdpSessionTable<Session>(opts.idleMs, opts.maxSessions);
    this.expiry = new DeadlineTimer(
      {
        nextExpiry: () => this.sessions.nextExpiry(),
        handleExpiry: (now) => {
          for (const [, session] of this.sessions.handleExpiry(now)) this.dispose(session);
        },
      },
      () => opts.clock.now(),
      ...(opts.timers ? [opts.timers] : []),
    );
  }

  /** Sends `data` to the local service on session `key`'s socket, opening the session if needed. */
  send(key: string, data: Uint8Array): void {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const session = this.sessions.get(key, now) ?? this.open(key, now);
    if (session.pending) session.pending.push(Buffer.from(data));
    else session.socket.send(data);
  }

  /** Closes the session `key` (the other end dropped it). */
  close(key: string): void {
    const session = this.sessions.delete(key);
    if (session) this.dispose(session);
  }

  /** Closes every session and stops the timer; later send() calls are ignored. */
  closeAll(): void {
    this.stopped = true;
    this.expiry.stop();
    for (const session of this.sessions.values()) {
      this.sessions.delete(this.keys.get(session)!);
      this.dispose(session);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  private open(key: string, now: number): Session {
    const socket = createSocket(isIPv6(this.host) ? 'udp6' : 'udp4');
    const session: Session = { socket, pending: [] };
    socket.on('error', (err) => this.opts.logger.debug({ local: this.opts.local, err: err.message }, 'udp session error'));
    socket.on('message', (reply) => {
      if (this.sessions.get(key, this.opts.clock.now()) !== session) return;
      this.opts.onReply(key, reply);
    });
    socket.connect(this.port, this.host, () => {
      const queued = session.pending ?? [];
      session.pending = undefined;
      for (const d of queued) socket.send(d);
    });
    this.keys.set(session, key);
    const evicted = this.sessions.set(key, session, now);
    if (evicted) this.dispose(evicted);
    this.opts.onOpen?.(key);
    this.expiry.rearm();
    return session;
  }

  private dispose(session: Session): void {
    const key = this.keys.get(session);
    this.keys.delete(session);
    try {
      session.socket.close();
    } catch {
      // already closed
    }
    if (key !== undefined) this.opts.onClose?.(key);
  }
}
