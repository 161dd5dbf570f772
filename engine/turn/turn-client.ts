/**
 * TURN client (RFC 8656; RFC 6062 TCP allocations): the I/O adapter. It owns the transport to the
 * server (a UDP socket, or a TCP/TLS connection read through StunStreamDecoder), runs the STUN
 * transactions (StunTransaction decides the timing), and arms one timer for the refreshes that
 * RefreshPlan decides. Message contents come from turn-messages.ts, credentials from turn-auth.ts.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { monotonicClock } from '../../io/clock.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import type { Clock } from '../../shared/clock.js';
import { sameIp } from '../../shared/net/address.js';
import { HEADER_LENGTH, StunClass, StunMethod } from '../../shared/stun/constants.js';
import type { StunCrypto } from '../../shared/stun/crypto.js';
import { decodeChannelData, encodeChannelData, isChannelData } from '../../shared/stun/channel-data.js';
import { decodeStun, isStunMessage, newTransactionId, type DecodedStunMessage, type StunMessage, type TransportAddress } from '../../shared/stun/message.js';
import { StunStreamDecoder } from '../../shared/stun/stream.js';
import { formatTransportAddress, resolveHost } from '../stun/stun-client.js';
import { StunTransaction, type TransactionOptions } from '../stun/transaction.js';
import { RefreshPlan, type RefreshItem } from './refresh-plan.js';
import { LongTermCredentials } from './turn-auth.js';
import {
  allocateRequest,
  channelBindRequest,
  connectionBindRequest,
  connectRequest,
  createPermissionRequest,
  describeError,
  isValidChannel,
  methodName,
  parseAllocateSuccess,
  parseConnectionAttempt,
  parseConnectSuccess,
  parseDataIndication,
  parseRefreshSuccess,
  refreshRequest,
  sendIndication,
  type AllocateParams,
} from './turn-messages.js';

export type { TransportAddress } from '../../shared/stun/message.js';

export type TurnErrorKind = 'error-response' | 'auth' | 'timeout' | 'closed' | 'state' | 'protocol';

export class TurnError extends Error {
  override readonly name = 'TurnError';
  constructor(
    readonly kind: TurnErrorKind,
    message: string,
    /** The STUN ERROR-CODE, when the server answered with one. */
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface TurnClientOptions {
  server: { host: string; port: number };
  username: string;
  password: string;
  /** Transport to the server. Default 'udp'. */
  transport?: 'udp' | 'tcp' | 'tls';
  /** TLS options (servername, ca, rejectUnauthorized, ...). */
  tls?: Omit<ConnectionOptions, 'host' | 'port' | 'socket'>;
  /** UDP: a caller-owned, bound socket to run on (not closed by `close()`). */
  socket?: UdpSocket;
  /** UDP: the local IP for the client's own socket (default: any). */
  localIp?: string;
  /** UDP: initial RTO (ms). Default 500. */
  rtoMs?: number;
  /** UDP: Rc (default 7). */
  maxSends?: number;
  /** UDP: Rm (default 16). */
  lastWaitFactor?: number;
  /** TCP/TLS: how long to wait for a response (ms). Default 39500. */
  timeoutMs?: number;
  software?: string;
  /** Refresh the allocation, permissions and channels before they expire. Default true. */
  autoRefresh?: boolean;
  crypto?: StunCrypto;
  /** The monotonic clock for retransmissions and refresh deadlines; default `performance.now()`. */
  clock?: Clock;
}

export interface TurnAllocation {
  relayed: TransportAddress;
  mapped?: TransportAddress;
  /** Seconds granted. */
  lifetime: number;
  /** The relay's transport (REQUESTED-TRANSPORT). */
  transport: 'udp' | 'tcp';
}

export interface TurnClientEvents {
  /** Data from a peer (Data indication, or ChannelData with the channel number). */
  data: [data: Uint8Array, peer: TransportAddress, channel: number | undefined];
  /** RFC 6062: a peer connected to the TCP relayed address; `connectionBind(connectionId)` accepts it. */
  'connection-attempt': [attempt: { connectionId: number; peer: TransportAddress }];
  refreshed: [item: RefreshItem];
  'refresh-failed': [item: RefreshItem, error: Error, gone: boolean];
  /** The transport closed or the client was closed. */
  closed: [error: Error | undefined];
}

interface Pending {
  tx: StunTransaction;
  method: number;
  signed: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (m: DecodedStunMessage) => void;
  reject: (e: Error) => void;
  lastDiscard?: string;
}

const MAX_AUTH_ROUNDS = 4;

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function peerKey(peer: { address: string; port: number }): string {
  return `${peer.address.toLowerCase()}|${peer.port}`;
}

function toTransportAddress(peer: { address: string; port: number; family?: 'IPv4' | 'IPv6' }): TransportAddress {
  return { family: peer.family ?? (isIPv6(peer.address) ? 'IPv6' : 'IPv4'), address: peer.address, port: peer.port };
}

/**
 * Reads exactly one STUN message from a stream, pushing back whatever follows it. Reads in paused
 * mode ('readable' + read()), so that once the listener is gone the stream is neither flowing nor
 * explicitly paused: the caller's first 'data' listener (or pipe) starts it, and bytes the peer
 * sent right behind the response are not lost.
 */
function readOneStunMessage(stream: Socket, timeoutMs: number): Promise<DecodedStunMessage> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new TurnError('timeout', `no response on the data connection after ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | undefined, msg?: DecodedStunMessage): void => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(msg!);
    };
    const onReadable = (): void => {
      for (;;) {
        const chunk = stream.read() as Buffer | null;
        if (chunk === null) break;
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      }
      if (buf.length < HEADER_LENGTH) return;
      if ((buf[0]! & 0xc0) !== 0) {
        finish(new TurnError('protocol', 'the server sent something that is not STUN on the data connection'));
        return;
      }
      const total = HEADER_LENGTH + buf.readUInt16BE(2);
      if (buf.length < total) return;
      const rest = buf.subarray(total);
      let msg: DecodedStunMessage;
      try {
        msg = decodeStun(bytesOf(Buffer.from(buf.subarray(0, total))));
      } catch (err) {
        finish(new TurnError('protocol', `the server sent an undecodable message: ${(err as Error).message}`));
        return;
      }
      finish(undefined, msg);
      if (rest.length > 0) stream.unshift(rest);
    };
    const onClose = (): void => finish(new TurnError('closed', 'the server closed the data connection'));
    const onError = (err: Error): void => finish(new TurnError('closed', `data connection error: ${err.message}`));
    stream.on('readable', onReadable);
    stream.once('close', onClose);
    stream.once('error', onError);
  });
}

export class TurnClient extends EventEmitter<TurnClientEvents> {
  readonly transport: 'udp' | 'tcp' | 'tls';
  private readonly opts: TurnClientOptions;
  private readonly creds: LongTermCredentials;
  private readonly plan = new RefreshPlan();
  private readonly pending = new Map<string, Pending>();
  private readonly channelByPeer = new Map<string, number>();
  private readonly peerByChannel = new Map<number, TransportAddress>();
  private serverIp: string | undefined;
  private udp: UdpSocket | undefined;
  private ownsUdp = false;
  private stream: Socket | undefined;
  private opening: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private allocation: TurnAllocation | undefined;
  private requestedLifetime: number | undefined;
  private closed = false;
  private nextChannel = 0x4000;
  private readonly clock: Clock;
  private readonly onUdpMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (rinfo.port !== this.opts.server.port || !this.serverIp || !sameIp(rinfo.address, this.serverIp)) return;
    this.onDatagram(bytesOf(msg));
  };

  constructor(opts: TurnClientOptions) {
    super();
    this.opts = opts;
    this.clock = opts.clock ?? monotonicClock;
    this.transport = opts.transport ?? 'udp';
    if (opts.socket && this.transport !== 'udp') throw new TurnError('state', 'a UDP socket was given for a TCP/TLS client');
    this.creds = new LongTermCredentials(opts.username, opts.password, opts.crypto ?? nodeStunCrypto);
  }

  /** The current allocation, if any. */
  get current(): TurnAllocation | undefined {
    return this.allocation;
  }

  get relayedAddress(): TransportAddress | undefined {
    return this.allocation?.relayed;
  }

  get mappedAddress(): TransportAddress | undefined {
    return this.allocation?.mapped;
  }

  /** Our end of the transport to the server. */
  get localAddress(): TransportAddress | undefined {
    if (this.udp) {
      const a = this.udp.address();
      return toTransportAddress({ address: a.address, port: a.port });
    }
    if (this.stream?.localAddress) return toTransportAddress({ address: this.stream.localAddress, port: this.stream.localPort ?? 0 });
    return undefined;
  }

  /** The channel bound to `peer`, if any. */
  channelFor(peer: { address: string; port: number }): number | undefined {
    return this.channelByPeer.get(peerKey(peer));
  }

  // ---------------------------------------------------------------------------------------------
  // transport

  private open(): Promise<void> {
    if (this.closed) return Promise.reject(new TurnError('closed', 'the TURN client is closed'));
    this.opening ??= this.doOpen();
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    this.serverIp = await resolveHost(this.opts.server.host);
    if (this.transport === 'udp') {
      let s = this.opts.socket;
      if (!s) {
        s = createSocket(isIPv6(this.serverIp) ? 'udp6' : 'udp4');
        this.ownsUdp = true;
        const sock = s;
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind(0, this.opts.localIp, () => {
            sock.off('error', reject);
            resolve();
          });
        });
        sock.on('error', () => {}); // e.g. ICMP port unreachable: transactions time out on their own
      }
      this.udp = s;
      s.on('message', this.onUdpMessage);
      s.once('close', this.onTransportClose);
      return;
    }
    this.stream = await this.connectStream();
    const decoder = new StunStreamDecoder();
    const stream = this.stream;
    stream.on('data', (chunk: Buffer) => {
      let items;
      try {
        items = decoder.push(bytesOf(chunk));
      } catch (err) {
        stream.destroy(new TurnError('protocol', `the server sent something that is not STUN: ${(err as Error).message}`));
        return;
      }
      for (const item of items) {
        if (item.kind === 'stun') this.onStun(item.bytes);
        else this.onChannelData(item.channel, item.data);
      }
    });
    stream.once('close', () => this.onTransportClose());
    stream.on('error', () => {}); // 'close' follows
  }

  private connectStream(): Promise<Socket> {
    const ip = this.serverIp!;
    const port = this.opts.server.port;
    return new Promise<Socket>((resolve, reject) => {
      const host = this.opts.server.host;
      const s =
        this.transport === 'tls'
          ? tlsConnect({ ...(isIP(host) ? {} : { servername: host }), ...this.opts.tls, host: ip, port })
          : netConnect({ host: ip, port });
      const event = this.transport === 'tls' ? 'secureConnect' : 'connect';
      const onError = (err: Error): void => {
        s.destroy();
        reject(new TurnError('closed', `cannot connect to ${formatTransportAddress({ address: ip, port })}: ${err.message}`));
      };
      s.once('error', onError);
      s.once(event, () => {
        s.off('error', onError);
        s.setNoDelay(true);
        resolve(s);
      });
    });
  }

  private readonly onTransportClose = (): void => {
    if (this.closed) return;
    this.shutdown(new TurnError('closed', 'the connection to the TURN server closed'));
  };

  private writeRaw(bytes: Uint8Array): void {
    if (this.udp) {
      this.udp.send(bytes, this.opts.server.port, this.serverIp!, () => {});
    } else if (this.stream && !this.stream.destroyed) {
      this.stream.write(bytes);
    } else {
      throw new TurnError('closed', 'not connected to the TURN server');
    }
  }

  private onDatagram(bytes: Uint8Array): void {
    if (isChannelData(bytes)) {
      try {
        const cd = decodeChannelData(bytes);
        this.onChannelData(cd.channel, cd.data);
      } catch {
        // RFC 8656 §12.6: malformed ChannelData is discarded
      }
      return;
    }
    if (isStunMessage(bytes)) this.onStun(bytes);
  }

  private onChannelData(channel: number, data: Uint8Array): void {
    const peer = this.peerByChannel.get(channel);
    if (peer) this.emit('data', data, peer, channel);
  }

  private onStun(bytes: Uint8Array): void {
    let m: DecodedStunMessage;
    try {
      m = decodeStun(bytes);
    } catch {
      return; // RFC 8489 §6.3: malformed messages are discarded
    }
    if (m.cls === StunClass.Indication) {
      const data = parseDataIndication(m);
      if (data) {
        this.emit('data', data.data, data.peer, undefined);
        return;
      }
      const attempt = parseConnectionAttempt(m);
      if (attempt) this.emit('connection-attempt', attempt);
      return;
    }
    if (m.cls !== StunClass.SuccessResponse && m.cls !== StunClass.ErrorResponse) return;
    const p = this.pending.get(hex(m.transactionId));
    if (!p || m.method !== p.method) return;
    if (p.signed) {
      // RFC 8489 §9.2.5: a response to a signed request that fails the integrity check is discarded;
      // a success must be signed (an error need not: 401 and 438 usually are not).
      const v = this.creds.verify(m);
      if (v === 'bad' || (v === 'absent' && m.cls === StunClass.SuccessResponse)) {
        p.lastDiscard = v === 'bad' ? 'a response failed the integrity check' : 'a success response carried no integrity';
        return;
      }
    }
    if (!p.tx.onResponse(m, this.clock.now())) return;
    this.finishPending(p);
    p.resolve(m);
  }

  private finishPending(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    this.pending.delete(hex(p.tx.transactionId));
  }

  // ---------------------------------------------------------------------------------------------
  // transactions

  /** One transaction: resolves with the response (success or error). */
  private transact(message: StunMessage): Promise<DecodedStunMessage> {
    const signed = this.creds.ready;
    const bytes = this.creds.encode(message, this.transport === 'udp');
    const txOpts: TransactionOptions = { reliable: this.transport !== 'udp' };
    if (this.opts.rtoMs !== undefined) txOpts.rtoMs = this.opts.rtoMs;
    if (this.opts.maxSends !== undefined) txOpts.maxSends = this.opts.maxSends;
    if (this.opts.lastWaitFactor !== undefined) txOpts.lastWaitFactor = this.opts.lastWaitFactor;
    if (this.opts.timeoutMs !== undefined) txOpts.timeoutMs = this.opts.timeoutMs;
    const tx = new StunTransaction(bytes, this.clock.now(), txOpts);
    return new Promise<DecodedStunMessage>((resolve, reject) => {
      const p: Pending = { tx, method: message.method, signed, timer: undefined, resolve, reject };
      this.pending.set(hex(tx.transactionId), p);
      const tick = (): void => {
        p.timer = undefined;
        const r = tx.poll(this.clock.now());
        if (r.send) {
          try {
            this.writeRaw(r.send);
          } catch (err) {
            this.finishPending(p);
            tx.cancel();
            reject(err);
            return;
          }
        }
        if (r.timedOut) {
          this.finishPending(p);
          const why = p.lastDiscard ? ` (${p.lastDiscard})` : '';
          reject(new TurnError('timeout', `${methodName(message.method)}: no response from ${this.serverText()} after ${tx.sendCount} request(s)${why}`));
          return;
        }
        if (Number.isFinite(r.nextAt)) p.timer = setTimeout(tick, Math.max(1, Math.ceil(r.nextAt - this.clock.now())));
      };
      tick();
    });
  }

  private serverText(): string {
    return formatTransportAddress({ address: this.opts.server.host, port: this.opts.server.port });
  }

  /**
   * A request with the long-term credential dance: answers 401 and 438 by retrying with the new
   * REALM/NONCE. Resolves with the success response; rejects with TurnError otherwise.
   */
  private async request(build: (transactionId: Uint8Array) => StunMessage): Promise<DecodedStunMessage> {
    await this.open();
    for (let round = 0; round < MAX_AUTH_ROUNDS; round++) {
      const message = build(newTransactionId(randomBytes));
      const signed = this.creds.ready;
      const response = await this.transact(message);
      if (response.cls === StunClass.SuccessResponse) return response;
      const { code, reason } = describeError(response);
      if (code === 401 || code === 438) {
        const verdict = this.creds.challenge(response, signed);
        if (verdict.retry) continue;
        throw new TurnError('auth', `${methodName(message.method)}: ${verdict.reason}`, code);
      }
      throw new TurnError('error-response', `${methodName(message.method)} failed: ${code}${reason ? ` ${reason}` : ''}`, code);
    }
    throw new TurnError('auth', `gave up after ${MAX_AUTH_ROUNDS} authentication rounds`);
  }

  // ---------------------------------------------------------------------------------------------
  // TURN operations

  /** RFC 8656 §7: creates the allocation (answers the 401 challenge and 438 on its own). */
  async allocate(params: { transport?: 'udp' | 'tcp'; lifetime?: number; dontFragment?: boolean } = {}): Promise<TurnAllocation> {
    if (this.allocation) throw new TurnError('state', 'already allocated');
    const relay = params.transport ?? 'udp';
    if (relay === 'tcp' && this.transport === 'udp') {
      throw new TurnError('state', 'RFC 6062 TCP allocations need a TCP or TLS connection to the server');
    }
    const p: AllocateParams = { transport: relay };
    if (params.lifetime !== undefined) p.lifetime = params.lifetime;
    if (params.dontFragment) p.dontFragment = true;
    if (this.opts.software) p.software = this.opts.software;
    this.requestedLifetime = params.lifetime;
    const response = await this.request((txid) => allocateRequest(txid, p));
    const r = parseAllocateSuccess(response);
    const allocation: TurnAllocation = { relayed: r.relayed, lifetime: r.lifetime, transport: relay };
    if (r.mapped) allocation.mapped = r.mapped;
    this.allocation = allocation;
    this.plan.setAllocation(this.clock.now(), r.lifetime);
    this.armRefresh();
    return allocation;
  }

  private requireAllocation(what: string): void {
    if (this.closed) throw new TurnError('closed', `${what}: the TURN client is closed`);
    if (!this.allocation) throw new TurnError('state', `${what}: no allocation`);
  }

  /** RFC 8656 §8: Refresh; returns the lifetime granted (seconds). `0` deletes the allocation. */
  async refresh(lifetime?: number): Promise<number> {
    this.requireAllocation('refresh');
    const response = await this.request((txid) => refreshRequest(txid, lifetime));
    const granted = lifetime === 0 ? 0 : parseRefreshSuccess(response);
    if (lifetime !== undefined && lifetime !== 0) this.requestedLifetime = lifetime;
    if (granted === 0) {
      this.allocation = undefined;
      this.plan.clear();
    } else {
      this.allocation!.lifetime = granted;
      this.plan.setAllocation(this.clock.now(), granted);
    }
    this.armRefresh();
    return granted;
  }

  /** RFC 8656 §9: installs (or refreshes) permissions for the peers' IP addresses. */
  async createPermission(peerIp: string | string[]): Promise<void> {
    this.requireAllocation('createPermission');
    const ips = Array.isArray(peerIp) ? peerIp : [peerIp];
    await this.request((txid) => createPermissionRequest(txid, ips));
    const t = this.clock.now();
    for (const ip of ips) this.plan.setPermission(ip, t);
    this.armRefresh();
  }

  /**
   * RFC 8656 §12: binds a channel to `peer` (also installing its permission); returns the channel
   * number. Later `send`s to the peer use ChannelData.
   */
  async channelBind(peer: { address: string; port: number; family?: 'IPv4' | 'IPv6' }, channel?: number): Promise<number> {
    this.requireAllocation('channelBind');
    const address = toTransportAddress(peer);
    const existing = this.channelByPeer.get(peerKey(address));
    const number = channel ?? existing ?? this.pickChannel();
    if (!isValidChannel(number)) throw new TurnError('state', `channel 0x${number.toString(16)} is outside 0x4000-0x4FFF`);
    const other = this.peerByChannel.get(number);
    if (other && peerKey(other) !== peerKey(address)) throw new TurnError('state', `channel 0x${number.toString(16)} is bound to another peer`);
    if (existing !== undefined && existing !== number) throw new TurnError('state', `the peer is already bound to channel 0x${existing.toString(16)}`);
    await this.request((txid) => channelBindRequest(txid, number, address));
    this.channelByPeer.set(peerKey(address), number);
    this.peerByChannel.set(number, address);
    this.plan.setChannel(number, address, this.clock.now());
    this.armRefresh();
    return number;
  }

  private pickChannel(): number {
    for (let i = 0; i <= 0x0fff; i++) {
      const c = 0x4000 + ((this.nextChannel - 0x4000 + i) % 0x1000);
      if (!this.peerByChannel.has(c)) {
        this.nextChannel = c + 1 > 0x4fff ? 0x4000 : c + 1;
        return c;
      }
    }
    throw new TurnError('state', 'all 4096 channels are in use');
  }

  /**
   * Sends `data` to `peer` through the relay: ChannelData when a channel is bound to the peer, a
   * Send indication otherwise (RFC 8656 §11, §12). The server drops it without a permission.
   */
  send(peer: { address: string; port: number; family?: 'IPv4' | 'IPv6' }, data: Uint8Array): void {
    this.requireAllocation('send');
    const channel = this.channelByPeer.get(peerKey(peer));
    if (channel !== undefined) {
      this.writeRaw(encodeChannelData(channel, data, this.transport !== 'udp'));
      return;
    }
    this.writeRaw(sendIndication(newTransactionId(randomBytes), toTransportAddress(peer), data));
  }

  /** RFC 6062 §4.3: asks the server to open a TCP connection to `peer`; returns its CONNECTION-ID. */
  async connect(peer: { address: string; port: number; family?: 'IPv4' | 'IPv6' }): Promise<number> {
    this.requireAllocation('connect');
    if (this.allocation!.transport !== 'tcp') throw new TurnError('state', 'connect needs a TCP allocation (allocate({ transport: "tcp" }))');
    const response = await this.request((txid) => connectRequest(txid, toTransportAddress(peer)));
    return parseConnectSuccess(response);
  }

  /**
   * RFC 6062 §4.4: opens a new connection to the server, binds it to `connectionId` and returns it
   * as a plain socket to the peer (the STUN exchange is over; what follows is the peer's bytes, and
   * any that arrived with the response are kept for the first 'data' listener or pipe). The socket
   * is the caller's from then on, 'error' handling included.
   */
  async connectionBind(connectionId: number): Promise<Socket> {
    this.requireAllocation('connectionBind');
    if (this.transport === 'udp') throw new TurnError('state', 'connectionBind needs a TCP or TLS client');
    for (let round = 0; round < MAX_AUTH_ROUNDS; round++) {
      const txid = newTransactionId(randomBytes);
      const signed = this.creds.ready;
      const bytes = this.creds.encode(connectionBindRequest(txid, connectionId));
      const data = await this.connectStream();
      let response: DecodedStunMessage;
      try {
        data.write(bytes);
        response = await readOneStunMessage(data, this.opts.timeoutMs ?? 39_500);
      } catch (err) {
        data.destroy();
        throw err;
      }
      if (response.method === StunMethod.ConnectionBind && response.cls === StunClass.SuccessResponse && Buffer.from(response.transactionId).equals(Buffer.from(txid))) {
        if (signed && this.creds.verify(response) === 'bad') {
          data.destroy();
          throw new TurnError('protocol', 'ConnectionBind: the response failed the integrity check');
        }
        return data;
      }
      data.destroy();
      const { code, reason } = describeError(response);
      if (response.cls === StunClass.ErrorResponse && (code === 401 || code === 438)) {
        const verdict = this.creds.challenge(response, signed);
        if (verdict.retry) continue;
        throw new TurnError('auth', `ConnectionBind: ${verdict.reason}`, code);
      }
      throw new TurnError('error-response', `ConnectionBind failed: ${code}${reason ? ` ${reason}` : ''}`, code);
    }
    throw new TurnError('auth', `gave up after ${MAX_AUTH_ROUNDS} authentication rounds`);
  }

  // ---------------------------------------------------------------------------------------------
  // automatic refresh

  private armRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.closed || this.opts.autoRefresh === false) return;
    const at = this.plan.nextAt();
    if (!Number.isFinite(at)) return;
    this.refreshTimer = setTimeout(() => this.runRefreshes(), Math.max(1, Math.ceil(at - this.clock.now())));
    this.refreshTimer.unref();
  }

  private runRefreshes(): void {
    this.refreshTimer = undefined;
    if (this.closed) return;
    for (const item of this.plan.due(this.clock.now())) void this.refreshItem(item);
    this.armRefresh();
  }

  private async refreshItem(item: RefreshItem): Promise<void> {
    try {
      let lifetime: number | undefined;
      switch (item.kind) {
        case 'allocation': {
          const r = await this.request((txid) => refreshRequest(txid, this.requestedLifetime));
          lifetime = parseRefreshSuccess(r);
          if (this.allocation) this.allocation.lifetime = lifetime;
          break;
        }
        case 'permission':
          await this.request((txid) => createPermissionRequest(txid, [item.ip]));
          break;
        case 'channel':
          await this.request((txid) => channelBindRequest(txid, item.channel, item.peer));
          break;
      }
      if (this.closed) return;
      this.plan.succeeded(item, this.clock.now(), lifetime);
      this.emit('refreshed', item);
    } catch (err) {
      if (this.closed) return;
      const gone = this.plan.failed(item, this.clock.now());
      if (gone && item.kind === 'channel') {
        this.peerByChannel.delete(item.channel);
        this.channelByPeer.delete(peerKey(item.peer));
      }
      // 437 Allocation Mismatch: the allocation is gone on the server
      if (item.kind === 'allocation' && (gone || (err instanceof TurnError && err.code === 437))) {
        this.allocation = undefined;
        this.plan.clear();
      }
      this.emit('refresh-failed', item, err as Error, gone);
    }
    this.armRefresh();
  }

  // ---------------------------------------------------------------------------------------------
  // shutdown

  /** Deletes the allocation (Refresh with LIFETIME 0) and closes the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.allocation) {
      try {
        await this.refresh(0);
      } catch {
        // the allocation expires on its own
      }
    }
    this.shutdown(undefined);
  }

  private shutdown(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.plan.clear();
    this.allocation = undefined;
    for (const p of [...this.pending.values()]) {
      this.finishPending(p);
      p.tx.cancel();
      p.reject(error ?? new TurnError('closed', 'the TURN client was closed'));
    }
    if (this.udp) {
      this.udp.off('message', this.onUdpMessage);
      this.udp.off('close', this.onTransportClose);
      if (this.ownsUdp) {
        try {
          this.udp.close();
        } catch {
          // already closed
        }
      }
    }
    this.stream?.destroy();
    this.emit('closed', error);
  }
}

