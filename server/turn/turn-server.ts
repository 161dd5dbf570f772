/**
 * The TURN core (RFC 8656, with RFC 5766 clients in mind, and RFC 6062 TCP allocations): the
 * `TurnHandler` the STUN listener hands TURN methods and ChannelData to. It checks requests and
 * dispatches them, deciding with the pure pieces (auth.ts, allocation.ts, allocation-table.ts,
 * peer-check.ts) and moving datagrams through the relay sockets of relay-factory.ts. RFC 6062 TCP
 * relaying is tcp-relay.ts; signing and the response cache are turn-responder.ts.
 *
 * Like pion/turn's server, it builds none of its collaborators: the peer policy, the auth handler
 * (credentials, nonces, failure limiter), the allocation table, the relay-address source and the
 * relay factory are passed in (create-turn-server.ts wires the real ones; tests pass fakes).
 * Expiry follows ngtcp2's get_expiry / handle_expiry contract: `nextExpiry()` is the earliest
 * deadline of the allocation table, the RFC 6062 connections and the port reservations, and
 * `handleExpiry(now)` ends what is due; one timer (io/deadline-timer.ts) is armed for that
 * deadline and re-armed after each request, so nothing polls.
 *
 * Safety choices beyond the RFCs (coturn leaves most of these to configuration):
 * - Stateless nonces (nonce.ts): nothing is stored for a client before it authenticates.
 * - Failed authentications (wrong password or unknown user, with a nonce this server gave that
 *   IP) are counted per source IP (`unauthorizedPerMinute`; past it they get no answer). The
 *   first, credential-less Allocate of every client always gets its 401 and a stale or made-up
 *   nonce its 438: neither is counted, so a spoofed source cannot lock its real owner out, and a
 *   correct request is never refused for others' failures.
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
import { DeadlineTimer, type TimerFunctions } from '../../io/deadline-timer.js';
import type { Logger } from '../../io/logger.js';
import type { TurnConfig } from '../../shared/config/server-config.js';
import { CHANNEL_MAX_RFC5766, CHANNEL_MIN, ErrorCode, StunClass, StunMethod, Transport } from '../../shared/stun/constants.js';
import { getAttribute, getAttributes, type DecodedStunMessage, type StunAttribute } from '../../shared/stun/message.js';
import { channelDataLength, encodeChannelDataInto } from '../../shared/stun/channel-data.js';
import type { TurnAllocationInfo, TurnStats } from '../../shared/types/server-status.js';
import type { ClientTransport, TurnHandler } from '../stun/client-transport.js';
import { Allocation, grantedLifetimeSeconds, type RelayedAddress } from './allocation.js';
import type { AllocationTable } from './allocation-table.js';
import type { TurnAuthHandler } from './auth-handler.js';
import { canonicalIp, formatHostPort, ipFamily, type IpFamily } from '../../shared/net/address.js';
import { MAX_CLIENT_BACKLOG, type LiveAllocation } from './live-allocation.js';
import { checkPeer, type PeerCheck } from './peer-check.js';
import type { PeerPolicy } from './peer-policy.js';
import type { RelayAddressSource } from './relay-addresses.js';
import type { RelayFactory, RelaySocket, RelayTcpListener } from './relay-factory.js';
import type { PeerAddress } from './allocation.js';
import { TcpRelay } from './tcp-relay.js';
import { REASONS, type Authed, type TurnResponder } from './turn-responder.js';

export type { TurnAllocationInfo, TurnStats };

export interface TurnServerDeps {
  logger: Logger;
  /** Answers: signing, SOFTWARE, the response cache (turn-responder.ts). */
  responder: TurnResponder;
  /** Which peers allocations may reach (RFC 8656 §9.2, §11.2 403; RFC 6062 §5.2). */
  policy: PeerPolicy;
  /** Long-term credentials, nonces and the 401 budget per source IP. */
  auth: TurnAuthHandler;
  /** Allocations by 5-tuple, with the quotas. */
  allocations: AllocationTable;
  /** Relay IPs to bind and the IPs to advertise. */
  relayAddresses: RelayAddressSource;
  relayFactory: RelayFactory;
  now: () => number;
  /** The expiry timer's timer functions (default setTimeout, unref'd). */
  timers?: TimerFunctions;
}

/** At most this many types are listed in a 420's UNKNOWN-ATTRIBUTES. */
const MAX_UNKNOWN_LISTED = 16;
/** The TURN config fields the core reads (the rest is for the wiring, create-turn-server.ts). */
export type TurnCoreConfig = Pick<TurnConfig, 'defaultLifetime' | 'maxLifetime' | 'bandwidth'>;

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
  private readonly config: TurnCoreConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly relays: RelayFactory;
  private readonly addresses: RelayAddressSource;
  private readonly policy: PeerPolicy;
  private readonly auth: TurnAuthHandler;
  private readonly table: AllocationTable;
  private readonly respond: TurnResponder;
  private readonly tcp: TcpRelay;
  private readonly live = new Map<number, LiveAllocation>();
  private readonly pendingAllocates = new Map<string, PendingAllocate>();
  private readonly retired = { bytesToPeers: 0, bytesFromPeers: 0, packetsToPeers: 0, packetsFromPeers: 0 };
  private authFailures = 0;
  private nextId = 1;
  private closed = false;
  private readonly timer: DeadlineTimer;

  constructor(config: TurnCoreConfig, deps: TurnServerDeps) {
    this.config = config;
    this.logger = deps.logger;
    this.now = deps.now;
    this.relays = deps.relayFactory;
    this.addresses = deps.relayAddresses;
    this.policy = deps.policy;
    this.auth = deps.auth;
    this.table = deps.allocations;
    this.respond = deps.responder;
    this.timer = new DeadlineTimer(this, this.now, deps.timers);
    this.tcp = new TcpRelay({
      host: {
        allocationById: (id) => this.live.get(id),
        allocationFor: (key) => this.liveFor(key),
        isClosed: () => this.closed,
        authFailure: () => this.authFailures++,
        deadlinesChanged: () => this.timer.rearm(),
      },
      relays: this.relays,
      addresses: this.addresses,
      responder: this.respond,
      logger: this.logger,
      now: this.now,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // TurnHandler

  handleMessage(message: DecodedStunMessage, client: ClientTransport): void {
    if (this.closed) return;
    try {
      this.dispatch(message, client);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, client: client.key, method: message.method }, 'TURN request failed');
      if (message.cls === StunClass.Request) this.respond.unsigned(message, client, ErrorCode.ServerError);
    }
    // A request may have installed a permission, bound a channel or shortened a lifetime.
    if (message.cls === StunClass.Request) this.timer.rearm();
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
    this.toPeer(live, socket, data, peer);
  }

  holdsAllocation(client: ClientTransport): boolean {
    return this.liveFor(client.key) !== undefined || this.pendingAllocates.has(client.key);
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
    this.timer.stop();
    for (const live of [...this.live.values()]) this.teardown(live, 'server closing');
    for (const p of this.pendingAllocates.values()) p.cancelled = true;
    this.tcp.close();
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
   * The earliest deadline (ms on the `now` clock): an allocation's lifetime, a permission, a
   * channel binding, an RFC 6062 peer connection's 30 s to be bound, a port reservation.
   * Undefined when nothing is waiting.
   */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const at of [this.table.nextExpiry(), this.tcp.nextExpiry(), this.relays.nextExpiry()]) {
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /**
   * Ends whatever has expired at `now`: allocations (RFC 8656 §7: when the time-to-expiry reaches
   * 0 the allocation is deleted), permissions (§9), channel bindings (§12), RFC 6062 peer
   * connections not bound within 30 s, and unclaimed port reservations. The expiry timer calls it
   * at `nextExpiry()`; tests call it with a fake clock.
   */
  handleExpiry(now: number): void {
    const report = this.table.handleExpiry(now);
    for (const alloc of report.allocations) {
      const live = this.live.get(alloc.id);
      if (live) this.teardown(live, 'expired');
    }
    this.tcp.handleExpiry(now);
    this.relays.handleExpiry(now);
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

    if (this.respond.replay(message, client, now)) return;

    // RFC 8656 §5: "The server MUST demand that all requests from the client be authenticated
    // using this [long-term credential] mechanism."
    const ip = client.remote.address;
    const outcome = this.auth.check(message, ip, now);
    switch (outcome.kind) {
      case 'challenge':
        // The first Allocate of every client has no credentials, by design (RFC 8656 §7.2): it is
        // always answered (stateless, costs nothing), never counted, so neither a company's
        // browsers behind one address nor a stranger spoofing that address can use it up.
        this.challenge(message, client, now);
        return;
      case 'bad-request':
        this.respond.unsigned(message, client, ErrorCode.BadRequest, outcome.reason);
        return;
      case 'stale':
        // RFC 8489 §9.2.4: 438 "MUST include NONCE, REALM, and PASSWORD-ALGORITHMS attributes".
        this.respond.unsigned(message, client, ErrorCode.StaleNonce, undefined, this.auth.challengeAttributes(ip, now));
        return;
      case 'unauthenticated':
        this.authFailures++;
        this.logger.info({ client: client.key, reason: outcome.reason }, 'TURN authentication failed');
        this.refuse(message, client, now);
        return;
      case 'expired':
        // A release is accepted with the credentials the allocation was made with, even after they
        // expired, so it stops counting against the quota at once (docs: README, TURN).
        if (message.method === StunMethod.Refresh && getAttribute(message, 'LIFETIME')?.seconds === 0 && this.liveFor(client.key)?.state.username === outcome.user.username) break;
        this.authFailures++;
        this.logger.info({ client: client.key, reason: 'expired TURN REST credentials' }, 'TURN authentication failed');
        this.refuse(message, client, now);
        return;
      case 'ok':
        break;
    }
    const authed: Authed = outcome;

    // RFC 8489 §6.3.1.1: unknown comprehension-required attributes → 420 with UNKNOWN-ATTRIBUTES.
    if (message.unknownRequired.length > 0) {
      this.respond.error(message, client, ErrorCode.UnknownAttribute, authed, undefined, [
        { type: 'UNKNOWN-ATTRIBUTES', types: message.unknownRequired.slice(0, MAX_UNKNOWN_LISTED) },
      ]);
      return;
    }

    switch (message.method) {
      case StunMethod.Allocate:
        void this.onAllocate(message, client, authed, now).catch((err: unknown) => {
          this.logger.error({ err: (err as Error).message, client: client.key }, 'TURN Allocate failed');
          this.respond.error(message, client, ErrorCode.ServerError, authed);
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
        // RFC 6062 §5.4 (tcp-relay.ts).
        this.tcp.bind(message, client, authed);
        return;
      default:
        this.respond.error(message, client, ErrorCode.BadRequest, authed, 'Not a request method');
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
      this.respond.error(message, client, ErrorCode.AllocationMismatch, authed);
      return;
    }
    if (this.liveFor(client.key)) {
      this.respond.error(message, client, ErrorCode.AllocationMismatch, authed);
      return;
    }

    // RFC 8656 §7.2 item 3: "If the REQUESTED-TRANSPORT attribute is not included or is malformed,
    // the server rejects the request with a 400 (Bad Request) error. Otherwise, if the attribute
    // indicates an unsupported transport protocol, the server rejects the request with a 442
    // (Unsupported Transport Protocol) error."
    const requested = getAttribute(message, 'REQUESTED-TRANSPORT');
    if (!requested) return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'REQUESTED-TRANSPORT is missing');
    if (requested.protocol !== Transport.UDP && requested.protocol !== Transport.TCP) {
      return this.respond.error(message, client, ErrorCode.UnsupportedTransportProtocol, authed);
    }
    const transport = requested.protocol === Transport.TCP ? 'tcp' : 'udp';
    const dontFragment = getAttribute(message, 'DONT-FRAGMENT');
    const evenPort = getAttribute(message, 'EVEN-PORT');
    const token = getAttribute(message, 'RESERVATION-TOKEN');
    const requestedFamily = getAttribute(message, 'REQUESTED-ADDRESS-FAMILY');
    const legacyDual = legacyAdditionalFamily(message);
    if (legacyDual === 'malformed') return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'Bad ADDITIONAL-ADDRESS-FAMILY');
    const additionalFamily = getAttribute(message, 'ADDITIONAL-ADDRESS-FAMILY') ?? legacyDual;

    if (transport === 'tcp') {
      // RFC 6062 §5.1: "If the client connection transport is not TCP or TLS, the server MUST reject
      // the request with a 400 (Bad Request) error." and "If the request contains the
      // DONT-FRAGMENT, EVEN-PORT, or RESERVATION-TOKEN attribute, the server MUST reject the request
      // with a 400 (Bad Request) error."
      if (client.protocol === 'udp') return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'TCP allocations need a TCP or TLS connection');
      if (dontFragment || evenPort || token) {
        return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'DONT-FRAGMENT, EVEN-PORT and RESERVATION-TOKEN are for UDP');
      }
    }
    // RFC 8656 §7.2 item 4 (DONT-FRAGMENT): accepted as a no-op — see the header of this file.

    // RFC 8656 §7.2 item 5: RESERVATION-TOKEN together with EVEN-PORT, REQUESTED-ADDRESS-FAMILY or
    // ADDITIONAL-ADDRESS-FAMILY → 400; a token that is not valid → 508 (checked when binding).
    if (token && (evenPort || requestedFamily || additionalFamily)) {
      return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'RESERVATION-TOKEN excludes EVEN-PORT and address families');
    }
    // RFC 8656 §7.2 item 6: both REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY → 400.
    if (requestedFamily && additionalFamily) {
      return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'REQUESTED- and ADDITIONAL-ADDRESS-FAMILY exclude each other');
    }
    // RFC 8656 §7.2 item 9: ADDITIONAL-ADDRESS-FAMILY with the IPv4 value → 400.
    if (additionalFamily && additionalFamily.family !== 'IPv6') {
      return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'ADDITIONAL-ADDRESS-FAMILY must be IPv6');
    }
    // RFC 8656 §7.2 item 8: EVEN-PORT with the R bit together with ADDITIONAL-ADDRESS-FAMILY → 400.
    if (evenPort?.reserveNext && additionalFamily) {
      return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'EVEN-PORT with R excludes ADDITIONAL-ADDRESS-FAMILY');
    }
    // RFC 8656 §7.2 item 7: an address family the server does not support (or, without
    // REQUESTED-ADDRESS-FAMILY, no IPv4) → 440 (Address Family not Supported).
    const primary: IpFamily = requestedFamily?.family ?? 'IPv4';
    if (!token && this.addresses.bindIp(primary) === undefined) return this.respond.error(message, client, ErrorCode.AddressFamilyNotSupported, authed);

    // RFC 8656 §7.2 item 10: "the server MAY choose to reject the request with a 486 (Allocation
    // Quota Reached) error if it feels the client is trying to exceed some locally defined
    // allocation quota"; 508 (Insufficient Capacity) when the server as a whole is full.
    const quota = this.table.check(authed.user.quotaKey);
    if (quota === 'user-quota') return this.respond.error(message, client, ErrorCode.AllocationQuotaReached, authed);
    if (quota === 'total-quota') return this.respond.error(message, client, ErrorCode.InsufficientCapacity, authed);

    const lifetime = capToCredentials(grantedLifetimeSeconds(getAttribute(message, 'LIFETIME')?.seconds, this.config.defaultLifetime, this.config.maxLifetime), authed, now);
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
      if (!entry.cancelled && !this.closed) this.respond.error(message, client, code, authed, err instanceof AllocateError ? err.message : undefined);
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
      relayed.push({ family, address: this.addresses.advertisedIp(family, client.local), port: endpoint.port });
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
    const live: LiveAllocation = { state: allocation, client, udp: bound.udp, tcp: bound.tcp, closed: false };
    this.table.add(allocation);
    this.live.set(allocation.id, live);
    for (const socket of bound.udp.values()) socket.onMessage((data, from) => this.onPeerDatagram(live, data, from));
    for (const listener of bound.tcp.values()) listener.onConnection((socket) => this.tcp.acceptPeer(live, socket));

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
    this.respond.success(message, client, authed, attributes);
    this.timer.rearm();
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
    const ip = this.addresses.bindIp(opts.primary)!;
    // RFC 8656 §7.2 item 8: EVEN-PORT that cannot be satisfied → 508 (the factory rejects).
    const socket = await this.relays.bindUdp(ip, 'random', { evenPort: opts.evenPort, reserveNext: opts.reserveNext });
    bound.udp.set(opts.primary, socket);
    if (socket.reservationToken) bound.reservationToken = socket.reservationToken;
    if (opts.additional) {
      const v6 = this.addresses.bindIp('IPv6');
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
    bound.tcp.set(primary, await this.relays.listenTcp(this.addresses.bindIp(primary)!, 'random'));
    if (additional) {
      const v6 = this.addresses.bindIp('IPv6');
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
    if (family !== undefined && !alloc.hasFamily(family)) return this.respond.error(message, client, ErrorCode.PeerAddressFamilyMismatch, authed);
    const requested = getAttribute(message, 'LIFETIME')?.seconds;
    if (requested === 0) {
      // RFC 8656 §7.3: "If the "desired lifetime" is zero, then the request succeeds and the
      // allocation is deleted." The whole allocation, dual or not: coturn's client sends its final
      // lifetime-0 Refresh with a REQUESTED-ADDRESS-FAMILY of either family and expects that.
      this.teardown(live, 'deleted by Refresh');
      this.respond.success(message, client, authed, [{ type: 'LIFETIME', seconds: 0 }]);
      return;
    }
    const seconds = capToCredentials(grantedLifetimeSeconds(requested, this.config.defaultLifetime, this.config.maxLifetime), authed, now);
    alloc.refresh(seconds * 1000, now);
    this.respond.success(message, client, authed, [{ type: 'LIFETIME', seconds }]);
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
    if (peers.length === 0) return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'XOR-PEER-ADDRESS is missing');
    // Every address is checked before any permission is installed; a malformed address or a
    // family mismatch anywhere is answered before a policy refusal.
    const checks = peers.map(({ address }) => checkPeer(address, alloc, this.policy, { port: false }));
    const invalid = checks.find((c): c is Exclude<PeerCheck, { kind: 'ok' | 'forbidden' }> => c.kind === 'bad' || c.kind === 'family-mismatch');
    if (invalid) return this.refusePeer(message, client, authed, invalid, 'Bad XOR-PEER-ADDRESS', 'TURN permission refused');
    // RFC 8656 §9.2: "The server MAY impose restrictions on the IP address allowed in the
    // XOR-PEER-ADDRESS attribute; if a value is not allowed, the server rejects the request with
    // a 403 (Forbidden) error." The port is ignored ("may be any arbitrary value").
    const ips: string[] = [];
    for (const check of checks) {
      if (check.kind !== 'ok') return this.refusePeer(message, client, authed, check, 'Bad XOR-PEER-ADDRESS', 'TURN permission refused');
      ips.push(check.peer.address);
    }
    // RFC 8656 §9.2: "If the request is valid, but the server is unable to satisfy the request due
    // to some capacity limit or similar, then a 508 (Insufficient Capacity) error is returned."
    if (!alloc.canInstallPermissions(ips, now)) return this.respond.error(message, client, ErrorCode.InsufficientCapacity, authed);
    // All or nothing: every address was checked before any permission is installed.
    for (const ip of ips) alloc.installPermission(ip, now);
    this.respond.success(message, client, authed, []);
  }

  // --- ChannelBind (RFC 8656 §11.2) ---

  private onChannelBind(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): void {
    const live = this.ownAllocation(message, client, authed);
    if (!live) return;
    const alloc = live.state;
    if (alloc.transport !== 'udp') return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'ChannelBind is for UDP allocations');
    const channel = getAttribute(message, 'CHANNEL-NUMBER')?.channel;
    const peerAttr = getAttribute(message, 'XOR-PEER-ADDRESS')?.address;
    // RFC 8656 §11.2: the request must contain CHANNEL-NUMBER and XOR-PEER-ADDRESS and the channel
    // number must be in range, else 400. The range: see the header of this file (0x4000-0x7FFF).
    if (channel === undefined || !peerAttr) return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'CHANNEL-NUMBER and XOR-PEER-ADDRESS are required');
    if (channel < CHANNEL_MIN || channel > CHANNEL_MAX_RFC5766) return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'Channel number out of range');
    // RFC 8656 §11.2: a peer of another address family than the allocation's "MUST" get 443;
    // "The server MAY impose restrictions on the IP address and port values allowed in the
    // XOR-PEER-ADDRESS attribute; if a value is not allowed, the server rejects the request with a
    // 403 (Forbidden) error."
    const check = checkPeer(peerAttr, alloc, this.policy, { port: true });
    if (check.kind !== 'ok') return this.refusePeer(message, client, authed, check, 'Bad XOR-PEER-ADDRESS', 'TURN channel bind refused');
    const peer = check.peer;
    switch (alloc.bindChannel(channel, peer, now)) {
      case 'channel-in-use':
        // RFC 8656 §11.2: "the channel number is not currently bound to a different transport address".
        return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'Channel is bound to another peer');
      case 'peer-bound':
        // RFC 8656 §11.2: "the transport address is not currently bound to a different channel number".
        return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'Peer is bound to another channel');
      case 'capacity':
        return this.respond.error(message, client, ErrorCode.InsufficientCapacity, authed);
      case 'bound':
      case 'refreshed':
        this.respond.success(message, client, authed, []);
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
    const alloc = live.state;
    // "if a value is not allowed, the server silently discards the Send indication."
    const check = checkPeer(peer, alloc, this.policy, { port: true });
    if (check.kind !== 'ok') return;
    const { family, address: ip, port } = check.peer;
    // RFC 8656 §10.2: "If no such permission exists, the message is discarded. Note that a Send
    // indication never causes the server to refresh the permission."
    if (!alloc.hasPermission(ip, now)) return;
    const socket = live.udp.get(family);
    if (!socket || !alloc.admitToPeer(data.length, now)) return;
    this.toPeer(live, socket, data, check.peer);
  }

  /**
   * Sends one datagram from `live`'s relay socket to `peer`. When the peer is the relayed address
   * of another live UDP allocation on this server, it is handed over directly, as if it had arrived
   * from `live`'s relayed address (as advertised): no hairpin through a 1:1 NAT in front of
   * `externalIp` is needed, and the receiver's permission for that address applies. A peer on a
   * relay IP whose allocation has gone (a stale channel) is dropped, never sent to the server's
   * other ports.
   */
  private toPeer(live: LiveAllocation, socket: RelaySocket, data: Uint8Array, peer: PeerAddress): void {
    if (this.table.isRelayed(peer.address)) {
      const target = this.table.relayedAt('udp', peer.address, peer.port);
      const targetLive = target && this.live.get(target.id);
      if (targetLive) {
        const from = live.state.relayedFor(peer.family);
        if (from) this.onPeerDatagram(targetLive, data, { address: from.address, port: from.port });
        return;
      }
      if (this.policy.refusal(peer.address, peer.port) !== undefined) return;
    }
    socket.send(data, peer.port, peer.address);
  }

  // --- Data from peers (RFC 8656 §10.3, §12.5) ---

  private onPeerDatagram(live: LiveAllocation, data: Uint8Array, from: { address: string; port: number }): void {
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
            // A pooled Buffer (Buffer.allocUnsafe takes small ones from an 8 KiB slab that is never
            // handed out twice): no malloc per datagram, unlike a Uint8Array this size.
            encodeChannelDataPooled(channel, data, live.client.protocol !== 'udp')
          : // RFC 8656 §10.3: no channel → a Data indication with XOR-PEER-ADDRESS and DATA.
            this.respond.indication(StunMethod.Data, [
              { type: 'XOR-PEER-ADDRESS', address: { family: ipFamily(ip)!, address: ip, port: from.port } },
              { type: 'DATA', data },
            ]);
    } catch {
      return; // too big to frame: dropped like any oversize datagram
    }
    if (!alloc.admitFromPeer(data.length, now)) return;
    live.client.send(bytes);
  }

  // --- RFC 6062 Connect (the checks; the peer connection itself is tcp-relay.ts) ---

  private onConnect(message: DecodedStunMessage, client: ClientTransport, authed: Authed, now: number): void {
    // RFC 6062 §5.2: "If the request is received on a TCP connection for which no allocation
    // exists, the server MUST return a 437 (Allocation Mismatch) error."
    const live = this.ownAllocation(message, client, authed);
    if (!live) return;
    const alloc = live.state;
    if (alloc.transport !== 'tcp') return this.respond.error(message, client, ErrorCode.BadRequest, authed, 'Connect is for TCP allocations');
    // RFC 6062 §5.2: "If the request does not contain an XOR-PEER-ADDRESS attribute, or if such
    // attribute is invalid, the server MUST return a 400 (Bad Request) error." "If the new
    // connection is forbidden by local policy, the server MUST reject the request with a 403
    // (Forbidden) error."
    const check = checkPeer(getAttribute(message, 'XOR-PEER-ADDRESS')?.address, alloc, this.policy, { port: true });
    if (check.kind !== 'ok') return this.refusePeer(message, client, authed, check, 'Bad or missing XOR-PEER-ADDRESS', 'TURN Connect refused');
    this.tcp.connect(message, client, authed, live, check.peer, now);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private liveFor(clientKey: string): LiveAllocation | undefined {
    const alloc = this.table.get(clientKey);
    return alloc ? this.live.get(alloc.id) : undefined;
  }

  /**
   * The allocation of this 5-tuple, owned by the authenticated user. Otherwise answers 437
   * (RFC 8656 §7.3, §9.2, §11.2: no allocation → 437 Allocation Mismatch) or 441 (RFC 8656 §5:
   * the USERNAME/USERHASH of a request on an allocation must match the one that created it, else
   * 441 Wrong Credentials) and returns undefined.
   */
  private ownAllocation(message: DecodedStunMessage, client: ClientTransport, authed: Authed): LiveAllocation | undefined {
    const live = this.liveFor(client.key);
    if (!live) {
      this.respond.error(message, client, ErrorCode.AllocationMismatch, authed);
      return undefined;
    }
    if (live.state.username !== authed.user.username) {
      this.authFailures++;
      this.respond.error(message, client, ErrorCode.WrongCredentials, authed);
      return undefined;
    }
    return live;
  }

  /** Deletes an allocation: relay sockets, TCP connections (RFC 6062 §5.5), table entry. */
  private teardown(live: LiveAllocation, why: string): void {
    if (live.closed) return;
    live.closed = true;
    const alloc = live.state;
    this.table.remove(alloc);
    this.live.delete(alloc.id);
    for (const socket of live.udp.values()) socket.close();
    for (const listener of live.tcp.values()) listener.close();
    this.tcp.closeAllocation(alloc.id);
    this.retired.bytesToPeers += alloc.counters.bytesToPeers;
    this.retired.bytesFromPeers += alloc.counters.bytesFromPeers;
    this.retired.packetsToPeers += alloc.counters.packetsToPeers;
    this.retired.packetsFromPeers += alloc.counters.packetsFromPeers;
    this.logger.info(
      { username: alloc.username, client: `${alloc.protocol}://${alloc.clientAddress}`, why, bytesToPeers: alloc.counters.bytesToPeers, bytesFromPeers: alloc.counters.bytesFromPeers },
      'TURN allocation deleted',
    );
  }

  /** Answers a peer address checkPeer() did not accept: 400, 443, or 403 (logged as `what`). */
  private refusePeer(message: DecodedStunMessage, client: ClientTransport, authed: Authed, check: Exclude<PeerCheck, { kind: 'ok' }>, badReason: string, what: string): void {
    switch (check.kind) {
      case 'bad':
        return this.respond.error(message, client, ErrorCode.BadRequest, authed, badReason);
      case 'family-mismatch':
        return this.respond.error(message, client, ErrorCode.PeerAddressFamilyMismatch, authed);
      case 'forbidden':
        this.logger.info({ username: authed.user.username, peer: check.ip, reason: check.refusal }, what);
        return this.respond.error(message, client, ErrorCode.Forbidden, authed);
    }
  }

  /** 401 with REALM, NONCE, PASSWORD-ALGORITHMS, unsigned: the challenge of RFC 8489 §9.2.4. */
  private challenge(message: DecodedStunMessage, client: ClientTransport, now: number): void {
    // RFC 8489 §9.2.4: the 401 "MUST include a REALM value" and a NONCE, and PASSWORD-ALGORITHMS
    // when the nonce has the "Password algorithms" bit (ours always has).
    this.respond.unsigned(message, client, ErrorCode.Unauthorized, undefined, this.auth.challengeAttributes(client.remote.address, now));
  }

  /**
   * A failed authentication (with a nonce this server sent to this IP, so not spoofable): counted
   * per source IP; past `unauthorizedPerMinute` such requests get no answer. A request with valid
   * credentials is never refused for others' failures.
   */
  private refuse(message: DecodedStunMessage, client: ClientTransport, now: number): void {
    const ip = client.remote.address;
    if (this.auth.isBlocked(ip, now)) {
      // A ConnectionBind's connection is waiting for an answer (the listener holds its bytes), so close it instead.
      if (message.method === StunMethod.ConnectionBind) client.close();
      return;
    }
    this.auth.recordFailure(ip, now);
    this.challenge(message, client, now);
  }
}

/**
 * An allocation made or refreshed with TURN REST credentials lives no longer than they do (at
 * least 1 s): when they expire it ends unless the client refreshed it with fresh credentials, so
 * expired credentials never keep a relay (and a quota slot) for the full lifetime. Static users:
 * unchanged.
 */
function capToCredentials(seconds: number, authed: Authed, now: number): number {
  const expiresAt = authed.user.expiresAt;
  if (expiresAt === undefined || seconds === 0) return seconds;
  return Math.max(1, Math.min(seconds, Math.ceil((expiresAt - now) / 1000)));
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

/** encodeChannelData into a pooled Buffer (every byte written: header, data, zeroed padding). */
function encodeChannelDataPooled(channel: number, data: Uint8Array, padToFour: boolean): Uint8Array {
  return encodeChannelDataInto(Buffer.allocUnsafe(channelDataLength(data.length, padToFour)), channel, data, padToFour);
}
