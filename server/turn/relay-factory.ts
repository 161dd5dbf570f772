/**
 * The I/O adapter for relayed transport addresses: binds UDP relay sockets and TCP relay listeners
 * on random ports from `relayPorts`, dials TCP peers (RFC 6062 Connect), and keeps EVEN-PORT
 * reservations (RFC 8656 §7.2, §14.6, §14.9).
 *
 * Reservations: an Allocate with EVEN-PORT and the R bit gets an even port N and the server holds
 * N+1 bound for a later Allocate that presents the 8-byte RESERVATION-TOKEN. RFC 8656 §14.9 gives no
 * number; we hold it 30 s (as coturn does): `nextExpiry()` says when the next hold ends and
 * `handleExpiry(now)`, run by the server's expiry timer, releases those that ended.
 */
import { randomBytes } from 'node:crypto';
import net, { type Socket } from 'node:net';
import type { DatagramSocket, DatagramSocketFactory } from '../../io/datagram-socket.js';
import { defaultDatagramSockets } from '../../io/default-datagram-sockets.js';
import { UDP_BURST_BUFFER_BYTES } from '../../io/literal-lookup.js';
import { ipFamily, isWildcard, type IpFamily } from '../../shared/net/address.js';

/** How long a reserved port (EVEN-PORT R bit) is held. */
export const RESERVATION_MS = 30_000;

export interface PeerEndpoint {
  readonly address: string;
  readonly port: number;
}

/** A UDP socket bound to a relayed transport address. */
export interface RelaySocket {
  readonly family: IpFamily;
  /** The IP it is bound to (may be a wildcard). */
  readonly address: string;
  readonly port: number;
  /** Set when the socket was bound with `reserveNext`: the token for port + 1. */
  readonly reservationToken?: Uint8Array;
  /** Sends one datagram; errors (unreachable networks…) are swallowed, as UDP would lose it anyway. */
  send(data: Uint8Array, port: number, address: string): void;
  /** One handler; datagrams that arrive before it is set are dropped. */
  onMessage(handler: (data: Buffer, from: PeerEndpoint) => void): void;
  close(): void;
}

/** A TCP listener on a relayed transport address (RFC 6062 TCP allocations). */
export interface RelayTcpListener {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  /** Accepted sockets arrive paused (the peer's data waits in the kernel: RFC 6062 §5.3 buffering). */
  onConnection(handler: (socket: Socket) => void): void;
  close(): void;
}

export interface BindOptions {
  /** RFC 8656 §14.6 EVEN-PORT: the port must be even. */
  evenPort?: boolean;
  /** EVEN-PORT with the R bit: also reserve port + 1 and return a RESERVATION-TOKEN. */
  reserveNext?: boolean;
}

export interface RelayFactory {
  /** Binds a UDP relay socket; rejects with code 'EADDRINUSE' when no port is free. */
  bindUdp(ip: string, port: number | 'random', opts: BindOptions): Promise<RelaySocket>;
  /** Takes the socket reserved under `token` (RFC 8656 §7.2 RESERVATION-TOKEN), or undefined. */
  claimReservation(token: Uint8Array, now: number): RelaySocket | undefined;
  /** Listens for TCP on a relay IP; rejects with code 'EADDRINUSE' when no port is free. */
  listenTcp(ip: string, port: number | 'random'): Promise<RelayTcpListener>;
  /** Dials a TCP peer from the relay IP (RFC 6062 Connect); rejects on failure or after timeoutMs. */
  connectTcp(localIp: string, peer: PeerEndpoint, timeoutMs: number): Promise<Socket>;
  /** When the earliest reservation's hold ends (ms); undefined when none is held. */
  nextExpiry(): number | undefined;
  /** Releases reservations that were not claimed by `now`. */
  handleExpiry(now: number): void;
  /** Closes held reservations. */
  close(): Promise<void>;
}

export interface NodeRelayFactoryOptions {
  /** Inclusive port range relay addresses are drawn from. */
  ports: readonly [number, number];
  now?: () => number;
  /** Random ports tried before giving up. Default 64. */
  attempts?: number;
  /** The UDP relay sockets (io/datagram-socket.ts); default native/udp-batch where built, else node:dgram. */
  datagramSockets?: DatagramSocketFactory;
}

interface Reservation {
  readonly socket: UdpRelaySocket;
  readonly expiresAt: number;
}

function addrInUse(message: string): Error {
  return Object.assign(new Error(message), { code: 'EADDRINUSE' });
}

class UdpRelaySocket implements RelaySocket {
  reservationToken?: Uint8Array;
  private closed = false;

  constructor(
    private readonly socket: DatagramSocket,
    readonly family: IpFamily,
    readonly address: string,
    readonly port: number,
    private readonly onClose: () => void,
  ) {}

  send(data: Uint8Array, port: number, address: string): void {
    // A bad address for this family, a full send buffer: the datagram is lost like any other.
    this.socket.send(data, port, address);
  }

  onMessage(handler: (data: Buffer, from: PeerEndpoint) => void): void {
    this.socket.onMessage((data, address, port) => handler(data, { address, port }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.onClose();
  }
}

class TcpRelayListener implements RelayTcpListener {
  private handler: ((socket: Socket) => void) | undefined;
  private closed = false;

  constructor(
    private readonly server: net.Server,
    readonly family: IpFamily,
    readonly address: string,
    readonly port: number,
    private readonly onClose: () => void,
  ) {
    server.on('connection', (socket) => {
      if (this.handler && !this.closed) this.handler(socket);
      else socket.destroy();
    });
    server.on('error', () => {});
  }

  onConnection(handler: (socket: Socket) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    this.onClose();
  }
}

/** Real sockets. */
export class NodeRelayFactory implements RelayFactory {
  private readonly lo: number;
  private readonly hi: number;
  private readonly now: () => number;
  private readonly attempts: number;
  private readonly datagramSockets: DatagramSocketFactory;
  /** "udp|ip|port" / "tcp|ip|port" bound by us (skipped when choosing). */
  private readonly inUse = new Set<string>();
  private readonly reservations = new Map<string, Reservation>();

  constructor(options: NodeRelayFactoryOptions) {
    [this.lo, this.hi] = options.ports;
    if (!(this.lo >= 1 && this.hi <= 65535 && this.lo <= this.hi)) throw new RangeError(`bad relay port range ${this.lo}-${this.hi}`);
    this.now = options.now ?? Date.now;
    this.attempts = options.attempts ?? 64;
    this.datagramSockets = options.datagramSockets ?? defaultDatagramSockets();
  }

  async bindUdp(ip: string, port: number | 'random', opts: BindOptions): Promise<RelaySocket> {
    const family = familyOf(ip);
    const even = opts.evenPort === true || opts.reserveNext === true;
    if (port !== 'random') {
      const socket = await this.tryBindUdp(ip, family, port);
      if (!socket) throw addrInUse(`UDP ${ip}:${port} is in use`);
      return socket;
    }
    for (let i = 0; i < this.attempts; i++) {
      const candidate = this.pick(even, opts.reserveNext === true, `udp|${ip}`);
      if (candidate === undefined) break;
      const socket = await this.tryBindUdp(ip, family, candidate);
      if (!socket) continue;
      if (!opts.reserveNext) return socket;
      // RFC 8656 §7.2 / §14.6: with the R bit the server reserves the next-higher port as well.
      const next = await this.tryBindUdp(ip, family, candidate + 1);
      if (!next) {
        socket.close();
        continue;
      }
      const token = new Uint8Array(randomBytes(8));
      socket.reservationToken = token;
      this.reservations.set(Buffer.from(token).toString('hex'), { socket: next, expiresAt: this.now() + RESERVATION_MS });
      return socket;
    }
    throw addrInUse(`no free UDP relay port on ${ip} in ${this.lo}-${this.hi}`);
  }

  claimReservation(token: Uint8Array, now: number): RelaySocket | undefined {
    const key = Buffer.from(token).toString('hex');
    const reservation = this.reservations.get(key);
    if (!reservation) return undefined;
    this.reservations.delete(key);
    if (reservation.expiresAt <= now) {
      reservation.socket.close();
      return undefined;
    }
    return reservation.socket;
  }

  async listenTcp(ip: string, port: number | 'random'): Promise<RelayTcpListener> {
    const family = familyOf(ip);
    if (port !== 'random') {
      const listener = await this.tryListenTcp(ip, family, port);
      if (!listener) throw addrInUse(`TCP ${ip}:${port} is in use`);
      return listener;
    }
    for (let i = 0; i < this.attempts; i++) {
      const candidate = this.pick(false, false, `tcp|${ip}`);
      if (candidate === undefined) break;
      const listener = await this.tryListenTcp(ip, family, candidate);
      if (listener) return listener;
    }
    throw addrInUse(`no free TCP relay port on ${ip} in ${this.lo}-${this.hi}`);
  }

  connectTcp(localIp: string, peer: PeerEndpoint, timeoutMs: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      // RFC 6062 §5.2 wants the relayed transport address as the local end. Linux refuses to bind a
      // connecting socket to a port a listener holds unless both use SO_REUSEPORT, which Node cannot
      // set on a client socket, so the connection leaves from the relay IP on an ephemeral port.
      const socket = net.connect({
        host: peer.address,
        port: peer.port,
        ...(isWildcard(localIp) ? {} : { localAddress: localIp }),
        allowHalfOpen: true,
      });
      const timer = setTimeout(() => fail(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.pause();
        resolve(socket);
      });
    });
  }

  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const r of this.reservations.values()) if (next === undefined || r.expiresAt < next) next = r.expiresAt;
    return next;
  }

  handleExpiry(now: number): void {
    for (const [key, reservation] of this.reservations) {
      if (reservation.expiresAt <= now) {
        this.reservations.delete(key);
        reservation.socket.close();
      }
    }
  }

  async close(): Promise<void> {
    for (const reservation of this.reservations.values()) reservation.socket.close();
    this.reservations.clear();
  }

  /** A random port not known to be ours (even when asked; with room for port + 1 when reserving). */
  private pick(even: boolean, needNext: boolean, prefix: string): number | undefined {
    const hi = needNext ? this.hi - 1 : this.hi;
    let lo = this.lo;
    if (even && lo % 2 === 1) lo++;
    if (lo > hi) return undefined;
    const step = even ? 2 : 1;
    const count = Math.floor((hi - lo) / step) + 1;
    for (let tries = 0; tries < 8; tries++) {
      const port = lo + step * Math.floor(Math.random() * count);
      if (!this.inUse.has(`${prefix}|${port}`) && !(needNext && this.inUse.has(`${prefix}|${port + 1}`))) return port;
    }
    return lo + step * Math.floor(Math.random() * count);
  }

  private async tryBindUdp(ip: string, family: IpFamily, port: number): Promise<UdpRelaySocket | undefined> {
    const key = `udp|${ip}|${port}`;
    if (this.inUse.has(key)) return undefined;
    let socket: DatagramSocket;
    try {
      socket = await this.datagramSockets.bind({ type: family === 'IPv6' ? 'udp6' : 'udp4', address: ip, port, ipv6Only: family === 'IPv6', recvBufferSize: UDP_BURST_BUFFER_BYTES });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') return undefined;
      throw err;
    }
    this.inUse.add(key);
    return new UdpRelaySocket(socket, family, ip, socket.port, () => this.inUse.delete(key));
  }

  private tryListenTcp(ip: string, family: IpFamily, port: number): Promise<TcpRelayListener | undefined> {
    const key = `tcp|${ip}|${port}`;
    if (this.inUse.has(key)) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
      const onError = (error: NodeJS.ErrnoException) => {
        server.close();
        if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(undefined);
        else reject(error);
      };
      server.once('error', onError);
      server.listen({ host: ip, port, exclusive: true, ipv6Only: family === 'IPv6' }, () => {
        server.off('error', onError);
        this.inUse.add(key);
        const bound = server.address();
        const boundPort = typeof bound === 'object' && bound ? bound.port : port;
        resolve(new TcpRelayListener(server, family, ip, boundPort, () => this.inUse.delete(key)));
      });
    });
  }
}

function familyOf(ip: string): IpFamily {
  const family = ipFamily(ip);
  if (!family) throw new Error(`relay IP "${ip}" is not an IP address`);
  return family;
}
