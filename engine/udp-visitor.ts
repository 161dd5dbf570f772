/**
 * The visiting side of a p2p tunnel with `protocol: udp` (issue 9): a UDP socket on the visitor's
 * `bind`; each distinct source address of the user is one session (shared/udp-session-table.ts,
 * idle expiry on one timer via io/deadline-timer.ts), and each session picks its path when it
 * starts, like a TCP connection does:
 *
 * - direct, when the punched path is up or comes up within fallbackTimeout: the session's
 *   datagrams are direct frames (shared/p2p/datagram-frame.ts: session id + payload) over the
 *   path's encrypted datagram channel, shared by all sessions but never a reliable stream;
 * - relay otherwise (unless `fallback: none`, which drops the session's datagrams): the session
 *   gets its own relay stream through the server, datagrams length-prefixed on it.
 *
 * Datagrams that arrive while the session picks its path wait (a few, then they are dropped). A
 * direct session whose path dies is dropped; the user's next datagram starts a new session, which
 * takes the relay while the engine re-punches. Replies go back to the address of their session.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { DeadlineTimer } from '../io/deadline-timer.js';
import type { Clock } from '../shared/clock.js';
import { parseHostPort } from '../shared/net/address.js';
import { DatagramFrameError, decodeDirectFrame, encodeDirectFrame, encodeRelayDatagram, MAX_DIRECT_PAYLOAD, RelayDatagramReader } from '../shared/p2p/datagram-frame.js';
import type { TrafficStats } from '../shared/traffic-stats.js';
import type { PathCounters } from '../shared/types/status.js';
import { UdpSessionTable } from '../shared/udp-session-table.js';
import type { DirectRoute } from './p2p/direct-route.js';
import type { DirectTransport } from './p2p/direct-transport.js';

/** Datagrams a session holds while it picks its path; more are dropped. */
const MAX_QUEUED = 64;
/** A relay stream with more unsent bytes than this drops datagrams (UDP semantics) instead of queueing. */
const MAX_RELAY_BUFFERED = 1024 * 1024;

export interface UdpVisitorOptions {
  readonly name: string;
  readonly bind: string;
  readonly idleMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The direct path (p2p visitors). Without one every session takes the relay. */
  readonly direct?: DirectRoute;
  readonly fallback: 'relay' | 'none';
  readonly fallbackTimeoutMs: number;
  /** A new relay stream to the tunnel (the visitor's NewVisitorConn); rejects with the reason. */
  readonly openRelay: () => Promise<Duplex>;
  /** The visitor's counters: bytesOut user → service, bytesIn back; a session counts as a connection. */
  readonly stats: TrafficStats;
  readonly relay: PathCounters;
  /** A relay stream could (not) be opened: the visitor's state and error. */
  readonly onRelayResult?: (error: string | undefined) => void;
}

interface Session {
  readonly key: string;
  readonly id: number;
  readonly address: string;
  readonly port: number;
  path: 'choosing' | 'direct' | 'relay' | 'closed';
  queue: Buffer[];
  transport?: DirectTransport;
  relay?: Duplex;
  counted: boolean;
}

export class UdpVisitorPort {
  private socket: UdpSocket | undefined;
  private readonly sessions: UdpSessionTable<Session>;
  private readonly byId = new Map<number, Session>();
  private readonly expiry: DeadlineTimer;
  private readonly seenTransports = new WeakSet<DirectTransport>();
  private nextId = 1;
  private closed = false;
  /** Why the last session could not get a path, logged once until a session gets one again. */
  private lastFailure: string | undefined;
  /** Datagrams dropped: queue full, too large for the direct path, relay backed up, or no path (fallback none). */
  dropped = 0;

  constructor(private readonly opts: UdpVisitorOptions) {
    this.sessions = new UdpSessionTable<Session>(opts.idleMs);
    this.expiry = new DeadlineTimer(
      {
        nextExpiry: () => this.sessions.nextExpiry(),
        handleExpiry: (now) => {
          for (const [, s] of this.sessions.handleExpiry(now)) this.closeSession(s, true);
        },
      },
      () => opts.clock.now(),
    );
  }

  /** Binds the UDP socket; rejects with the socket's error (e.g. the port is in use). */
  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.opts.bind)!;
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.opts.logger.debug({ visitor: this.opts.name, err: err.message }, 'udp visitor socket error'));
    socket.on('message', (msg, from) => this.onUser(msg, from));
    this.socket = socket;
  }

  get port(): number | undefined {
    return this.socket?.address().port;
  }

  /** Sessions open now. */
  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    this.closed = true;
    this.expiry.stop();
    for (const s of this.sessions.values()) {
      this.sessions.delete(s.key);
      this.closeSession(s, true);
    }
    this.socket?.close();
    this.socket = undefined;
  }

  private onUser(msg: Buffer, from: RemoteInfo): void {
    if (this.closed) return;
    const key = `${from.address}|${from.port}`;
    const now = this.opts.clock.now();
    let session = this.sessions.get(key, now);
    if (session?.path === 'direct' && (!session.transport || session.transport.closed)) {
      // the path died: this session is over; the datagram starts a new one (relay while re-punching)
      this.sessions.delete(key);
      this.closeSession(session, false);
      session = undefined;
    }
    session ??= this.openSession(key, from, now);
    this.forward(session, msg);
  }

  private forward(s: Session, msg: Buffer): void {
    switch (s.path) {
      case 'choosing':
        if (s.queue.length < MAX_QUEUED) s.queue.push(msg);
        else this.dropped++;
        return;
      case 'direct': {
        if (msg.length > MAX_DIRECT_PAYLOAD || !s.transport!.sendDatagram(encodeDirectFrame({ kind: 'data', session: s.id, payload: msg }))) {
          this.dropped++;
          return;
        }
        this.opts.stats.bytesOut += msg.length;
        this.opts.direct!.directCounters.bytesOut += msg.length;
        return;
      }
      case 'relay': {
        const relay = s.relay!;
        if (!relay.writable || relay.writableLength > MAX_RELAY_BUFFERED) {
          this.dropped++;
          return;
        }
        relay.write(encodeRelayDatagram(msg));
        this.opts.stats.bytesOut += msg.length;
        this.opts.relay.bytesOut += msg.length;
        return;
      }
      case 'closed':
        this.dropped++;
    }
  }

  private openSession(key: string, from: RemoteInfo, now: number): Session {
    let id = this.nextId;
    while (this.byId.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const s: Session = { key, id, address: from.address, port: from.port, path: 'choosing', queue: [], counted: false };
    this.byId.set(id, s);
    const evicted = this.sessions.set(key, s, now);
    if (evicted) this.closeSession(evicted, true);
    this.expiry.rearm();
    void this.choosePath(s);
    return s;
  }

  private async choosePath(s: Session): Promise<void> {
    const direct = this.opts.direct;
    const transport = direct ? await direct.get(this.opts.fallbackTimeoutMs) : undefined;
    if (s.path === 'closed') return;
    if (transport && !transport.closed) {
      this.lastFailure = undefined;
      this.watch(transport);
      s.transport = transport;
      s.path = 'direct';
      s.counted = true;
      this.opts.stats.opened();
      direct!.directCounters.connections++;
      return this.flush(s);
    }
    if (direct && this.opts.fallback === 'none') {
      this.failed('no direct path within the fallback timeout and fallback is none: datagrams dropped');
      this.dropped += s.queue.length;
      return this.endSession(s);
    }
    this.opts.relay.connections++;
    let relay: Duplex;
    try {
      relay = await this.opts.openRelay();
    } catch (err) {
      this.opts.onRelayResult?.((err as Error).message);
      this.failed(`the relay refused the session (${(err as Error).message}): datagrams dropped`);
      this.dropped += s.queue.length;
      return this.endSession(s);
    }
    this.opts.onRelayResult?.(undefined);
    this.lastFailure = undefined;
    if ((s.path as Session['path']) === 'closed') {
      relay.destroy();
      return;
    }
    s.relay = relay;
    s.path = 'relay';
    s.counted = true;
    this.opts.stats.opened();
    const reader = new RelayDatagramReader();
    relay.on('data', (chunk: Buffer) => {
      let datagrams;
      try {
        datagrams = reader.push(chunk);
      } catch (err) {
        this.opts.logger.warn({ visitor: this.opts.name, err: (err as Error).message }, 'relay stream is not speaking datagram framing; session closed');
        return this.endSession(s);
      }
      this.touch(s);
      for (const d of datagrams) this.toUser(s, d, this.opts.relay);
    });
    relay.on('error', () => this.endSession(s));
    relay.on('close', () => this.endSession(s));
    relay.on('end', () => this.endSession(s));
    relay.resume(); // a released connection may have been paused explicitly: 'data' alone would not start it
    this.flush(s);
  }

  /** Replies on a direct path: one listener per transport, demultiplexed by session id. */
  private watch(transport: DirectTransport): void {
    if (this.seenTransports.has(transport)) return;
    this.seenTransports.add(transport);
    let badFrames = 0;
    transport.on('datagram', (message: Buffer) => {
      let frame;
      try {
        frame = decodeDirectFrame(message);
      } catch (err) {
        if (err instanceof DatagramFrameError && badFrames++ % 1000 === 0) this.opts.logger.warn({ visitor: this.opts.name, err: err.message }, 'bad datagram frame on the direct path dropped');
        return;
      }
      const s = this.byId.get(frame.session);
      if (!s || s.transport !== transport || s.path !== 'direct') return;
      if (frame.kind === 'close') return this.endSession(s);
      this.touch(s);
      this.toUser(s, frame.payload, this.opts.direct!.directCounters);
    });
    transport.once('close', () => {
      for (const s of [...this.byId.values()]) if (s.transport === transport) this.endSession(s);
    });
  }

  /** A reply counts as use of its session (if it is still the one for its address). */
  private touch(s: Session): void {
    if (this.sessions.peek(s.key) === s) this.sessions.get(s.key, this.opts.clock.now());
  }

  /** Logs why a session got no path, once per reason until one gets a path (a user sending steadily would repeat it every fallbackTimeout). */
  private failed(reason: string): void {
    if (reason !== this.lastFailure) this.opts.logger.warn({ visitor: this.opts.name }, reason);
    this.lastFailure = reason;
  }

  private toUser(s: Session, data: Uint8Array, path: PathCounters): void {
    if (!this.socket || s.path === 'closed') return;
    this.opts.stats.bytesIn += data.length;
    path.bytesIn += data.length;
    this.socket.send(data, s.port, s.address);
  }

  private flush(s: Session): void {
    const queued = s.queue;
    s.queue = [];
    for (const d of queued) this.forward(s, d);
  }

  /** The far side or the path ended the session: out of the table, closed. */
  private endSession(s: Session): void {
    this.untable(s);
    this.closeSession(s, false);
  }

  /** Removes `s` from the table if it is still there (a newer session may have its key). */
  private untable(s: Session): void {
    if (this.sessions.peek(s.key) === s) this.sessions.delete(s.key);
  }

  /** `tellPeer`: we dropped it (idle, evicted, closing), so the serving side may close its socket now. */
  private closeSession(s: Session, tellPeer: boolean): void {
    if (s.path === 'closed') return;
    const was = s.path;
    s.path = 'closed';
    s.queue = [];
    if (this.byId.get(s.id) === s) this.byId.delete(s.id);
    if (was === 'direct' && tellPeer && s.transport && !s.transport.closed) s.transport.sendDatagram(encodeDirectFrame({ kind: 'close', session: s.id, payload: new Uint8Array(0) }));
    if (s.relay && !s.relay.destroyed) {
      if (tellPeer) s.relay.end();
      else s.relay.destroy();
    }
    if (s.counted) this.opts.stats.closed();
  }
}
