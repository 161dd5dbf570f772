/**
 * TURN client messages (RFC 8656, RFC 6062): what each request carries, and what the answers and
 * indications mean. Pure: StunMessage values in and out; the credentials and the encoding are
 * added by LongTermCredentials.
 */
import { CHANNEL_MAX, CHANNEL_MIN, StunClass, StunMethod, Transport } from '../../shared/stun/constants.js';
import { encodeStun, getAttribute, type DecodedStunMessage, type StunAttribute, type StunMessage, type TransportAddress } from '../../shared/stun/message.js';

export interface AllocateParams {
  /** REQUESTED-TRANSPORT: a UDP relay (default) or an RFC 6062 TCP relay. */
  transport?: 'udp' | 'tcp';
  /** LIFETIME to ask for (seconds); the server decides. */
  lifetime?: number;
  /** DONT-FRAGMENT (UDP relays only). */
  dontFragment?: boolean;
  software?: string;
}

function request(method: number, transactionId: Uint8Array, attributes: StunAttribute[]): StunMessage {
  return { method, cls: StunClass.Request, transactionId, attributes };
}

/** RFC 8656 §7.1: Allocate with REQUESTED-TRANSPORT (17 = UDP, 6 = TCP per RFC 6062). */
export function allocateRequest(transactionId: Uint8Array, p: AllocateParams = {}): StunMessage {
  const attrs: StunAttribute[] = [];
  if (p.software) attrs.push({ type: 'SOFTWARE', value: p.software });
  attrs.push({ type: 'REQUESTED-TRANSPORT', protocol: p.transport === 'tcp' ? Transport.TCP : Transport.UDP });
  if (p.lifetime !== undefined) attrs.push({ type: 'LIFETIME', seconds: p.lifetime });
  if (p.dontFragment && p.transport !== 'tcp') attrs.push({ type: 'DONT-FRAGMENT' });
  return request(StunMethod.Allocate, transactionId, attrs);
}

/** RFC 8656 §8: Refresh; lifetime 0 deletes the allocation. */
export function refreshRequest(transactionId: Uint8Array, lifetime?: number): StunMessage {
  return request(StunMethod.Refresh, transactionId, lifetime === undefined ? [] : [{ type: 'LIFETIME', seconds: lifetime }]);
}

function peerAddress(ip: string, port: number): TransportAddress {
  return { family: ip.includes(':') ? 'IPv6' : 'IPv4', address: ip, port };
}

/**
 * RFC 8656 §9.1: CreatePermission with one XOR-PEER-ADDRESS per IP ("the port portion of each
 * attribute is ignored and may be any arbitrary value").
 */
export function createPermissionRequest(transactionId: Uint8Array, peerIps: string[]): StunMessage {
  if (peerIps.length === 0) throw new RangeError('CreatePermission needs at least one peer address');
  return request(
    StunMethod.CreatePermission,
    transactionId,
    peerIps.map((ip) => ({ type: 'XOR-PEER-ADDRESS', address: peerAddress(ip, 0) })),
  );
}

/** True for a channel number a client may bind (RFC 8656 §12: 0x4000 through 0x4FFF). */
export function isValidChannel(channel: number): boolean {
  return Number.isInteger(channel) && channel >= CHANNEL_MIN && channel <= CHANNEL_MAX;
}

/** RFC 8656 §12.1: ChannelBind with CHANNEL-NUMBER and XOR-PEER-ADDRESS. */
export function channelBindRequest(transactionId: Uint8Array, channel: number, peer: TransportAddress): StunMessage {
  if (!isValidChannel(channel)) throw new RangeError(`channel 0x${channel.toString(16)} is outside 0x4000-0x4FFF`);
  return request(StunMethod.ChannelBind, transactionId, [
    { type: 'CHANNEL-NUMBER', channel },
    { type: 'XOR-PEER-ADDRESS', address: peer },
  ]);
}

/** RFC 8656 §11.1: a Send indication (XOR-PEER-ADDRESS, DATA); never authenticated. */
export function sendIndication(transactionId: Uint8Array, peer: TransportAddress, data: Uint8Array, dontFragment = false): Uint8Array {
  const attrs: StunAttribute[] = [
    { type: 'XOR-PEER-ADDRESS', address: peer },
    { type: 'DATA', data },
  ];
  if (dontFragment) attrs.push({ type: 'DONT-FRAGMENT' });
  return encodeStun({ method: StunMethod.Send, cls: StunClass.Indication, transactionId, attributes: attrs });
}

/** RFC 6062 §4.3: Connect to a peer through a TCP allocation. */
export function connectRequest(transactionId: Uint8Array, peer: TransportAddress): StunMessage {
  return request(StunMethod.Connect, transactionId, [{ type: 'XOR-PEER-ADDRESS', address: peer }]);
}

/** RFC 6062 §4.4: ConnectionBind on a new data connection. */
export function connectionBindRequest(transactionId: Uint8Array, connectionId: number): StunMessage {
  return request(StunMethod.ConnectionBind, transactionId, [{ type: 'CONNECTION-ID', id: connectionId }]);
}

export interface AllocateResult {
  relayed: TransportAddress;
  mapped?: TransportAddress;
  /** Seconds. */
  lifetime: number;
}

export class TurnProtocolError extends Error {
  override readonly name = 'TurnProtocolError';
}

/** RFC 8656 §7.3: the success response carries XOR-RELAYED-ADDRESS, LIFETIME and XOR-MAPPED-ADDRESS. */
export function parseAllocateSuccess(m: StunMessage): AllocateResult {
  const relayed = getAttribute(m, 'XOR-RELAYED-ADDRESS')?.address;
  if (!relayed) throw new TurnProtocolError('the Allocate response has no XOR-RELAYED-ADDRESS');
  const lifetime = getAttribute(m, 'LIFETIME')?.seconds;
  if (lifetime === undefined) throw new TurnProtocolError('the Allocate response has no LIFETIME');
  const mapped = getAttribute(m, 'XOR-MAPPED-ADDRESS')?.address;
  return mapped ? { relayed, mapped, lifetime } : { relayed, lifetime };
}

/** Seconds granted by a Refresh success (RFC 8656 §8.3: LIFETIME is always present; 0 if absent). */
export function parseRefreshSuccess(m: StunMessage): number {
  return getAttribute(m, 'LIFETIME')?.seconds ?? 0;
}

/** RFC 6062 §4.3: the Connect success response names the connection. */
export function parseConnectSuccess(m: StunMessage): number {
  const id = getAttribute(m, 'CONNECTION-ID')?.id;
  if (id === undefined) throw new TurnProtocolError('the Connect response has no CONNECTION-ID');
  return id;
}

/** RFC 8656 §11.4: a Data indication's peer and payload; undefined when either is missing. */
export function parseDataIndication(m: DecodedStunMessage): { peer: TransportAddress; data: Uint8Array } | undefined {
  if (m.method !== StunMethod.Data || m.cls !== StunClass.Indication) return undefined;
  const peer = getAttribute(m, 'XOR-PEER-ADDRESS')?.address;
  const data = getAttribute(m, 'DATA')?.data;
  return peer && data ? { peer, data } : undefined;
}

/** RFC 6062 §4.5: a ConnectionAttempt indication: a peer connected to the TCP relayed address. */
export function parseConnectionAttempt(m: DecodedStunMessage): { connectionId: number; peer: TransportAddress } | undefined {
  if (m.method !== StunMethod.ConnectionAttempt || m.cls !== StunClass.Indication) return undefined;
  const id = getAttribute(m, 'CONNECTION-ID')?.id;
  const peer = getAttribute(m, 'XOR-PEER-ADDRESS')?.address;
  return id !== undefined && peer ? { connectionId: id, peer } : undefined;
}

/** ERROR-CODE of an error response as "code reason". */
export function describeError(m: StunMessage): { code: number; reason: string } {
  const e = getAttribute(m, 'ERROR-CODE');
  return { code: e?.code ?? 0, reason: e?.reason ?? '' };
}

export function methodName(method: number): string {
  for (const [name, value] of Object.entries(StunMethod)) if (value === method) return name;
  return `0x${method.toString(16)}`;
}
