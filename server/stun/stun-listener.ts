/**
 * The STUN/TURN listener: the I/O adapter that owns the UDP, TCP and TLS sockets of the STUN
 * service, classifies what arrives (STUN message, ChannelData, garbage), answers Binding through the
 * pure `handleBinding` (./binding-handler.ts), and hands TURN methods and ChannelData to the TURN
 * core (`deps.turn`, a `TurnHandler`).
 *
 * Sockets (A1:P1 = `listen`, A2 = `alternate.ip`, P2 = `alternate.port`, default P1 + 1):
 *   - no `alternate`:          UDP and TCP on A1:P1 (RFC 5780 off: no OTHER-ADDRESS, CHANGE-REQUEST -> 420).
 *   - `alternate` without ip:  UDP and TCP on A1:P1 and A1:P2 (CHANGE-REQUEST can change the port only).
 *   - `alternate.ip`:          UDP on A1:P1, A1:P2, A2:P1, A2:P2; TCP on A1:P1 and A2:P2.
 *   - `tlsListen`:             TLS there (needs `deps.tls`); no RFC 5780 attributes on it.
 * Port 0 means an OS-chosen port: P1 is picked by the OS, then P2 (OS-chosen too unless configured),
 * and the other sockets reuse those numbers; if one of them is taken, everything bound so far is
 * closed and the whole set retried. `addresses()` reports what was actually bound.
 *
 * What arrives:
 *   - Binding requests/indications -> handleBinding; the response is encoded with FINGERPRINT and sent
 *     from the socket the decision names (UDP: same / changed IP / changed port; streams: the connection).
 *   - TURN methods (Allocate, Refresh, Send, CreatePermission, ChannelBind, Connect, ConnectionBind)
 *     and ChannelData -> `deps.turn`; without it, requests get 400 "TURN is not enabled" and
 *     indications and ChannelData are dropped.
 *   - Other methods: requests get 400 "Unsupported method"; indications are dropped.
 *   - Responses (a server gets none), garbage, undecodable datagrams: dropped and counted.
 *
 * Streams (TCP, TLS): each connection is a StreamConnection (stream-connection.ts), which moves
 * bytes through its pure StunStreamFraming (stream-framing.ts): an undecodable frame closes that
 * connection only (messages before it in the same read are still handled), and so does a stream
 * whose first byte is not the start of a STUN message. A ConnectionBind request (RFC 6062) stops
 * framing until the TURN core either takes the socket over (`takeOver()`: the bytes read after the
 * request are pushed back in front of it and the socket is returned paused: its new owner resumes
 * it, pipe() does) or answers with an error response (framing resumes); after HOLD_TIMEOUT_MS
 * without either, the connection is closed. `send()` pads ChannelData to 4 bytes on streams
 * (RFC 8656 §12.5). UDP 5-tuples are UdpTransports (udp-transport.ts).
 * Connections are capped (`limits.maxConnections` per listener, shared fairly between source
 * addresses: stream-admission.ts), closed if no valid STUN message arrives within
 * `limits.firstMessageTimeoutMs`, and closed after `limits.idleTimeoutMs` without a message unless
 * they hold a TURN allocation (issue 8 point 9: one Binding and then silence is not held forever). A connection whose unsent bytes pass
 * MAX_STREAM_BACKLOG is closed rather than answered by the listener.
 */
import { createServer as createTcpServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { StunConfig } from '../../shared/config/server-config.js';
import { parseHostPort } from '../../shared/net/address.js';
import { ErrorCode, StunClass, StunMethod } from '../../shared/stun/constants.js';
import {
  decodeChannelDataView,
  decodeStun,
  encodeStun,
  isChannelData,
  isStunMessage,
  type DecodedStunMessage,
  type TransportAddress,
} from '../../shared/stun/message.js';
import type { DatagramSocketFactory } from '../../io/datagram-socket.js';
import { defaultDatagramSockets } from '../../io/default-datagram-sockets.js';
import { UDP_BURST_BUFFER_BYTES } from '../../io/literal-lookup.js';
import { errorResponse, handleBinding, type BindingContext, type ResponseSource } from './binding-handler.js';
import type { TurnHandler } from './client-transport.js';
import { StreamConnection, type StreamOwner, type StreamSide } from './stream-connection.js';
import { fmt, transportAddress } from './transport-address.js';
import { UdpTransport, type Bit, type UdpRole } from './udp-transport.js';
import { UdpTransportCache } from './udp-transport-cache.js';
import { StreamAdmission } from './stream-admission.js';
import { DeadlineTimer, type TimerFunctions } from '../../io/deadline-timer.js';
import { monotonicClock } from '../../io/clock.js';
import type { Clock } from '../../shared/clock.js';

export { HOLD_TIMEOUT_MS, MAX_STREAM_BACKLOG } from './stream-connection.js';
export { transportAddress } from './transport-address.js';

/** TURN methods (RFC 8656, RFC 6062) a client may send; they go to `deps.turn`. */
export const TURN_METHODS: ReadonlySet<number> = new Set<number>([
  StunMethod.Allocate,
  StunMethod.Refresh,
  StunMethod.Send,
  StunMethod.CreatePermission,
  StunMethod.ChannelBind,
  StunMethod.Connect,
  StunMethod.ConnectionBind,
]);

export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_FIRST_MESSAGE_TIMEOUT_MS = 10_000;
/** A stream connection without a TURN allocation is closed after this long without a message. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** How often start() retries when an OS-chosen port is taken on one of the other sockets. */
const BIND_ATTEMPTS = 10;

export interface StunListenerDeps {
  logger: Logger;
  /** Certificate and key (PEM) for `tlsListen`. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The TURN core; without it TURN requests get 400 "TURN is not enabled". */
  turn?: TurnHandler;
  /** SOFTWARE attribute of the listener's own responses (cut to 64 bytes; "" for none). */
  software: string;
  /**
   * Stream limits: connections per listener (10000, shared fairly per source address), ms to the
   * first STUN message (10000), ms of silence before a connection without an allocation is closed
   * (30000).
   */
  limits?: { maxConnections?: number; firstMessageTimeoutMs?: number; idleTimeoutMs?: number };
  /** Default: the monotonic clock. */
  clock?: Clock;
  /** The idle timer's timer functions (default setTimeout, unref'd). */
  timers?: TimerFunctions;
  /** The UDP sockets (io/datagram-socket.ts); default native/udp-batch where built, else node:dgram. */
  datagramSockets?: DatagramSocketFactory;
}

export interface StunProtocolStats {
  /** STUN requests received (any method). */
  requests: number;
  /** STUN indications received (any method). */
  indications: number;
  /** ChannelData messages received. */
  channelData: number;
  /** Success responses sent by the listener itself (Binding). The TURN core's answers are not counted. */
  responses: number;
  /** Error responses sent by the listener itself (400, 420). */
  errors: number;
  /** Dropped: garbage, undecodable, responses, ChannelData without TURN, refused connections, full backlog. */
  dropped: number;
}

export interface StunListenerStats {
  udp: StunProtocolStats;
  tcp: StunProtocolStats;
  tls: StunProtocolStats;
  /** Stream connections open now (taken-over ones excluded). */
  connections: { tcp: number; tls: number };
  /**
   * Stream connections the listener closed: undecodable data, no STUN message in time, silent
   * too long without an allocation (idle), evicted to give another source address its share
   * (evicted), and new ones refused at the cap because their address holds the largest share.
   */
  streamsClosed: { invalid: number; timeout: number; idle: number; evicted: number; refused: number };
}

export interface StunListenerAddresses {
  /** Primary first, then A1:P2, A2:P1, A2:P2 (those bound). */
  udp: TransportAddress[];
  /** Primary first. */
  tcp: TransportAddress[];
  tls?: TransportAddress;
}

function newStats(): StunProtocolStats {
  return { requests: 0, indications: 0, channelData: 0, responses: 0, errors: 0, dropped: 0 };
}

export class StunTurnListener implements StreamOwner {
  private readonly logger: Logger;
  private readonly udp: UdpRole[] = [];
  private readonly streams: StreamSide[] = [];
  private readonly connections = new Set<StreamConnection>();
  private readonly counters = { udp: newStats(), tcp: newStats(), tls: newStats() };
  /** One UdpTransport per recently seen 5-tuple, not one per datagram. */
  private readonly udpTransports = new UdpTransportCache();
  private readonly closedStreams = { invalid: 0, timeout: 0, idle: 0, evicted: 0, refused: 0 };
  private readonly admission: StreamAdmission<StreamConnection>;
  private readonly idleTimer: DeadlineTimer;
  private readonly clock: Clock;
  private started = false;
  private stopped = false;
  /** SO_REUSEADDR on the UDP sockets: only for a wildcard listen with alternate.ip (see bindSet). */
  private reuseUdpAddr = false;
  private readonly maxConnections: number;
  private readonly datagramSockets: DatagramSocketFactory;
  /** @internal */
  readonly firstMessageTimeoutMs: number;

  constructor(
    private readonly config: StunConfig,
    private readonly deps: StunListenerDeps,
  ) {
    this.logger = deps.logger;
    this.maxConnections = deps.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.firstMessageTimeoutMs = deps.limits?.firstMessageTimeoutMs ?? DEFAULT_FIRST_MESSAGE_TIMEOUT_MS;
    this.clock = deps.clock ?? monotonicClock;
    this.datagramSockets = deps.datagramSockets ?? defaultDatagramSockets();
    const turn = deps.turn;
    this.admission = new StreamAdmission<StreamConnection>(
      { maxConnections: this.maxConnections, idleMs: deps.limits?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS },
      (c) => turn?.holdsAllocation?.(c) ?? false,
    );
    this.idleTimer = new DeadlineTimer(
      {
        nextExpiry: () => this.admission.nextExpiry(),
        handleExpiry: (now) => {
          for (const c of this.admission.handleExpiry(now)) {
            this.closedStreams.idle++;
            this.logger.debug({ remote: fmt(c.remote), protocol: c.protocol }, 'STUN stream closed: idle without an allocation');
            c.destroy();
          }
        },
      },
      () => this.clock.now(),
      ...(deps.timers ? [deps.timers] : []),
    );
  }

  /** Binds every socket (see the file comment); rejects, with nothing left open, if one cannot be bound. */
  async start(): Promise<void> {
    if (this.started) throw new Error('the STUN listener was already started');
    this.started = true;
    const primary = parseHostPort(this.config.listen);
    if (!primary) throw new Error(`stun.listen: bad address ${this.config.listen}`);
    const alt = this.config.alternate;
    if (alt?.ip !== undefined && isIPv6(alt.ip) !== isIPv6(primary.host)) {
      throw new Error('stun.alternate.ip must be of the same address family as stun.listen');
    }
    if (this.config.tlsListen && !this.deps.tls) throw new Error('stun.tlsListen needs a TLS certificate');
    let altPort: number | undefined;
    if (alt) {
      altPort = alt.port ?? (primary.port === 0 ? 0 : primary.port + 1);
      if (altPort > 65535) throw new Error('stun.alternate.port: listen port + 1 is past 65535; set it explicitly');
      if (altPort !== 0 && altPort === primary.port) throw new Error('stun.alternate.port must differ from the listen port');
    }
    const osChosen = primary.port === 0 || altPort === 0;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bindSet(primary.host, primary.port, alt?.ip, altPort);
        break;
      } catch (err) {
        await this.closeAll();
        const code = (err as NodeJS.ErrnoException).code;
        if (!osChosen || code !== 'EADDRINUSE' || attempt >= BIND_ATTEMPTS) throw err;
      }
    }
    if (this.config.tlsListen) {
      const at = parseHostPort(this.config.tlsListen);
      try {
        if (!at) throw new Error(`stun.tlsListen: bad address ${this.config.tlsListen}`);
        this.streams.push(await this.listenStream('tls', at.host, at.port, undefined));
      } catch (err) {
        await this.closeAll();
        throw err;
      }
    }
    const a = this.addresses();
    if (alt !== undefined && isWildcard(a.udp[0]!.address)) {
      this.logger.warn(
        { listen: this.config.listen },
        'stun.listen is a wildcard address: UDP Binding answers cannot name the IP the client reached, so they carry no OTHER-ADDRESS or RESPONSE-ORIGIN (RFC 5780 clients then skip the behaviour tests); set stun.listen to the public IP',
      );
    }
    this.logger.info(
      { udp: a.udp.map(fmt), tcp: a.tcp.map(fmt), tls: a.tls ? fmt(a.tls) : undefined, rfc5780: alt !== undefined, turn: this.deps.turn !== undefined, udpIo: this.datagramSockets.kind },
      'STUN listening',
    );
  }

  /** The actual bound addresses, primary first. */
  addresses(): StunListenerAddresses {
    const order = (r: UdpRole) => r.ip * 2 + r.port;
    const udp = [...this.udp].sort((x, y) => order(x) - order(y)).map((r) => r.local);
    const tcp = this.streams.filter((s) => s.protocol === 'tcp').map((s) => s.local);
    const tls = this.streams.find((s) => s.protocol === 'tls')?.local;
    return tls ? { udp, tcp, tls } : { udp, tcp };
  }

  stats(): StunListenerStats {
    let tcp = 0;
    let tls = 0;
    for (const c of this.connections) {
      if (c.protocol === 'tcp') tcp++;
      else tls++;
    }
    return {
      udp: { ...this.counters.udp },
      tcp: { ...this.counters.tcp },
      tls: { ...this.counters.tls },
      connections: { tcp, tls },
      streamsClosed: { ...this.closedStreams },
    };
  }

  /**
   * Closes every socket and open stream connection (the TURN core hears `clientClosed` for each).
   * Does not close `deps.turn` (its owner does) nor sockets it took over.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.idleTimer.stop();
    await this.closeAll();
    this.logger.info('STUN stopped');
  }

  // ---- binding sockets ----

  private async bindSet(host1: string, port1: number, host2: string | undefined, port2: number | undefined): Promise<void> {
    const software = this.deps.software;
    const fixed: BindingContext = { software, canChange: { ip: false, port: false } };
    // A wildcard listen (0.0.0.0:P) already covers A2:P, so binding A2's sockets would fail with
    // EADDRINUSE; with SO_REUSEADDR on all four the kernel lets them coexist and delivers to the
    // more specific A2 socket. (A second server on the same ports still fails: its TCP listen does.)
    const reuse = host2 !== undefined && isWildcard(host1);
    this.reuseUdpAddr = reuse;
    const u11 = await this.bindUdp(host1, port1, 0, 0);
    const p1 = u11.local.port;
    if (port2 === undefined) {
      u11.ctx = fixed;
      this.streams.push(await this.listenStream('tcp', host1, p1, fixed));
      return;
    }
    const u12 = await this.bindUdp(host1, port2, 0, 1);
    const p2 = u12.local.port;
    if (host2 !== undefined) {
      await this.bindUdp(host2, p1, 1, 0);
      await this.bindUdp(host2, p2, 1, 1);
    }
    // OTHER-ADDRESS is the socket across both IP and port; with one IP, across the port.
    for (const r of this.udp) {
      const other = this.findUdp(host2 !== undefined ? flip(r.ip) : r.ip, flip(r.port))!;
      r.ctx = {
        software,
        otherAddress: other.local,
        canChange: { ip: this.findUdp(flip(r.ip), r.port) !== undefined, port: this.findUdp(r.ip, flip(r.port)) !== undefined },
      };
    }
    const tcpOther = this.findUdp(host2 !== undefined ? 1 : 0, 1)!;
    // A stream cannot change where its answers come from: OTHER-ADDRESS is only a hint there.
    this.streams.push(await this.listenStream('tcp', host1, p1, { software, otherAddress: tcpOther.local, canChange: { ip: false, port: false } }));
    this.streams.push(await this.listenStream('tcp', tcpOther.local.address, p2, { software, otherAddress: u11.local, canChange: { ip: false, port: false } }));
  }

  private findUdp(ip: Bit, port: Bit): UdpRole | undefined {
    return this.udp.find((r) => r.ip === ip && r.port === port);
  }

  private async bindUdp(host: string, port: number, ip: Bit, portIndex: Bit): Promise<UdpRole> {
    const socket = await this.datagramSockets.bind({
      type: isIPv6(host) ? 'udp6' : 'udp4',
      address: host,
      port,
      recvBufferSize: UDP_BURST_BUFFER_BYTES,
      reuseAddr: this.reuseUdpAddr,
    });
    const role: UdpRole = {
      socket,
      ip,
      port: portIndex,
      local: transportAddress(socket.address, socket.port),
      ctx: { software: this.deps.software, canChange: { ip: false, port: false } },
    };
    socket.onMessage((msg, address, remotePort) => this.onDatagram(role, msg, address, remotePort));
    this.udp.push(role);
    return role;
  }

  private async listenStream(protocol: 'tcp' | 'tls', host: string, port: number, ctx: BindingContext | undefined): Promise<StreamSide> {
    let server: Server;
    if (protocol === 'tls') {
      const tls = this.deps.tls!;
      server = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', handshakeTimeout: this.firstMessageTimeoutMs });
      server.on('secureConnection', (socket: Socket) => this.onStream(side, socket));
      server.on('tlsClientError', (err: Error, socket: Socket) => {
        this.counters.tls.dropped++;
        this.logger.debug({ remote: socket.remoteAddress, reason: err.message }, 'STUN TLS handshake failed');
        socket.destroy();
      });
    } else {
      server = createTcpServer({ noDelay: true });
      server.on('connection', (socket: Socket) => this.onStream(side, socket));
    }
    // The fair share is enforced per accepted connection (onStream); this only bounds what the
    // kernel hands over before that (TLS handshakes in progress).
    server.maxConnections = this.maxConnections + 1024;
    server.on('drop', () => this.counters[protocol].dropped++);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 1024, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error({ protocol, err: err.message }, 'STUN listener error'));
    const a = server.address();
    if (!a || typeof a === 'string') throw new Error('the STUN listener has no address');
    const side: StreamSide = {
      protocol,
      server,
      local: transportAddress(a.address, a.port),
      ctx: ctx ?? { software: this.deps.software, canChange: { ip: false, port: false } },
    };
    return side;
  }

  private async closeAll(): Promise<void> {
    this.udpTransports.clear();
    for (const r of this.udp.splice(0)) {
      try {
        r.socket.close();
      } catch {
        // already closed
      }
    }
    const closed = this.streams.splice(0).map((s) => new Promise<void>((resolve) => s.server.close(() => resolve())));
    for (const c of [...this.connections]) c.destroy();
    await Promise.all(closed);
  }

  // ---- UDP ----

  private onDatagram(role: UdpRole, msg: Buffer, address: string, port: number): void {
    const stats = this.counters.udp;
    let transport: UdpTransport;
    try {
      transport = this.udpTransports.get(role, address, port);
    } catch {
      stats.dropped++;
      return;
    }
    try {
      if (isStunMessage(msg)) {
        let decoded: DecodedStunMessage;
        try {
          decoded = decodeStun(msg);
        } catch {
          stats.dropped++;
          return;
        }
        this.onStun(decoded, transport, role.ctx);
      } else if (isChannelData(msg)) {
        stats.channelData++;
        if (!this.deps.turn) {
          stats.dropped++;
          return;
        }
        // A view, not a copy: every datagram has a buffer of its own, and the relay only sends it on.
        const frame = decodeChannelDataView(msg);
        this.deps.turn.handleChannelData(frame.channel, frame.data, transport);
      } else {
        stats.dropped++;
      }
    } catch (err) {
      // A bug in a handler must not take the listener down.
      stats.dropped++;
      this.logger.error({ err: (err as Error).message, remote: fmt(transport.remote) }, 'STUN datagram handling failed');
    }
  }

  // ---- TCP / TLS ----

  private onStream(side: StreamSide, socket: Socket): void {
    socket.on('error', () => {});
    if (this.stopped) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const c = new StreamConnection(socket, side, this);
    const admission = this.admission.admit(c, c.remote.address, this.clock.now());
    if (!admission.admitted) {
      this.counters[side.protocol].dropped++;
      this.closedStreams.refused++;
      this.logger.debug({ remote: fmt(c.remote), protocol: side.protocol }, 'STUN stream refused: the connection cap is full and this address holds the largest share');
      c.destroy();
      return;
    }
    this.connections.add(c);
    if (admission.evict) {
      this.closedStreams.evicted++;
      this.logger.debug({ remote: fmt(admission.evict.remote), for: fmt(c.remote) }, 'STUN stream evicted: another address needs its share of the connection cap');
      admission.evict.destroy();
    }
    this.idleTimer.rearm();
  }

  /** @internal */
  streamClosed(c: StreamConnection): void {
    this.admission.remove(c);
    if (!this.connections.delete(c)) return;
    if (this.deps.turn) {
      try {
        this.deps.turn.clientClosed(c);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'TURN clientClosed failed');
      }
    }
  }

  /** @internal */
  streamTakenOver(c: StreamConnection): void {
    this.admission.remove(c);
    this.connections.delete(c);
  }

  /** @internal */
  streamInvalid(c: StreamConnection, reason: string): void {
    this.counters[c.protocol].dropped++;
    this.closedStreams.invalid++;
    this.logger.debug({ remote: fmt(c.remote), protocol: c.protocol, reason }, 'STUN stream closed: invalid data');
  }

  /** @internal */
  streamTimedOut(c: StreamConnection, what: string): void {
    this.closedStreams.timeout++;
    this.logger.debug({ remote: fmt(c.remote), protocol: c.protocol }, `STUN stream closed: ${what}`);
  }

  /** @internal A decoded STUN message from a stream. */
  streamStun(c: StreamConnection, message: DecodedStunMessage): void {
    this.admission.touch(c, this.clock.now());
    try {
      this.onStun(message, c, c.side.ctx);
    } catch (err) {
      this.counters[c.protocol].dropped++;
      this.logger.error({ err: (err as Error).message, remote: fmt(c.remote) }, 'STUN message handling failed');
    }
  }

  /** @internal ChannelData from a stream. */
  streamChannelData(c: StreamConnection, channel: number, data: Uint8Array): void {
    this.admission.touch(c, this.clock.now());
    const stats = this.counters[c.protocol];
    stats.channelData++;
    if (!this.deps.turn) {
      stats.dropped++;
      return;
    }
    try {
      this.deps.turn.handleChannelData(channel, data, c);
    } catch (err) {
      stats.dropped++;
      this.logger.error({ err: (err as Error).message, remote: fmt(c.remote) }, 'TURN ChannelData handling failed');
    }
  }

  // ---- both ----

  private onStun(message: DecodedStunMessage, transport: UdpTransport | StreamConnection, ctx: BindingContext): void {
    const stats = this.counters[transport.protocol];
    if (message.cls === StunClass.Request) stats.requests++;
    else if (message.cls === StunClass.Indication) stats.indications++;
    else {
      stats.dropped++; // a response: a server expects none
      return;
    }
    if (message.method === StunMethod.Binding) {
      const outcome = handleBinding(message, { remote: transport.remote, local: transport.local, protocol: transport.protocol }, ctx);
      if (outcome.kind === 'drop') {
        if (message.cls !== StunClass.Indication) stats.dropped++;
        return;
      }
      const sent = this.respond(transport, encodeStun(outcome.response, { fingerprint: true }), outcome.from, outcome.toPort);
      if (!sent) stats.dropped++;
      else if (outcome.errorCode === undefined) stats.responses++;
      else stats.errors++;
      return;
    }
    if (TURN_METHODS.has(message.method) && this.deps.turn) {
      if (message.method === StunMethod.ConnectionBind && message.cls === StunClass.Request && transport instanceof StreamConnection) {
        transport.hold(message.transactionId);
      }
      this.deps.turn.handleMessage(message, transport);
      return;
    }
    if (message.cls !== StunClass.Request) {
      stats.dropped++;
      return;
    }
    const reason = TURN_METHODS.has(message.method) ? 'TURN is not enabled' : 'Unsupported method';
    const bytes = encodeStun(errorResponse(message, ErrorCode.BadRequest, reason, this.deps.software), { fingerprint: true });
    if (this.respond(transport, bytes, 'same', undefined)) stats.errors++;
    else stats.dropped++;
  }

  /** Sends a listener-made response: over UDP from the socket `from` picks (and to `toPort`), over a stream on it. */
  private respond(transport: UdpTransport | StreamConnection, bytes: Uint8Array, from: ResponseSource, toPort: number | undefined): boolean {
    if (transport instanceof StreamConnection) return transport.sendChecked(bytes);
    const role = transport.role;
    const ip = from === 'change-ip' || from === 'change-both' ? flip(role.ip) : role.ip;
    const port = from === 'change-port' || from === 'change-both' ? flip(role.port) : role.port;
    const out = this.findUdp(ip, port);
    if (!out) return false;
    transport.sendVia(out.socket, bytes, toPort);
    return true;
  }
}

// ---- helpers ----

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function flip(b: Bit): Bit {
  return b === 0 ? 1 : 0;
}
