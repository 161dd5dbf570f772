/**
 * Test support for the TURN core (used by the *.test.ts files next to it): a fake ClientTransport
 * that records what the server sends, a relay factory that records what goes through the relay
 * sockets (and can hand them a peer datagram synchronously), and a minimal TURN client that builds
 * authenticated requests with the codec. No test-framework imports, so it compiles with the rest.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { longTermKey, userHash } from '../../shared/stun/crypto.js';
import {
  decodeChannelData,
  decodeStun,
  encodeStun,
  getAttribute,
  isChannelData,
  type DecodedStunMessage,
  type StunAttribute,
  type TransportAddress,
} from '../../shared/stun/message.js';
import type { ClientProtocol, ClientTransport, TurnHandler } from '../stun/client-transport.js';
import type { BindOptions, PeerEndpoint, RelayFactory, RelaySocket, RelayTcpListener } from './relay-factory.js';

export class FakeClient implements ClientTransport {
  readonly sent: Uint8Array[] = [];
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  pendingBytes = 0;
  closed = false;
  takeOver?: () => Socket;

  constructor(
    readonly protocol: ClientProtocol = 'udp',
    remote: { address: string; port: number } = { address: '127.0.0.1', port: 40_000 },
    socket?: Socket,
  ) {
    this.remote = { family: remote.address.includes(':') ? 'IPv6' : 'IPv4', ...remote };
    this.local = { family: this.remote.family, address: this.remote.family === 'IPv4' ? '127.0.0.1' : '::1', port: 3478 };
    if (socket) this.takeOver = () => socket;
  }

  get key(): string {
    return `${this.protocol}|${this.remote.address}|${this.remote.port}|${this.local.address}|${this.local.port}`;
  }

  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }

  close(): void {
    this.closed = true;
  }

  /** STUN messages sent so far. */
  stun(): DecodedStunMessage[] {
    return this.sent.filter((b) => !isChannelData(b)).map((b) => decodeStun(b));
  }

  /** ChannelData messages sent so far. */
  channelData(): Array<{ channel: number; data: Uint8Array; bytes: Uint8Array }> {
    return this.sent.filter((b) => isChannelData(b)).map((b) => ({ ...decodeChannelData(b), bytes: b }));
  }

  /** The response to a transaction, if sent. */
  responseTo(transactionId: Uint8Array): DecodedStunMessage | undefined {
    return this.stun().find((m) => (m.cls === StunClass.SuccessResponse || m.cls === StunClass.ErrorResponse) && same(m.transactionId, transactionId));
  }
}

export function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function errorCode(m: DecodedStunMessage | undefined): number | undefined {
  return m ? getAttribute(m, 'ERROR-CODE')?.code : undefined;
}

/** Waits until `check` returns something (polling), or throws after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | false, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Credentials {
  username: string;
  password: string;
  realm: string;
}

export interface BuildOptions {
  cls?: StunClass;
  transactionId?: Uint8Array;
  /** Sign with these credentials (long-term), using `nonce`. */
  auth?: {
    credentials: Credentials;
    nonce: string;
    integrity?: 'sha1' | 'sha256' | 'both';
    passwordAlgorithm?: 'md5' | 'sha256';
    /** The PASSWORD-ALGORITHMS list to echo (with passwordAlgorithm); default the server's. */
    passwordAlgorithms?: Array<{ algorithm: number; params: Uint8Array }>;
    useUserhash?: boolean;
    /** Key to sign with instead of the right one (wrong password tests). */
    wrongPassword?: string;
  };
  fingerprint?: boolean;
}

/** Encodes then decodes a message, so `raw` and the integrity offsets are real. */
export function build(method: number, attributes: StunAttribute[], options: BuildOptions = {}): DecodedStunMessage {
  const transactionId = options.transactionId ?? new Uint8Array(randomBytes(12));
  const attrs = [...attributes];
  let integrity: { key: Uint8Array; algorithm: 'sha1' | 'sha256' | 'both' } | undefined;
  const auth = options.auth;
  if (auth) {
    const { credentials: c } = auth;
    if (auth.useUserhash) attrs.push({ type: 'USERHASH', hash: userHash(nodeStunCrypto, c.username, c.realm) });
    else attrs.push({ type: 'USERNAME', value: c.username });
    attrs.push({ type: 'REALM', value: c.realm }, { type: 'NONCE', value: auth.nonce });
    if (auth.passwordAlgorithm) {
      attrs.push({ type: 'PASSWORD-ALGORITHM', algorithm: auth.passwordAlgorithm === 'sha256' ? 2 : 1, params: new Uint8Array(0) });
      attrs.push({
        type: 'PASSWORD-ALGORITHMS',
        algorithms: auth.passwordAlgorithms ?? [
          { algorithm: 2, params: new Uint8Array(0) },
          { algorithm: 1, params: new Uint8Array(0) },
        ],
      });
    }
    const key = longTermKey(nodeStunCrypto, c.username, c.realm, auth.wrongPassword ?? c.password, auth.passwordAlgorithm ?? 'md5');
    integrity = { key, algorithm: auth.integrity ?? 'sha1' };
  }
  const bytes = encodeStun(
    { method, cls: options.cls ?? StunClass.Request, transactionId, attributes: attrs },
    { ...(integrity ? { integrity } : {}), fingerprint: options.fingerprint ?? true, crypto: nodeStunCrypto },
  );
  return decodeStun(bytes);
}

/**
 * A small TURN client driving a TurnHandler through a FakeClient: learns the nonce from a 401,
 * retries 438s, and signs every request.
 */
export class TestTurnClient {
  nonce: string | undefined;

  constructor(
    readonly server: TurnHandler,
    readonly transport: FakeClient,
    readonly credentials: Credentials,
    readonly options: Partial<NonNullable<BuildOptions['auth']>> = {},
  ) {}

  /** Sends a request (after a 401 round trip when no nonce is known yet) and waits for its answer. */
  async request(method: number, attributes: StunAttribute[]): Promise<DecodedStunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.nonce === undefined) {
        const probe = build(method, attributes);
        this.server.handleMessage(probe, this.transport);
        const challenge = await until(() => this.transport.responseTo(probe.transactionId), 3000, '401');
        if (errorCode(challenge) !== 401) return challenge;
        this.nonce = getAttribute(challenge, 'NONCE')!.value;
      }
      const signed = build(method, attributes, { auth: { credentials: this.credentials, nonce: this.nonce, ...this.options } });
      this.server.handleMessage(signed, this.transport);
      const answer = await until(() => this.transport.responseTo(signed.transactionId), 5000, `answer to method ${method}`);
      if (errorCode(answer) === 438) {
        this.nonce = getAttribute(answer, 'NONCE')!.value;
        continue;
      }
      return answer;
    }
    throw new Error('too many stale nonces');
  }

  /** Builds a signed request without sending it (nonce must be known). */
  signed(method: number, attributes: StunAttribute[], extra: Partial<NonNullable<BuildOptions['auth']>> = {}): DecodedStunMessage {
    if (this.nonce === undefined) throw new Error('no nonce yet');
    return build(method, attributes, { auth: { credentials: this.credentials, nonce: this.nonce, ...this.options, ...extra } });
  }

  allocate(attributes: StunAttribute[] = [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }]): Promise<DecodedStunMessage> {
    return this.request(StunMethod.Allocate, attributes);
  }

  createPermission(...peers: TransportAddress[]): Promise<DecodedStunMessage> {
    return this.request(
      StunMethod.CreatePermission,
      peers.map((address) => ({ type: 'XOR-PEER-ADDRESS', address })),
    );
  }

  channelBind(channel: number, peer: TransportAddress): Promise<DecodedStunMessage> {
    return this.request(StunMethod.ChannelBind, [
      { type: 'CHANNEL-NUMBER', channel },
      { type: 'XOR-PEER-ADDRESS', address: peer },
    ]);
  }

  refresh(seconds?: number, extra: StunAttribute[] = []): Promise<DecodedStunMessage> {
    return this.request(StunMethod.Refresh, [...(seconds === undefined ? [] : [{ type: 'LIFETIME' as const, seconds }]), ...extra]);
  }

  /** A Send indication (no answer). */
  send(peer: TransportAddress, data: Uint8Array, extra: StunAttribute[] = []): void {
    this.server.handleMessage(
      build(StunMethod.Send, [{ type: 'XOR-PEER-ADDRESS', address: peer }, { type: 'DATA', data }, ...extra], { cls: StunClass.Indication }),
      this.transport,
    );
  }
}

export function v4(address: string, port: number): TransportAddress {
  return { family: 'IPv4', address, port };
}

/**
 * A UDP relay socket that records every datagram the server sends through it, and takes a peer's
 * datagram with `deliver()` synchronously (as the socket's 'message' event would), so a test can
 * say "nothing was relayed" right away instead of waiting to see nothing arrive.
 */
export class RecordingRelaySocket implements RelaySocket {
  readonly sent: Array<{ data: Uint8Array; port: number; address: string }> = [];
  closed = false;
  private handler: ((data: Buffer, from: PeerEndpoint) => void) | undefined;

  constructor(private readonly inner: RelaySocket) {
    inner.onMessage((data, from) => this.handler?.(data, from));
  }

  get family(): RelaySocket['family'] {
    return this.inner.family;
  }
  get address(): string {
    return this.inner.address;
  }
  get port(): number {
    return this.inner.port;
  }
  get reservationToken(): Uint8Array | undefined {
    return this.inner.reservationToken;
  }

  send(data: Uint8Array, port: number, address: string): void {
    if (!this.closed) this.sent.push({ data: Uint8Array.from(data), port, address });
    this.inner.send(data, port, address);
  }

  onMessage(handler: (data: Buffer, from: PeerEndpoint) => void): void {
    this.handler = handler;
  }

  /** A datagram from `from` arrives now. False (nothing delivered) once the socket is closed. */
  deliver(data: string | Uint8Array, from: PeerEndpoint): boolean {
    if (this.closed) return false;
    this.handler?.(Buffer.from(data), from);
    return true;
  }

  close(): void {
    this.closed = true;
    this.handler = undefined;
    this.inner.close();
  }
}

/** Wraps a real relay factory; every UDP relay socket it binds is a RecordingRelaySocket. */
export class RecordingRelayFactory implements RelayFactory {
  readonly udp: RecordingRelaySocket[] = [];

  constructor(private readonly inner: RelayFactory) {}

  /** The relay socket bound to `port` (throws when there is none: the test is wrong). */
  at(port: number): RecordingRelaySocket {
    const s = this.udp.find((r) => r.port === port);
    if (!s) throw new Error(`no relay socket on port ${port}`);
    return s;
  }

  async bindUdp(ip: string, port: number | 'random', opts: BindOptions): Promise<RelaySocket> {
    const s = new RecordingRelaySocket(await this.inner.bindUdp(ip, port, opts));
    this.udp.push(s);
    return s;
  }
  claimReservation(token: Uint8Array, now: number): RelaySocket | undefined {
    const inner = this.inner.claimReservation(token, now);
    if (!inner) return undefined;
    const s = new RecordingRelaySocket(inner);
    this.udp.push(s);
    return s;
  }
  listenTcp(ip: string, port: number | 'random'): Promise<RelayTcpListener> {
    return this.inner.listenTcp(ip, port);
  }
  connectTcp(localIp: string, peer: PeerEndpoint, timeoutMs: number): Promise<Socket> {
    return this.inner.connectTcp(localIp, peer, timeoutMs);
  }
  nextExpiry(): number | undefined {
    return this.inner.nextExpiry();
  }
  handleExpiry(now: number): void {
    this.inner.handleExpiry(now);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
