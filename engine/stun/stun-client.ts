/**
 * STUN Binding client: the I/O adapter around StunTransaction (RFC 8489 §6.2) for UDP, TCP and TLS.
 *
 * The UDP variant runs on a socket the caller owns and has already bound (the hole puncher reuses
 * the same socket, and so the same NAT mapping, afterwards). It adds its own 'message' listener,
 * takes only the STUN responses whose transaction id is its own, and removes the listener when done:
 * every other datagram stays the caller's business.
 */
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket, RemoteInfo } from 'node:dgram';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect as netConnect, isIP, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { monotonicClock } from '../../io/clock.js';
import type { Clock } from '../../shared/clock.js';
import { formatHostPort } from '../../shared/net/address.js';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import {
  decodeStun,
  encodeStun,
  getAttribute,
  isStunMessage,
  newTransactionId,
  type DecodedStunMessage,
  type StunAttribute,
  type TransportAddress,
} from '../../shared/stun/message.js';
import { StunStreamDecoder } from '../../shared/stun/stream.js';
import { StunTransaction, type TransactionOptions } from './transaction.js';

export type { TransportAddress } from '../../shared/stun/message.js';

export interface StunServerAddress {
  host: string;
  port: number;
}

export type StunClientErrorCode = 'timeout' | 'error-response' | 'aborted' | 'closed' | 'bad-response' | 'send-failed';

/** Why a STUN transaction failed. `errorCode`/`reason` carry an ERROR-CODE from an error response. */
export class StunClientError extends Error {
  override readonly name = 'StunClientError';
  constructor(
    readonly code: StunClientErrorCode,
    message: string,
    readonly errorCode?: number,
    readonly reason?: string,
    readonly response?: DecodedStunMessage,
  ) {
    super(message);
  }
}

export interface StunBindingOptions {
  /** RFC 5780 CHANGE-REQUEST: ask the server to answer from its alternate IP. */
  changeIp?: boolean;
  /** RFC 5780 CHANGE-REQUEST: ask the server to answer from its alternate port. */
  changePort?: boolean;
  /** RFC 5780 RESPONSE-PORT: ask the server to send the response to this port (of our mapped IP). */
  responsePort?: number;
  /** Initial retransmission timeout (ms). Default 500. */
  rtoMs?: number;
  /** Rc, total sends (default 7). */
  maxSends?: number;
  /** Rm, wait after the last send in RTOs (default 16). */
  lastWaitFactor?: number;
  signal?: AbortSignal;
  /**
   * Listen for the response on these sockets instead of only the sending one (RFC 5780 §4.6
   * binding lifetime probes: sent from Y with RESPONSE-PORT = X's mapped port, answered to X).
   */
  receiveSockets?: UdpSocket[];
  /** SOFTWARE attribute to include in the request. */
  software?: string;
  /** The monotonic clock the retransmission schedule runs on; default `performance.now()`. */
  clock?: Clock;
}

export interface StunBindingResult {
  /** XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from an RFC 3489-era server). */
  mapped: TransportAddress;
  /** RFC 5780 RESPONSE-ORIGIN: the address the server says it answered from. */
  responseOrigin?: TransportAddress;
  /** RFC 5780 OTHER-ADDRESS: the server's alternate address. */
  otherAddress?: TransportAddress;
  rttMs: number;
  software?: string;
  /** The address the request was sent to (resolved). */
  server: TransportAddress;
  /** Where the response actually came from (the UDP source; the peer for TCP/TLS). */
  source: TransportAddress;
  /** UDP: the socket the response arrived on (see `receiveSockets`). */
  receivedOn?: UdpSocket;
}

export interface StunStreamBindingResult extends StunBindingResult {
  /** Our end of the TCP/TLS connection. */
  localAddress: TransportAddress;
}

export function transportAddress(address: string, port: number): TransportAddress {
  return { family: isIPv6(address) ? 'IPv6' : 'IPv4', address, port };
}

export function formatTransportAddress(a: { address: string; port: number }): string {
  return formatHostPort(a.address, a.port);
}

/** Resolves `host` to one IP address, of the given family when one is given. */
export async function resolveHost(host: string, family?: 4 | 6): Promise<string> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) return bare;
  const r = family ? await lookup(bare, { family }) : await lookup(bare);
  return r.address;
}

/**
 * The local IP address the system would use to reach `host:port` (a connected UDP socket's local
 * address; nothing is sent).
 */
export async function localAddressToward(host: string, port: number): Promise<string> {
  const ip = await resolveHost(host);
  const s = createSocket(isIPv6(ip) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(port, ip, () => {
        s.off('error', reject);
        resolve();
      });
    });
    return s.address().address;
  } finally {
    s.close();
  }
}

/** A Binding request with the given options' attributes; returns the bytes. */
export function buildBindingRequest(transactionId: Uint8Array, opts: Pick<StunBindingOptions, 'changeIp' | 'changePort' | 'responsePort' | 'software'> = {}): Uint8Array {
  const attributes: StunAttribute[] = [];
  if (opts.software) attributes.push({ type: 'SOFTWARE', value: opts.software });
  if (opts.changeIp || opts.changePort) attributes.push({ type: 'CHANGE-REQUEST', changeIp: !!opts.changeIp, changePort: !!opts.changePort });
  if (opts.responsePort !== undefined) attributes.push({ type: 'RESPONSE-PORT', port: opts.responsePort });
  return encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, transactionId, attributes }, { fingerprint: true });
}

/**
 * Reads a Binding response: the mapped address and the RFC 5780 extras. Throws StunClientError
 * for an error response or a success without a mapped address.
 */
export function parseBindingResponse(
  response: DecodedStunMessage,
  rttMs: number,
  server: TransportAddress,
  source: TransportAddress,
): StunBindingResult {
  if (response.method !== StunMethod.Binding) throw new StunClientError('bad-response', `response method 0x${response.method.toString(16)} is not Binding`);
  if (response.cls === StunClass.ErrorResponse) {
    const e = getAttribute(response, 'ERROR-CODE');
    const code = e?.code ?? 0;
    throw new StunClientError('error-response', `STUN error ${code}${e?.reason ? ` ${e.reason}` : ''}`, code, e?.reason, response);
  }
  if (response.cls !== StunClass.SuccessResponse) throw new StunClientError('bad-response', 'not a response');
  const mapped = getAttribute(response, 'XOR-MAPPED-ADDRESS')?.address ?? getAttribute(response, 'MAPPED-ADDRESS')?.address;
  if (!mapped) throw new StunClientError('bad-response', 'the Binding response has no (XOR-)MAPPED-ADDRESS');
  const result: StunBindingResult = { mapped, rttMs, server, source };
  const origin = getAttribute(response, 'RESPONSE-ORIGIN')?.address;
  if (origin) result.responseOrigin = origin;
  const other = getAttribute(response, 'OTHER-ADDRESS')?.address;
  if (other) result.otherAddress = other;
  const software = getAttribute(response, 'SOFTWARE')?.value;
  if (software !== undefined) result.software = software;
  return result;
}

function abortError(signal: AbortSignal): StunClientError {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof Error && reason.name === 'TimeoutError';
  return new StunClientError(timeout ? 'timeout' : 'aborted', timeout ? 'timed out' : 'aborted');
}

function toBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface UdpTransactionResult {
  response: DecodedStunMessage;
  from: RemoteInfo;
  rttMs: number;
  /** The socket the response arrived on. */
  receivedOn: UdpSocket;
}

/**
 * Runs one STUN transaction over UDP: sends `request` from `socket` to `dest` with the RFC 8489
 * retransmission schedule and resolves with the first STUN message carrying the same transaction
 * id (from any source: RFC 5780 answers come from the alternate address). Everything else on the
 * socket is left alone.
 */
export function udpTransaction(
  socket: UdpSocket,
  dest: { address: string; port: number },
  request: Uint8Array,
  opts: TransactionOptions & { signal?: AbortSignal; receiveSockets?: UdpSocket[]; clock?: Clock } = {},
): Promise<UdpTransactionResult> {
  const clock = opts.clock ?? monotonicClock;
  const now = (): number => clock.now();
  const tx = new StunTransaction(request, now(), opts);
  const receivers = opts.receiveSockets && opts.receiveSockets.length > 0 ? [...new Set(opts.receiveSockets)] : [socket];
  const closeWatch = [...new Set([socket, ...receivers])];
  const signal = opts.signal;
  return new Promise<UdpTransactionResult>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const listeners: Array<[UdpSocket, (msg: Buffer, rinfo: RemoteInfo) => void]> = [];
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const [rx, listener] of listeners) rx.off('message', listener);
      for (const s of closeWatch) s.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      tx.cancel();
      cleanup();
      reject(err);
    };
    const onMessage = (rx: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void => {
      const bytes = toBytes(msg);
      if (!isStunMessage(bytes) || !tx.matches(bytes.subarray(8, 20))) return;
      let decoded: DecodedStunMessage;
      try {
        decoded = decodeStun(bytes);
      } catch {
        return; // RFC 8489 §6.3: malformed messages are discarded
      }
      if (decoded.cls !== StunClass.SuccessResponse && decoded.cls !== StunClass.ErrorResponse) return;
      if (!tx.onResponse(decoded, now())) return;
      cleanup();
      resolve({ response: decoded, from: rinfo, rttMs: tx.rttMs ?? 0, receivedOn: rx });
    };
    const onClose = (): void => fail(new StunClientError('closed', 'the socket was closed'));
    const onAbort = (): void => fail(abortError(signal!));
    const tick = (): void => {
      timer = undefined;
      const p = tx.poll(now());
      if (p.send) {
        try {
          socket.send(p.send, dest.port, dest.address, (err) => {
            if (err && tx.state === 'pending') fail(new StunClientError('send-failed', `send to ${formatTransportAddress(dest)} failed: ${err.message}`));
          });
        } catch (err) {
          fail(new StunClientError('send-failed', `send to ${formatTransportAddress(dest)} failed: ${(err as Error).message}`));
          return;
        }
      }
      if (p.timedOut) {
        fail(new StunClientError('timeout', `no response from ${formatTransportAddress(dest)} after ${tx.sendCount} requests`));
        return;
      }
      if (tx.state === 'pending' && Number.isFinite(p.nextAt)) timer = setTimeout(tick, Math.max(1, Math.ceil(p.nextAt - now())));
    };
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    for (const rx of receivers) {
      const listener = (msg: Buffer, rinfo: RemoteInfo): void => onMessage(rx, msg, rinfo);
      listeners.push([rx, listener]);
      rx.on('message', listener);
    }
    for (const s of closeWatch) s.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    tick();
  });
}

/**
 * RFC 8489 Binding over UDP on a caller-owned, bound socket. Rejects with StunClientError
 * ('timeout' after the RFC schedule, 'error-response', 'aborted', 'closed').
 */
export async function stunBinding(socket: UdpSocket, server: StunServerAddress, opts: StunBindingOptions = {}): Promise<StunBindingResult> {
  const family = socket.address().family === 'IPv6' ? undefined : 4;
  const ip = await resolveHost(server.host, family);
  const request = buildBindingRequest(newTransactionId(randomBytes), opts);
  const txOpts: TransactionOptions & { signal?: AbortSignal; receiveSockets?: UdpSocket[]; clock?: Clock } = {};
  if (opts.rtoMs !== undefined) txOpts.rtoMs = opts.rtoMs;
  if (opts.maxSends !== undefined) txOpts.maxSends = opts.maxSends;
  if (opts.lastWaitFactor !== undefined) txOpts.lastWaitFactor = opts.lastWaitFactor;
  if (opts.signal) txOpts.signal = opts.signal;
  if (opts.receiveSockets) txOpts.receiveSockets = opts.receiveSockets;
  if (opts.clock) txOpts.clock = opts.clock;
  const { response, from, rttMs, receivedOn } = await udpTransaction(socket, { address: ip, port: server.port }, request, txOpts);
  const result = parseBindingResponse(response, rttMs, transportAddress(ip, server.port), transportAddress(from.address, from.port));
  result.receivedOn = receivedOn;
  return result;
}

export interface StunStreamOptions {
  /** How long to wait for the response (ms). Default 39500 (RFC 8489 §6.2.2). */
  timeoutMs?: number;
  signal?: AbortSignal;
  software?: string;
}

export interface StunTlsOptions extends StunStreamOptions {
  /** TLS options (servername, ca, rejectUnauthorized, ...); host and port come from the arguments. */
  tls?: Omit<ConnectionOptions, 'host' | 'port' | 'socket'>;
}

/** Opens a TCP connection, resolving once connected (or rejecting on error / abort). */
function openStream(open: () => Socket, connectEvent: 'connect' | 'secureConnect', signal?: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const s = open();
    const onError = (err: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      s.destroy();
      reject(new StunClientError('send-failed', `connection failed: ${err.message}`));
    };
    const onAbort = (): void => {
      s.off('error', onError);
      s.destroy();
      reject(abortError(signal!));
    };
    s.once('error', onError);
    s.once(connectEvent, () => {
      s.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolve(s);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One STUN transaction over a connected stream: no retransmission, a single timeout (RFC 8489
 * §6.2.2). Messages with other transaction ids and ChannelData are ignored. The stream is left open.
 */
export function streamTransaction(
  stream: Socket,
  request: Uint8Array,
  opts: { timeoutMs?: number; signal?: AbortSignal; decoder?: StunStreamDecoder; clock?: Clock } = {},
): Promise<{ response: DecodedStunMessage; rttMs: number }> {
  const clock = opts.clock ?? monotonicClock;
  const now = (): number => clock.now();
  const txOpts: TransactionOptions = { reliable: true };
  if (opts.timeoutMs !== undefined) txOpts.timeoutMs = opts.timeoutMs;
  const tx = new StunTransaction(request, now(), txOpts);
  const decoder = opts.decoder ?? new StunStreamDecoder();
  const signal = opts.signal;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      tx.cancel();
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      let items;
      try {
        items = decoder.push(toBytes(chunk));
      } catch (err) {
        fail(new StunClientError('bad-response', `the server sent something that is not STUN: ${(err as Error).message}`));
        return;
      }
      for (const item of items) {
        if (item.kind !== 'stun') continue;
        let decoded: DecodedStunMessage;
        try {
          decoded = decodeStun(item.bytes);
        } catch {
          continue;
        }
        if (decoded.cls !== StunClass.SuccessResponse && decoded.cls !== StunClass.ErrorResponse) continue;
        if (!tx.onResponse(decoded, now())) continue;
        cleanup();
        resolve({ response: decoded, rttMs: tx.rttMs ?? 0 });
        return;
      }
    };
    const onClose = (): void => fail(new StunClientError('closed', 'the server closed the connection'));
    const onError = (err: Error): void => fail(new StunClientError('closed', `connection error: ${err.message}`));
    const onAbort = (): void => fail(abortError(signal!));
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    stream.on('data', onData);
    stream.once('close', onClose);
    stream.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    const tick = (): void => {
      timer = undefined;
      const p = tx.poll(now());
      if (p.send) stream.write(p.send);
      if (p.timedOut) {
        fail(new StunClientError('timeout', `no response after ${tx.timeoutMs} ms`));
        return;
      }
      // (a timer may fire a little early: poll again until the transaction says it is over)
      if (tx.state === 'pending' && Number.isFinite(p.nextAt)) timer = setTimeout(tick, Math.max(1, Math.ceil(p.nextAt - now())));
    };
    tick();
  });
}

async function bindingOverStream(stream: Socket, opts: StunStreamOptions): Promise<StunStreamBindingResult> {
  const request = buildBindingRequest(newTransactionId(randomBytes), opts);
  const txOpts: { timeoutMs?: number; signal?: AbortSignal } = {};
  if (opts.timeoutMs !== undefined) txOpts.timeoutMs = opts.timeoutMs;
  if (opts.signal) txOpts.signal = opts.signal;
  const { response, rttMs } = await streamTransaction(stream, request, txOpts);
  const remote = transportAddress(stream.remoteAddress ?? '', stream.remotePort ?? 0);
  const result = parseBindingResponse(response, rttMs, remote, remote);
  return { ...result, localAddress: transportAddress(stream.localAddress ?? '', stream.localPort ?? 0) };
}

/** RFC 8489 Binding over TCP (its own connection, closed afterwards). */
export async function stunBindingTcp(host: string, port: number, opts: StunStreamOptions = {}): Promise<StunStreamBindingResult> {
  const ip = await resolveHost(host);
  const stream = await openStream(() => netConnect({ host: ip, port }), 'connect', opts.signal);
  stream.setNoDelay(true);
  try {
    return await bindingOverStream(stream, opts);
  } finally {
    stream.destroy();
  }
}

/** RFC 8489 Binding over TLS (RFC 8489 §6.2.3; its own connection, closed afterwards). */
export async function stunBindingTls(host: string, port: number, opts: StunTlsOptions = {}): Promise<StunStreamBindingResult> {
  const ip = await resolveHost(host);
  const servername = isIP(host) ? undefined : host;
  const stream = await openStream(
    () => tlsConnect({ ...(servername ? { servername } : {}), ...opts.tls, host: ip, port }),
    'secureConnect',
    opts.signal,
  );
  try {
    return await bindingOverStream(stream, opts);
  } finally {
    stream.destroy();
  }
}
