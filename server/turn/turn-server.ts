/**
 * The TURN core (RFC 8656, with RFC 5766 clients in mind, and RFC 6062 TCP allocations): the
 * `TurnHandler` the STUN listener hands TURN methods and ChannelData to. It decides with the pure
 * pieces (auth.ts, allocation.ts, allocation-table.ts, tcp-connections.ts, peer-policy.ts) and
 * moves bytes through the relay sockets of relay-factory.ts.
 *
 * Safety choices beyond the RFCs (coturn leaves most of these to configuration):
 * - Stateless nonces (nonce.ts): nothing is stored for a client before it authenticates.
 * - 401 answers are rate-limited per source IP (`unauthorizedPerMinute`; past it requests that
 *   would get a 401/400 are dropped), which also caps reflection towards a spoofed source.
 * - Peers are refused by default on loopback, private, CGNAT, link-local, multicast, ULA and the
 *   server's own addresses (peer-policy.ts).
 * - Per-allocation caps on permissions, channels and TCP connections; per-user and total quotas;
 *   per-allocation bandwidth; datagrams towards a stream client that is not reading are dropped.
 * - Nothing is ever relayed without a permission for the peer's IP, even on a bound channel.
 *
 * DONT-FRAGMENT (RFC 8656 §7.2 item 4, §10.2, §14.8): accepted for UDP allocations as a no-op;
 * Node cannot set IP_MTU_DISCOVER on a dgram socket. What a peer sees is the platform default: on
 * Linux (IP_PMTUDISC_WANT) UDP datagrams that fit the path MTU go out with DF set, larger ones are
 * fragmented locally instead of being dropped; other systems may not set DF. For IPv6 the bit has
 * no meaning (routers never fragment). So a client relying on DONT-FRAGMENT for path MTU discovery
 * gets "DF when it fits", not a hard guarantee; we do not claim more (no 420 either, which would
 * make RFC 5766 clients that always send it fail to allocate).
 *
 * Channel numbers: RFC 8656 §11 allows 0x4000-0x4FFF; RFC 5766 §11 allowed 0x4000-0x7FFF and
 * RFC 5766 clients (coturn's turnutils_uclient among them) use that range, so ChannelBind accepts
 * 0x4000-0x7FFF. Whether ChannelData in 0x5000-0x7FFF reaches us is the listener's framing.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../io/logger.js';
import { splice } from '../../io/splice.js';
import { createThrottle } from '../../io/throttle.js';
import type { TurnConfig } from '../../shared/config/server-config.js';
import { CHANNEL_MAX_RFC5766, CHANNEL_MIN, ErrorCode, StunClass, StunMethod, Transport } from '../../shared/stun/constants.js';
import type { StunCrypto } from '../../shared/stun/crypto.js';
import {
  encodeChannelData,
  encodeStun,
  getAttribute,
  getAttributes,
  responseTo,
  type DecodedStunMessage,
  type StunAttribute,
  type TransportAddress,
} from '../../shared/stun/message.js';
import { AuthFailureLimiter } from '../auth-failure-limiter.js';
import type { ClientTransport, TurnHandler } from '../stun/client-transport.js';
import { Allocation, grantedLifetimeSeconds, type PeerAddress, type RelayedAddress } from './allocation.js';
import { AllocationTable } from './allocation-table.js';
import { LongTermAuth, type IntegrityKind } from './auth.js';
import { CredentialStore, type TurnUser } from './credentials.js';
import { canonicalIp, formatHostPort, ipFamily, isWildcard, type IpFamily } from '../../shared/net/address.js';
import { NonceIssuer } from './nonce.js';
import { PeerPolicy } from './peer-policy.js';
import { NodeRelayFactory, type RelayFactory, type RelaySocket, type RelayTcpListener } from './relay-factory.js';
import { ResponseCache } from './response-cache.js';
import { TcpConnectionTable, type TcpConnection } from './tcp-connections.js';
import type { TurnAllocationInfo, TurnStats } from '../../shared/types/server-status.js';

export type { TurnAllocationInfo, TurnStats };

export interface TurnServerDeps {
  logger: Logger;
  crypto: StunCrypto;
  /** SOFTWARE attribute of every response. */
  software: string;
  /** The server's listen addresses ("ip" or "ip:port"): never reachable as peers. */
  serverAddresses: string[];
  relayFactory?: RelayFactory;
  now?: () => number;
}

/** Datagrams for a stream client with more than this queued are dropped (it is not reading). */
const MAX_CLIENT_BACKLOG = 1024 * 1024;
/** RFC 6062 §5.2: "The timeout value MUST be at least 30 seconds." */
const CONNECT_TIMEOUT_MS = 30_000;
/** At most this many types are listed in a 420's UNKNOWN-ATTRIBUTES. */
const MAX_UNKNOWN_LISTED = 16;
/** How often the expiry timer runs. */
const EXPIRE_INTERVAL_MS = 1_000;

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  446: 'Connection Already Exists',
  447: 'Connection Timeout or Failure',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** What an authenticated request is answered with. */
interface Authed {
  readonly user: TurnUser;
  readonly key: Uint8Array;
  readonly integrity: IntegrityKind;
}

/** An allocation with its I/O. */
interface Live {
  readonly state: Allocation;
  readonly client: ClientTransport;
  readonly udp: Map<IpFamily, RelaySocket>;
  readonly tcp: Map<IpFamily, RelayTcpListener>;
  closed: boolean;
}

interface PendingAllocate {
  readonly transactionId: string;
  cancelled: boolean;
}

/** An allocation request failed with this error code (and optional reason). */
class AllocateError extends Error {
  constructor(
    readonly code: number,
    reason?: string,
  ) {
    super(reason ?? REASONS[code] ?? 'Error');
  }
}

export class TurnServer implements TurnHandler {
  private readonly config: TurnConfig;
  private readonly logger: Logger;
  private readonly crypto: StunCrypto;
  private readonly software: string;
  private readonly now: () => number;
  private readonly relays: RelayFactory;
  private readonly relayIps = new Map<IpFamily, string>();
  private readonly policy: PeerPolicy;
  private readonly auth: LongTermAuth;
  private readonly limiter: AuthFailureLimiter;
  private readonly table: AllocationTable;
  private readonly tcp = new TcpConnectionTable();
  private readonly cache = new ResponseCache();
  private readonly live = new Map<number, Live>();
  private readonly pendingAllocates = new Map<string, PendingAllocate>();
  /** RFC 6062 peer data connections' sockets, and the client data connections they are spliced to. */
  private readonly peerSockets = new Map<number, Socket>();
  private readonly clientDataSockets = new Map<number, Socket>();
  private readonly retired = { bytesToPeers: 0, bytesFromPeers: 0, packetsToPeers: 0, packetsFromPeers: 0 };
  private authFailures = 0;
  private nextId = 1;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private txPool = new Uint8Array(0);
  private txPoolOffset = 0;

  constructor(config: TurnConfig, deps: TurnServerDeps) {
    this.config = config;
    this.logger = deps.logger;
    this.crypto = deps.crypto;
    this.software = deps.software.slice(0, 64);
    this.now = deps.now ?? Date.now;
    for (const ip of config.relayIps) {
      const family = ipFamily(ip);
      if (!family) throw new Error(`turn.relayIps: "${ip}" is not an IP address`);
      if (this.relayIps.has(family)) {
        this.logger.warn({ ip }, `turn.relayIps: only one ${family} relay address is used; ignoring ${ip}`);
        continue;
      }
      this.relayIps.set(family, ip);
    }
    this.relays = deps.relayFactory ?? new NodeRelayFactory({ ports: config.relayPorts, now: this.now });
    this.policy = new PeerPolicy({
      allowPeers: config.allowPeers,
      denyPeers: config.denyPeers,
      ownAddresses: [...config.relayIps, ...(config.externalIp ? [config.externalIp] : []), ...deps.serverAddresses],
    });
    const store = new CredentialStore({
      realm: config.realm,
      users: config.users,
      ...(config.restSecret !== undefined ? { restSecret: config.restSecret } : {}),
      crypto: deps.crypto,
    });
    this.auth = new LongTermAuth({ realm: config.realm, store, nonces: new NonceIssuer(), crypto: deps.crypto });
    this.limiter = new AuthFailureLimiter({ failures: config.unauthorizedPerMinute, windowMs: 60_000 });
    this.table = new AllocationTable({ userQuota: config.userQuota, totalQuota: config.totalQuota });
    this.timer = setInterval(() => this.expire(this.now()), EXPIRE_INTERVAL_MS);
    this.timer.unref();
  }

  // ---------------------------------------------------------------------------------------------
  // TurnHandler

  handleMessage(message: DecodedStunMessage, client: ClientTransport): void {
    if (this.closed) return;
    try {
      this.dispatch(message, client);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, client: client.key, method: message.method }, 'TURN request failed');
      if (message.cls === StunClass.Request) this.sendUnsigned(message, client, ErrorCode.ServerError);
    }
  }

  handleChannelData(channel: number, data: Uint8Array, client: ClientTransport): void {
    if (this.closed) return;
    const live = this.liveFor(client.key);
    // RFC 8656 §12.6: ChannelData on a 5-tuple without an allocation, or on an unbound channel, is
    // discarded. TCP allocations (RFC 6062) carry no ChannelData.
    if (!live || live.state.transport !== 'udp') return;
    const now = this.now();
    const alloc = live.state;
    const peer = alloc.channelPeer(channel, now);
    if (!peer) return;
    // Never relay without a permission (RFC 8656 §9: data to a peer needs one; a channel whose
    // permission lapsed relays nothing until it is refreshed).
    if (!alloc.hasPermission(peer.address, now)) return;
    const socket = live.udp.get(peer.family);
    if (!socket || !alloc.admitToPeer(data.length, now)) return;
    socket.send(data, peer.port, peer.address);
  }

  clientClosed(client: ClientTransport): void {
    const pending = this.pendingAllocates.get(client.key);
    if (pending) pending.cancelled = true;
    const live = this.liveFor(client.key);
    // RFC 8656 §3.1 / RFC 6062 §4: an allocation over TCP/TLS lives only as long as its connection.
    if (live) this.teardown(live, 'client connection closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const live of [...this.live.values()]) this.teardown(live, 'server closing');
    for (const p of this.pendingAllocates.values()) p.cancelled = true;
    for (const socket of this.peerSockets.values()) socket.destroy();
    for (const socket of this.clientDataSockets.values()) socket.destroy();
    this.peerSockets.clear();
    this.clientDataSockets.clear();
    await this.relays.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Introspection

  stats(): TurnStats {
    const now = this.now();
    let permissions = 0;
    let channels = 0;
    const totals = { ...this.retired };
    for (const live of this.live.values()) {
      const a = live.state;
      a.expire(now);
      permissions += a.permissionCount;
      channels += a.channelCount;
      totals.bytesToPeers += a.counters.bytesToPeers;
      totals.bytesFromPeers += a.counters.bytesFromPeers;
      totals.packetsToPeers += a.counters.packetsToPeers;
      totals.packetsFromPeers += a.counters.packetsFromPeers;
    }
    return {
      allocations: this.table.size,
      permissions,
      channels,
      bytesRelayed: { toPeers: totals.bytesToPeers, fromPeers: totals.bytesFromPeers },
      packetsRelayed: { toPeers: totals.packetsToPeers, fromPeers: totals.packetsFromPeers },
      authFailures: this.authFailures,
    };
  }

  allocationsInfo(): TurnAllocationInfo[] {
    const now = this.now();
    return [...this.live.values()].map(({ state: a }) => {
      a.expire(now);
      return {
        username: a.username,
        client: `${a.protocol}://${a.clientAddress}`,
        relayed: a.relayed.map((r) => formatHostPort(r.address, r.port)),
        transport: a.transport,
        expiresInSeconds: Math.max(0, Math.ceil((a.expiresAt - now) / 1000)),
        permissions: a.permissionCount,
        channels: a.channelCount,
        bytesToPeers: a.counters.bytesToPeers,
        bytesFromPeers: a.counters.bytesFromPeers,
      };
    });
  }

  /**
   * Ends whatever has expired at `now`: allocations (RFC 8656 §7: when the time-to-expiry reaches
   * 0 the allocation is deleted), permissions (§9), channel bindings (§12), RFC 6062 peer
   * connections not bound within 30 s, and unclaimed port reservations. The timer calls it every
   * second; tests call it with a fake clock.
   */
  expire(now: number): void {
    const report = this.table.expire(now);
    for (const alloc of report.allocations) {
      const live = this.live.get(alloc.id);
      if (live) this.teardown(live, 'expired');
    }
    for (const c of this.tcp.expire(now)) {
      this.logger.debug({ connectionId: c.id }, 'TURN peer connection not bound within 30 s: closed');
      this.destroyConnectionSockets(c.id);
    }
    this.relays.expire(now);
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  private dispatch(message: DecodedStunMessage, client: ClientTransport): void {
    const now = this.now();
    if (message.cls === StunClass.Indication) {
      // RFC 8656 §5: indications are not authenticated; they are tied to the 5-tuple.
      if (message.method === StunMethod.Send) this.onSend(message, client, now);
      return;
    }
    if (message.cls !== StunClass.Request) return;

    if (client.protocol === 'udp') {
      const cached = this.cache.get(client.key, message.transactionId, message.raw, now);
      if (cached) {
        client.send(cached);
        return;
      }
    }

    // RFC 8656 §5: "The server MUST demand that all requests from the client be authenticated
    // using this [long-term credential] mechanism."
    const ip = client.remote.address;
    const outcome = this.auth.check(message, ip, now);
    switch (outcome.kind) {
      case 'challenge':
        this.refuse(message, client, ErrorCode.Unauthorized, undefined, now);
        return;
      case 'bad-request':
        this.refuse(message, client, ErrorCode.BadRequest, outcome.reason, now);
        return;
      case 'unauthenticated':
        this.authFailures++;
        this.logger.info({ client: client.key, reason: outcome.reason }, 'TURN authentication failed');
        this.refuse(message, client, ErrorCode.Unauthorized, undefined, now);
        return;
      case 'stale':
        // RFC 8489 §9.2.4: 438 "MUST include NONCE, REALM, and PASSWORD-ALGORITHMS attributes".
        this.sendError(message, client, ErrorCode.StaleNonce, outcome, undefined, this.auth.challengeAttributes(ip, now));
        return;
      case 'ok':
        break;
    }
    const authed: Authed = outcome;

    // RFC 8489 §6.3.1.1: unknown comprehension-required attributes → 420 with UNKNOWN-ATTRIBUTES.
    if (message.unknownRequired.length > 0) {
      this.sendError(message, client, ErrorCode.UnknownAttribute, authed, undefined, [
        { type: 'UNKNOWN-ATTRIBUTES', types: message.unknownRequired.slice(0, MAX_UNKNOWN_LISTED) },
      ]);
      return;
    }

    switch (message.method) {
      case StunMethod.Allocate:
        void this.onAllocate(message, client, authed, now).catch((err: unknown) => {
          this.logger.error({ err: (err as Error).message, client: client.key }, 'TURN Allocate failed');
          this.sendError(message, client, ErrorCode.ServerError, authed);
        });
        return;
      case StunMethod.Refresh:
        this.onRefresh(message, client, authed, now);
        return;
      case StunMethod.CreatePermission:
        this.onCreatePermission(message, client, authed, now);
        return;
      case StunMethod.ChannelBind:
        this.onChannelBind(message, client, authed, now);
        return;
      case StunMethod.Connect:
        this.onConnect(message, client, authed, now);
        return;
      case StunMethod.ConnectionBind:
        this.onConnectionBind(message, client, authed, now);
        return;
      default:
        this.sendError(message, client, ErrorCode.BadRequest, authed, 'Not a request method');
    }
  }

  // --- Allocate (RFC 8656 §7.2, RFC 6062 §5.1) ---

  private async onAllocate(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): Promise<void> {
    const txid = Buffer.from(message.transactionId).toString('hex');
    // RFC 8656 §7.2 item 2: "The server checks if the 5-tuple is currently in use by an existing
    // allocation. If yes, the server rejects the request with a 437 (Allocation Mismatch) error."
    // (A retransmission of the Allocate that created it was answered from the response cache.)
    const pending = this.pendingAllocates.get(client.key);
    if (pending) {
      if (pending.transactionId === txid) return; // retransmission while the relay is being bound
      this.sendError(message, client, ErrorCode.AllocationMismatch, authed);
      return;
    }
    if (this.liveFor(client.key)) {
      this.sendError(message, client, ErrorCode.AllocationMismatch, authed);
      return;
    }

    // RFC 8656 §7.2 item 3: "If the REQUESTED-TRANSPORT attribute is not included or is malformed,
    // the server rejects the request with a 400 (Bad Request) error. Otherwise, if the attribute
    // indicates an unsupported transport protocol, the server rejects the request with a 442
    // (Unsupported Transport Protocol) error."
    const requested = getAttribute(message, 'REQUESTED-TRANSPORT');
    if (!requested) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'REQUESTED-TRANSPORT is missing');
    if (requested.protocol !== Transport.UDP && requested.protocol !== Transport.TCP) {
      return this.sendError(message, client, ErrorCode.UnsupportedTransportProtocol, authed);
    }
    const transport = requested.protocol === Transport.TCP ? 'tcp' : 'udp';
    const dontFragment = getAttribute(message, 'DONT-FRAGMENT');
    const evenPort = getAttribute(message, 'EVEN-PORT');
    const token = getAttribute(message, 'RESERVATION-TOKEN');
    const requestedFamily = getAttribute(message, 'REQUESTED-ADDRESS-FAMILY');
    const legacyDual = legacyAdditionalFamily(message);
    if (legacyDual === 'malformed') return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Bad ADDITIONAL-ADDRESS-FAMILY');
    const additionalFamily = getAttribute(message, 'ADDITIONAL-ADDRESS-FAMILY') ?? legacyDual;

    if (transport === 'tcp') {
      // RFC 6062 §5.1: "If the client connection transport is not TCP or TLS, the server MUST reject
      // the request with a 400 (Bad Request) error." and "If the request contains the
      // DONT-FRAGMENT, EVEN-PORT, or RESERVATION-TOKEN attribute, the server MUST reject the request
      // with a 400 (Bad Request) error."
      if (client.protocol === 'udp') return this.sendError(message, client, ErrorCode.BadRequest, authed, 'TCP allocations need a TCP or TLS connection');
      if (dontFragment || evenPort || token) {
        return this.sendError(message, client, ErrorCode.BadRequest, authed, 'DONT-FRAGMENT, EVEN-PORT and RESERVATION-TOKEN are for UDP');
      }
    }
    // RFC 8656 §7.2 item 4 (DONT-FRAGMENT): accepted as a no-op — see the header of this file.

    // RFC 8656 §7.2 item 5: RESERVATION-TOKEN together with EVEN-PORT, REQUESTED-ADDRESS-FAMILY or
    // ADDITIONAL-ADDRESS-FAMILY → 400; a token that is not valid → 508 (checked when binding).
    if (token && (evenPort || requestedFamily || additionalFamily)) {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'RESERVATION-TOKEN excludes EVEN-PORT and address families');
    }
    // RFC 8656 §7.2 item 6: both REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY → 400.
    if (requestedFamily && additionalFamily) {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'REQUESTED- and ADDITIONAL-ADDRESS-FAMILY exclude each other');
    }
    // RFC 8656 §7.2 item 9: ADDITIONAL-ADDRESS-FAMILY with the IPv4 value → 400.
    if (additionalFamily && additionalFamily.family !== 'IPv6') {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'ADDITIONAL-ADDRESS-FAMILY must be IPv6');
    }
    // RFC 8656 §7.2 item 8: EVEN-PORT with the R bit together with ADDITIONAL-ADDRESS-FAMILY → 400.
    if (evenPort?.reserveNext && additionalFamily) {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'EVEN-PORT with R excludes ADDITIONAL-ADDRESS-FAMILY');
    }
    // RFC 8656 §7.2 item 7: an address family the server does not support (or, without
    // REQUESTED-ADDRESS-FAMILY, no IPv4) → 440 (Address Family not Supported).
    const primary: IpFamily = requestedFamily?.family ?? 'IPv4';
    if (!token && !this.relayIps.has(primary)) return this.sendError(message, client, ErrorCode.AddressFamilyNotSupported, authed);

    // RFC 8656 §7.2 item 10: "the server MAY choose to reject the request with a 486 (Allocation
    // Quota Reached) error if it feels the client is trying to exceed some locally defined
    // allocation quota"; 508 (Insufficient Capacity) when the server as a whole is full.
    const quota = this.table.check(authed.user.quotaKey);
    if (quota === 'user-quota') return this.sendError(message, client, ErrorCode.AllocationQuotaReached, authed);
    if (quota === 'total-quota') return this.sendError(message, client, ErrorCode.InsufficientCapacity, authed);

    const lifetime = grantedLifetimeSeconds(getAttribute(message, 'LIFETIME')?.seconds, this.config.defaultLifetime, this.config.maxLifetime);
    const entry: PendingAllocate = { transactionId: txid, cancelled: false };
    this.pendingAllocates.set(client.key, entry);
    this.table.reserve(authed.user.quotaKey);
    let bound: BoundRelays;
    try {
      bound =
        transport === 'udp'
          ? await this.bindUdpRelays({
              primary,
              additional: additionalFamily !== undefined,
              evenPort: evenPort !== undefined,
              reserveNext: evenPort?.reserveNext === true,
              ...(token ? { token: token.token } : {}),
              now,
            })
          : await this.bindTcpRelays(primary, additionalFamily !== undefined);
    } catch (err) {
      const code = err instanceof AllocateError ? err.code : ErrorCode.InsufficientCapacity;
      if (!(err instanceof AllocateError)) this.logger.warn({ err: (err as Error).message }, 'TURN relay address could not be bound');
      if (!entry.cancelled && !this.closed) this.sendError(message, client, code, authed, err instanceof AllocateError ? err.message : undefined);
      return;
    } finally {
      this.table.unreserve(authed.user.quotaKey);
      if (this.pendingAllocates.get(client.key) === entry) this.pendingAllocates.delete(client.key);
    }
    if (entry.cancelled || this.closed) {
      closeBound(bound);
      return;
    }

    const relayed: RelayedAddress[] = [];
    for (const [family, endpoint] of [...bound.udp, ...bound.tcp]) {
      relayed.push({ family, address: this.advertisedIp(family, client.local), port: endpoint.port });
    }
    const allocation = new Allocation(
      {
        id: this.nextId++,
        clientKey: client.key,
        protocol: client.protocol,
        clientAddress: formatHostPort(client.remote.address, client.remote.port),
        username: authed.user.username,
        quotaKey: authed.user.quotaKey,
        transport,
        relayed,
        lifetimeMs: lifetime * 1000,
        ...(this.config.bandwidth !== undefined ? { bandwidth: this.config.bandwidth } : {}),
      },
      this.now(),
    );
    const live: Live = { state: allocation, client, udp: bound.udp, tcp: bound.tcp, closed: false };
    this.table.add(allocation);
    this.live.set(allocation.id, live);
    for (const socket of bound.udp.values()) socket.onMessage((data, from) => this.onPeerDatagram(live, data, from));
    for (const listener of bound.tcp.values()) listener.onConnection((socket) => this.onPeerConnection(live, socket));

    // RFC 8656 §7.2: the success response carries XOR-RELAYED-ADDRESS (one per family), LIFETIME,
    // XOR-MAPPED-ADDRESS, and RESERVATION-TOKEN when a port was reserved; with
    // ADDITIONAL-ADDRESS-FAMILY only partly met, ADDRESS-ERROR-CODE says why (item 9).
    const attributes: StunAttribute[] = relayed.map((r) => ({ type: 'XOR-RELAYED-ADDRESS', address: { family: r.family, address: r.address, port: r.port } }));
    if (bound.addressError) {
      attributes.push(
        legacyDual && !getAttribute(message, 'ADDITIONAL-ADDRESS-FAMILY')
          ? legacyAddressErrorCode(bound.addressError)
          : { type: 'ADDRESS-ERROR-CODE', ...bound.addressError },
      );
    }
    attributes.push({ type: 'LIFETIME', seconds: lifetime });
    if (bound.reservationToken) attributes.push({ type: 'RESERVATION-TOKEN', token: bound.reservationToken });
    attributes.push({ type: 'XOR-MAPPED-ADDRESS', address: client.remote });
    this.sendSuccess(message, client, authed, attributes);
    this.logger.info(
      { username: allocation.username, client: `${client.protocol}://${allocation.clientAddress}`, relayed: relayed.map((r) => formatHostPort(r.address, r.port)), transport, lifetime },
      'TURN allocation created',
    );
  }

  private async bindUdpRelays(opts: {
    primary: IpFamily;
    additional: boolean;
    evenPort: boolean;
    reserveNext: boolean;
    token?: Uint8Array;
    now: number;
  }): Promise<BoundRelays> {
    const bound: BoundRelays = { udp: new Map(), tcp: new Map() };
    if (opts.token) {
      // RFC 8656 §7.2 item 5: "If the token is not valid for some reason, the server rejects the
      // request with a 508 (Insufficient Capacity) error."
      const socket = this.relays.claimReservation(opts.token, opts.now);
      if (!socket) throw new AllocateError(ErrorCode.InsufficientCapacity, 'Unknown or expired RESERVATION-TOKEN');
      bound.udp.set(socket.family, socket);
      return bound;
    }
    const ip = this.relayIps.get(opts.primary)!;
    // RFC 8656 §7.2 item 8: EVEN-PORT that cannot be satisfied → 508 (the factory rejects).
    const socket = await this.relays.bindUdp(ip, 'random', { evenPort: opts.evenPort, reserveNext: opts.reserveNext });
    bound.udp.set(opts.primary, socket);
    if (socket.reservationToken) bound.reservationToken = socket.reservationToken;
    if (opts.additional) {
      const v6 = this.relayIps.get('IPv6');
      if (!v6) {
        bound.addressError = { family: 'IPv6', code: ErrorCode.AddressFamilyNotSupported, reason: REASONS[440]! };
      } else {
        try {
          bound.udp.set('IPv6', await this.relays.bindUdp(v6, 'random', { evenPort: opts.evenPort }));
        } catch {
          bound.addressError = { family: 'IPv6', code: ErrorCode.InsufficientCapacity, reason: REASONS[508]! };
        }
      }
    }
    return bound;
  }

  private async bindTcpRelays(primary: IpFamily, additional: boolean): Promise<BoundRelays> {
    const bound: BoundRelays = { udp: new Map(), tcp: new Map() };
    bound.tcp.set(primary, await this.relays.listenTcp(this.relayIps.get(primary)!, 'random'));
    if (additional) {
      const v6 = this.relayIps.get('IPv6');
      if (!v6) {
        bound.addressError = { family: 'IPv6', code: ErrorCode.AddressFamilyNotSupported, reason: REASONS[440]! };
      } else {
        try {
          bound.tcp.set('IPv6', await this.relays.listenTcp(v6, 'random'));
        } catch {
          bound.addressError = { family: 'IPv6', code: ErrorCode.InsufficientCapacity, reason: REASONS[508]! };
        }
      }
    }
    return bound;
  }

  // --- Refresh (RFC 8656 §7.3) ---

  private onRefresh(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): void {
    const live = this.ownAllocation(message, client, authed);
    if (!live) return;
    const alloc = live.state;
    // RFC 8656 §7.3: a REQUESTED-ADDRESS-FAMILY that does not match the allocation's family
    // "MUST" get a 443 (Peer Address Family Mismatch).
    const family = getAttribute(message, 'REQUESTED-ADDRESS-FAMILY')?.family;
    if (family !== undefined && !alloc.hasFamily(family)) return this.sendError(message, client, ErrorCode.PeerAddressFamilyMismatch, authed);
    const requested = getAttribute(message, 'LIFETIME')?.seconds;
    if (requested === 0) {
      // RFC 8656 §7.3: "If the "desired lifetime" is zero, then the request succeeds and the
      // allocation is deleted." The whole allocation, dual or not: coturn's client sends its final
      // lifetime-0 Refresh with a REQUESTED-ADDRESS-FAMILY of either family and expects that.
      this.teardown(live, 'deleted by Refresh');
      this.sendSuccess(message, client, authed, [{ type: 'LIFETIME', seconds: 0 }]);
      return;
    }
    const seconds = grantedLifetimeSeconds(requested, this.config.defaultLifetime, this.config.maxLifetime);
    alloc.refresh(seconds * 1000, now);
    this.sendSuccess(message, client, authed, [{ type: 'LIFETIME', seconds }]);
  }

  // --- CreatePermission (RFC 8656 §9.2) ---

  private onCreatePermission(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): void {
    const live = this.ownAllocation(message, client, authed);
    if (!live) return;
    const alloc = live.state;
    // RFC 8656 §9.2: "The CreatePermission request MUST contain at least one XOR-PEER-ADDRESS
    // attribute [...] If no such attribute exists, or if any of these attributes are invalid,
    // then a 400 (Bad Request) error is returned."
    const peers = getAttributes(message, 'XOR-PEER-ADDRESS');
    if (peers.length === 0) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'XOR-PEER-ADDRESS is missing');
    const ips: string[] = [];
    for (const { address: peer } of peers) {
      const ip = canonicalIp(peer.address);
      if (ip === undefined || ipFamily(ip) !== peer.family) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Bad XOR-PEER-ADDRESS');
      // RFC 8656 §9.2: a peer address family other than the relayed address's "MUST" get 443.
      if (!alloc.hasFamily(peer.family)) return this.sendError(message, client, ErrorCode.PeerAddressFamilyMismatch, authed);
      ips.push(ip);
    }
    for (const ip of ips) {
      // RFC 8656 §9.2: "The server MAY impose restrictions on the IP address allowed in the
      // XOR-PEER-ADDRESS attribute; if a value is not allowed, the server rejects the request with
      // a 403 (Forbidden) error." The port is ignored ("may be any arbitrary value").
      const refusal = this.policy.refusal(ip);
      if (refusal !== undefined) {
        this.logger.info({ username: alloc.username, peer: ip, reason: refusal }, 'TURN permission refused');
        return this.sendError(message, client, ErrorCode.Forbidden, authed);
      }
    }
    // RFC 8656 §9.2: "If the request is valid, but the server is unable to satisfy the request due
    // to some capacity limit or similar, then a 508 (Insufficient Capacity) error is returned."
    if (!alloc.canInstallPermissions(ips, now)) return this.sendError(message, client, ErrorCode.InsufficientCapacity, authed);
    // All or nothing: every address was checked before any permission is installed.
    for (const ip of ips) alloc.installPermission(ip, now);
    this.sendSuccess(message, client, authed, []);
  }

  // --- ChannelBind (RFC 8656 §11.2) ---

  private onChannelBind(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): void {
    const live = this.ownAllocation(message, client, authed);
    if (!live) return;
    const alloc = live.state;
    if (alloc.transport !== 'udp') return this.sendError(message, client, ErrorCode.BadRequest, authed, 'ChannelBind is for UDP allocations');
    const channel = getAttribute(message, 'CHANNEL-NUMBER')?.channel;
    const peerAttr = getAttribute(message, 'XOR-PEER-ADDRESS')?.address;
    // RFC 8656 §11.2: the request must contain CHANNEL-NUMBER and XOR-PEER-ADDRESS and the channel
    // number must be in range, else 400. The range: see the header of this file (0x4000-0x7FFF).
    if (channel === undefined || !peerAttr) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'CHANNEL-NUMBER and XOR-PEER-ADDRESS are required');
    if (channel < CHANNEL_MIN || channel > CHANNEL_MAX_RFC5766) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Channel number out of range');
    const ip = canonicalIp(peerAttr.address);
    if (ip === undefined || ipFamily(ip) !== peerAttr.family || peerAttr.port === 0) {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Bad XOR-PEER-ADDRESS');
    }
    // RFC 8656 §11.2: a peer of another address family than the allocation's "MUST" get 443.
    if (!alloc.hasFamily(peerAttr.family)) return this.sendError(message, client, ErrorCode.PeerAddressFamilyMismatch, authed);
    // RFC 8656 §11.2: "The server MAY impose restrictions on the IP address and port values allowed
    // in the XOR-PEER-ADDRESS attribute; if a value is not allowed, the server rejects the request
    // with a 403 (Forbidden) error."
    const refusal = this.policy.refusal(ip, peerAttr.port);
    if (refusal !== undefined) {
      this.logger.info({ username: alloc.username, peer: ip, reason: refusal }, 'TURN channel bind refused');
      return this.sendError(message, client, ErrorCode.Forbidden, authed);
    }
    const peer: PeerAddress = { family: peerAttr.family, address: ip, port: peerAttr.port };
    switch (alloc.bindChannel(channel, peer, now)) {
      case 'channel-in-use':
        // RFC 8656 §11.2: "the channel number is not currently bound to a different transport address".
        return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Channel is bound to another peer');
      case 'peer-bound':
        // RFC 8656 §11.2: "the transport address is not currently bound to a different channel number".
        return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Peer is bound to another channel');
      case 'capacity':
        return this.sendError(message, client, ErrorCode.InsufficientCapacity, authed);
      case 'bound':
      case 'refreshed':
        this.sendSuccess(message, client, authed, []);
    }
  }

  // --- Send indication (RFC 8656 §10.2) ---

  private onSend(message: DecodedStunMessage, client: ClientTransport, now: number): void {
    const live = this.liveFor(client.key);
    if (!live || live.state.transport !== 'udp') return;
    // RFC 8489 §6.3.2: an indication with unknown comprehension-required attributes is discarded.
    if (message.unknownRequired.length > 0) return;
    // RFC 8656 §10.2: "The Send indication MUST contain both an XOR-PEER-ADDRESS attribute and a
    // DATA attribute. If one of these attributes is missing or invalid, then the message is
    // discarded."
    const peer = getAttribute(message, 'XOR-PEER-ADDRESS')?.address;
    const data = getAttribute(message, 'DATA')?.data;
    if (!peer || !data) return;
    const ip = canonicalIp(peer.address);
    if (ip === undefined) return;
    const alloc = live.state;
    // RFC 8656 §10.2: "If no such permission exists, the message is discarded. Note that a Send
    // indication never causes the server to refresh the permission."
    if (!alloc.hasPermission(ip, now)) return;
    // "if a value is not allowed, the server silently discards the Send indication."
    if (!this.policy.allows(ip, peer.port)) return;
    const socket = live.udp.get(peer.family);
    if (!socket || !alloc.admitToPeer(data.length, now)) return;
    socket.send(data, peer.port, ip);
  }

  // --- Data from peers (RFC 8656 §10.3, §12.5) ---

  private onPeerDatagram(live: Live, data: Uint8Array, from: { address: string; port: number }): void {
    if (live.closed || this.closed) return;
    const now = this.now();
    const alloc = live.state;
    // The kernel spells IPv4 sources canonically already; IPv6 ones are normalised like permissions.
    const ip = from.address.includes(':') ? canonicalIp(from.address) : from.address;
    if (ip === undefined) return;
    // RFC 8656 §10.3: the server relays the datagram only if a permission allows it (§9), else
    // it is silently discarded.
    if (!alloc.hasPermission(ip, now)) return;
    if (live.client.pendingBytes > MAX_CLIENT_BACKLOG) return;
    const channel = alloc.channelFor({ address: ip, port: from.port }, now);
    let bytes: Uint8Array;
    try {
      bytes =
        channel !== undefined
          ? // RFC 8656 §12.5: over TCP/TLS "the ChannelData message MUST be padded to a multiple of four bytes".
            encodeChannelData(channel, data, live.client.protocol !== 'udp')
          : // RFC 8656 §10.3: no channel → a Data indication with XOR-PEER-ADDRESS and DATA.
            encodeStun(
              {
                method: StunMethod.Data,
                cls: StunClass.Indication,
                transactionId: this.transactionId(),
                attributes: [
                  { type: 'XOR-PEER-ADDRESS', address: { family: ipFamily(ip)!, address: ip, port: from.port } },
                  { type: 'DATA', data },
                ],
              },
              { fingerprint: true },
            );
    } catch {
      return; // too big to frame: dropped like any oversize datagram
    }
    if (!alloc.admitFromPeer(data.length, now)) return;
    live.client.send(bytes);
  }

  // --- RFC 6062: Connect, ConnectionAttempt, ConnectionBind ---

  private onConnect(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): void {
    // RFC 6062 §5.2: "If the request is received on a TCP connection for which no allocation
    // exists, the server MUST return a 437 (Allocation Mismatch) error."
    const live = this.ownAllocation(message, client, authed);
    if (!live) return;
    const alloc = live.state;
    if (alloc.transport !== 'tcp') return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Connect is for TCP allocations');
    // RFC 6062 §5.2: "If the request does not contain an XOR-PEER-ADDRESS attribute, or if such
    // attribute is invalid, the server MUST return a 400 (Bad Request) error."
    const peerAttr = getAttribute(message, 'XOR-PEER-ADDRESS')?.address;
    const ip = peerAttr ? canonicalIp(peerAttr.address) : undefined;
    if (!peerAttr || ip === undefined || ipFamily(ip) !== peerAttr.family || peerAttr.port === 0) {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'Bad or missing XOR-PEER-ADDRESS');
    }
    if (!alloc.hasFamily(peerAttr.family)) return this.sendError(message, client, ErrorCode.PeerAddressFamilyMismatch, authed);
    // RFC 6062 §5.2: "If the new connection is forbidden by local policy, the server MUST reject
    // the request with a 403 (Forbidden) error."
    const refusal = this.policy.refusal(ip, peerAttr.port);
    if (refusal !== undefined) {
      this.logger.info({ username: alloc.username, peer: ip, reason: refusal }, 'TURN Connect refused');
      return this.sendError(message, client, ErrorCode.Forbidden, authed);
    }
    const peer: PeerAddress = { family: peerAttr.family, address: ip, port: peerAttr.port };
    // RFC 6062 §5.2: a Connect for a peer that is being connected to, or whose connection is
    // pending or active, "MUST return a 446 (Connection Already Exists) error".
    const connection = this.tcp.create(alloc.id, peer, true, now);
    if (connection === 'exists') return this.sendError(message, client, ErrorCode.ConnectionAlreadyExists, authed);
    if (connection === 'capacity') return this.sendError(message, client, ErrorCode.InsufficientCapacity, authed);
    const localIp = this.relayIps.get(peer.family)!;
    // RFC 6062 §5.2: "the server MUST initiate an outgoing TCP connection [...] If the connection
    // attempt fails or times out, the server MUST return a 447 (Connection Timeout or Failure)
    // error. The timeout value MUST be at least 30 seconds." (Local end: see relay-factory.ts.)
    this.relays.connectTcp(localIp, peer, CONNECT_TIMEOUT_MS).then(
      (socket) => {
        if (live.closed || this.closed || this.tcp.get(connection.id) !== connection) {
          socket.destroy();
          return;
        }
        // "If the connection is successful, it is now called a peer data connection. The server
        // MUST buffer any data received from the client [peer]" — the socket stays paused, so the
        // kernel's receive window does the buffering. "The server MUST include the CONNECTION-ID
        // attribute in the Connect success response."
        this.tcp.markPending(connection.id, this.now());
        this.registerPeerSocket(connection, socket);
        this.sendSuccess(message, client, authed, [{ type: 'CONNECTION-ID', id: connection.id }]);
      },
      (err: unknown) => {
        if (this.tcp.get(connection.id) === connection) this.tcp.remove(connection.id);
        this.logger.debug({ peer: formatHostPort(ip, peer.port), err: (err as Error).message }, 'TURN Connect failed');
        if (!live.closed && !this.closed) this.sendError(message, client, ErrorCode.ConnectionTimeoutOrFailure, authed);
      },
    );
  }

  /** RFC 6062 §5.3: a peer connected to a TCP allocation's relayed transport address. */
  private onPeerConnection(live: Live, socket: Socket): void {
    const now = this.now();
    const ip = canonicalIp(socket.remoteAddress ?? '');
    const port = socket.remotePort;
    if (live.closed || this.closed || ip === undefined || port === undefined) {
      socket.destroy();
      return;
    }
    // "If no permission for this peer has been installed for this allocation, the server MUST
    // close the connection with the peer immediately after it has been accepted."
    if (!live.state.hasPermission(ip, now) || live.client.pendingBytes > MAX_CLIENT_BACKLOG) {
      socket.destroy();
      return;
    }
    const connection = this.tcp.create(live.state.id, { family: ipFamily(ip)!, address: ip, port }, false, now);
    if (typeof connection === 'string') {
      socket.destroy();
      return;
    }
    this.registerPeerSocket(connection, socket);
    // "Otherwise, the server sends a ConnectionAttempt indication to the client over the control
    // connection. The indication MUST include an XOR-PEER-ADDRESS attribute containing the peer's
    // address, as well as a CONNECTION-ID attribute uniquely identifying the peer data connection."
    live.client.send(
      encodeStun(
        {
          method: StunMethod.ConnectionAttempt,
          cls: StunClass.Indication,
          transactionId: this.transactionId(),
          attributes: [
            { type: 'XOR-PEER-ADDRESS', address: { family: connection.peer.family, address: ip, port } },
            { type: 'CONNECTION-ID', id: connection.id },
          ],
        },
        { fingerprint: true },
      ),
    );
  }

  private onConnectionBind(message: DecodedStunMessage, client: ClientTransport, authed: Authed, _now: number): void {
    // RFC 6062 §5.4: "If the client connection transport is not TCP or TLS, the server MUST return
    // a 400 (Bad Request) error." "If the request does not contain the CONNECTION-ID attribute, or
    // if this attribute does not refer to an existing pending connection, the server MUST return
    // a 400 (Bad Request) error."
    if (client.protocol === 'udp' || !client.takeOver) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'ConnectionBind needs a TCP or TLS connection');
    const id = getAttribute(message, 'CONNECTION-ID')?.id;
    const connection = id === undefined ? undefined : this.tcp.get(id);
    const peerSocket = connection ? this.peerSockets.get(connection.id) : undefined;
    const live = connection ? this.live.get(connection.allocationId) : undefined;
    if (!connection || connection.state !== 'pending' || !peerSocket || !live || live.closed) {
      return this.sendError(message, client, ErrorCode.BadRequest, authed, 'No such pending connection');
    }
    // Our rule: only the allocation's owner may bind its connections.
    if (live.state.username !== authed.user.username) {
      this.authFailures++;
      return this.sendError(message, client, ErrorCode.WrongCredentials, authed);
    }
    // A connection that carries an allocation is a control connection; it cannot become a data one.
    if (this.liveFor(client.key)) return this.sendError(message, client, ErrorCode.BadRequest, authed, 'This connection holds an allocation');

    this.tcp.markBound(connection.id);
    this.sendSuccess(message, client, authed, []);
    // "Otherwise, the client connection is now called a client data connection. Data received on
    // it MUST be sent as-is to the associated peer data connection. Data received on the associated
    // peer data connection MUST be sent as-is on this client data connection."
    const clientSocket = client.takeOver();
    this.clientDataSockets.set(connection.id, clientSocket);
    const { toPeer, fromPeer } = live.state.buckets;
    const counters = live.state.counters;
    void splice(clientSocket, peerSocket, {
      onAToB: (n) => {
        counters.bytesToPeers += n;
        counters.packetsToPeers++;
      },
      onBToA: (n) => {
        counters.bytesFromPeers += n;
        counters.packetsFromPeers++;
      },
      ...(toPeer ? { aToB: createThrottle(toPeer, this.now) } : {}),
      ...(fromPeer ? { bToA: createThrottle(fromPeer, this.now) } : {}),
    }).then(() => {
      // RFC 6062 §5.5: closing either data connection closes the other (splice does), and the
      // connection is gone.
      if (this.tcp.get(connection.id) === connection) this.tcp.remove(connection.id);
      this.peerSockets.delete(connection.id);
      this.clientDataSockets.delete(connection.id);
    });
  }

  private registerPeerSocket(connection: TcpConnection, socket: Socket): void {
    this.peerSockets.set(connection.id, socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      // Before the bind, a peer that goes away takes its pending connection with it.
      if (this.tcp.get(connection.id) === connection && connection.state !== 'bound') {
        this.tcp.remove(connection.id);
        this.peerSockets.delete(connection.id);
      }
    });
  }

  private destroyConnectionSockets(id: number): void {
    this.peerSockets.get(id)?.destroy();
    this.clientDataSockets.get(id)?.destroy();
    this.peerSockets.delete(id);
    this.clientDataSockets.delete(id);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private liveFor(clientKey: string): Live | undefined {
    const alloc = this.table.get(clientKey);
    return alloc ? this.live.get(alloc.id) : undefined;
  }

  /**
   * The allocation of this 5-tuple, owned by the authenticated user. Otherwise answers 437
   * (RFC 8656 §7.3, §9.2, §11.2: no allocation → 437 Allocation Mismatch) or 441 (RFC 8656 §5:
   * the USERNAME/USERHASH of a request on an allocation must match the one that created it, else
   * 441 Wrong Credentials) and returns undefined.
   */
  private ownAllocation(message: DecodedStunMessage, client: ClientTransport, authed: Authed): Live | undefined {
    const live = this.liveFor(client.key);
    if (!live) {
      this.sendError(message, client, ErrorCode.AllocationMismatch, authed);
      return undefined;
    }
    if (live.state.username !== authed.user.username) {
      this.authFailures++;
      this.sendError(message, client, ErrorCode.WrongCredentials, authed);
      return undefined;
    }
    return live;
  }

  /** Deletes an allocation: relay sockets, TCP connections (RFC 6062 §5.5), table entry. */
  private teardown(live: Live, why: string): void {
    if (live.closed) return;
    live.closed = true;
    const alloc = live.state;
    this.table.remove(alloc);
    this.live.delete(alloc.id);
    for (const socket of live.udp.values()) socket.close();
    for (const listener of live.tcp.values()) listener.close();
    for (const c of this.tcp.forAllocation(alloc.id)) {
      this.tcp.remove(c.id);
      this.destroyConnectionSockets(c.id);
    }
    this.retired.bytesToPeers += alloc.counters.bytesToPeers;
    this.retired.bytesFromPeers += alloc.counters.bytesFromPeers;
    this.retired.packetsToPeers += alloc.counters.packetsToPeers;
    this.retired.packetsFromPeers += alloc.counters.packetsFromPeers;
    this.logger.info(
      { username: alloc.username, client: `${alloc.protocol}://${alloc.clientAddress}`, why, bytesToPeers: alloc.counters.bytesToPeers, bytesFromPeers: alloc.counters.bytesFromPeers },
      'TURN allocation deleted',
    );
  }

  /**
   * The IP put in XOR-RELAYED-ADDRESS: `externalIp` (1:1 NAT) when it is of this family; else the
   * relay IP; for a wildcard relay IP, the address the client reached (if concrete), else the first
   * non-internal interface address of the family.
   */
  private advertisedIp(family: IpFamily, local: TransportAddress): string {
    const external = this.config.externalIp;
    if (external !== undefined && ipFamily(external) === family) return external;
    const relayIp = this.relayIps.get(family)!;
    if (!isWildcard(relayIp)) return relayIp;
    if (local.family === family && !isWildcard(local.address)) return local.address;
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) {
        if (!info.internal && ipFamily(info.address) === family && !info.address.startsWith('fe80')) return info.address;
      }
    }
    return family === 'IPv4' ? '127.0.0.1' : '::1';
  }

  /** 401 (with REALM, NONCE, PASSWORD-ALGORITHMS) or 400, unsigned, within the per-IP budget. */
  private refuse(message: DecodedStunMessage, client: ClientTransport, code: number, reason: string | undefined, now: number): void {
    const ip = client.remote.address;
    if (this.limiter.isBlocked(ip, now)) {
      // Past `unauthorizedPerMinute`: drop silently. A ConnectionBind's connection is waiting for
      // an answer (the listener holds its bytes), so close it instead.
      if (message.method === StunMethod.ConnectionBind) client.close();
      return;
    }
    this.limiter.recordFailure(ip, now);
    // RFC 8489 §9.2.4: the 401 "MUST include a REALM value" and a NONCE, and PASSWORD-ALGORITHMS
    // when the nonce has the "Password algorithms" bit (ours always has).
    this.sendUnsigned(message, client, code, reason, code === ErrorCode.Unauthorized ? this.auth.challengeAttributes(ip, now) : []);
  }

  private sendUnsigned(message: DecodedStunMessage, client: ClientTransport, code: number, reason?: string, extra: StunAttribute[] = []): void {
    const attributes: StunAttribute[] = [{ type: 'ERROR-CODE', code, reason: reason ?? REASONS[code] ?? 'Error' }, ...extra, { type: 'SOFTWARE', value: this.software }];
    client.send(encodeStun(responseTo(message, StunClass.ErrorResponse, attributes), { fingerprint: true }));
  }

  private sendError(message: DecodedStunMessage, client: ClientTransport, code: number, authed: Authed, reason?: string, extra: StunAttribute[] = []): void {
    this.sendSigned(message, client, StunClass.ErrorResponse, authed, [{ type: 'ERROR-CODE', code, reason: (reason ?? REASONS[code] ?? 'Error').slice(0, 127) }, ...extra]);
  }

  private sendSuccess(message: DecodedStunMessage, client: ClientTransport, authed: Authed, attributes: StunAttribute[]): void {
    this.sendSigned(message, client, StunClass.SuccessResponse, authed, attributes);
  }

  /** Responses after authentication carry SOFTWARE, integrity of the request's kind, and FINGERPRINT. */
  private sendSigned(message: DecodedStunMessage, client: ClientTransport, cls: StunClass, authed: Authed, attributes: StunAttribute[]): void {
    const bytes = encodeStun(responseTo(message, cls, [...attributes, { type: 'SOFTWARE', value: this.software }]), {
      integrity: { key: authed.key, algorithm: authed.integrity },
      fingerprint: true,
      crypto: this.crypto,
    });
    if (client.protocol === 'udp') this.cache.put(client.key, message.transactionId, message.raw, bytes, this.now());
    client.send(bytes);
  }

  /** A cryptographically random transaction id (RFC 8489 §6), from a pooled buffer. */
  private transactionId(): Uint8Array {
    if (this.txPoolOffset + 12 > this.txPool.length) {
      this.txPool = new Uint8Array(randomBytes(12 * 256));
      this.txPoolOffset = 0;
    }
    const id = this.txPool.slice(this.txPoolOffset, this.txPoolOffset + 12);
    this.txPoolOffset += 12;
    return id;
  }
}

/**
 * coturn (to 4.6 at least, turnutils_uclient -Z) still sends ADDITIONAL-ADDRESS-FAMILY with the
 * draft code point 0x8032 and reads ADDRESS-ERROR-CODE at 0x8033, where RFC 8656 §18 assigned
 * 0x8000 and 0x8001. Both draft codes are comprehension-optional, so without this a coturn client
 * asking for a dual allocation silently got an IPv4-only one. Same value layout as the RFC's.
 */
const LEGACY_ADDITIONAL_ADDRESS_FAMILY = 0x8032;
const LEGACY_ADDRESS_ERROR_CODE = 0x8033;

function legacyAdditionalFamily(message: DecodedStunMessage): { family: IpFamily } | 'malformed' | undefined {
  const attr = message.attributes.find((a) => a.type === 'UNKNOWN' && a.code === LEGACY_ADDITIONAL_ADDRESS_FAMILY);
  if (!attr || attr.type !== 'UNKNOWN') return undefined;
  if (attr.value.length !== 4) return 'malformed';
  const family = attr.value[0] === 0x01 ? 'IPv4' : attr.value[0] === 0x02 ? 'IPv6' : undefined;
  return family ? { family } : 'malformed';
}

function legacyAddressErrorCode(error: { family: IpFamily; code: number; reason: string }): StunAttribute {
  const reason = new TextEncoder().encode(error.reason);
  const value = new Uint8Array(4 + reason.length);
  value[0] = error.family === 'IPv4' ? 0x01 : 0x02;
  value[2] = Math.floor(error.code / 100);
  value[3] = error.code % 100;
  value.set(reason, 4);
  return { type: 'UNKNOWN', code: LEGACY_ADDRESS_ERROR_CODE, value };
}

interface BoundRelays {
  udp: Map<IpFamily, RelaySocket>;
  tcp: Map<IpFamily, RelayTcpListener>;
  reservationToken?: Uint8Array;
  addressError?: { family: IpFamily; code: number; reason: string };
}

function closeBound(bound: BoundRelays): void {
  for (const s of bound.udp.values()) s.close();
  for (const l of bound.tcp.values()) l.close();
}
