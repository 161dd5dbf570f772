/**
 * The STUN Binding service (RFC 8489 §6.3, RFC 5780 §6.1), as a pure decision: a decoded request
 * and where it came from in, "send this response from that address (to that port)" or "drop" out.
 * No sockets, no clock; the listener (`stun-listener.ts`) carries out the decision and encodes the
 * response with FINGERPRINT.
 *
 * Rules, in order:
 * 1. Only Binding requests are answered. Binding indications are keepalives (no response); any
 *    other class or method is dropped (other methods are the listener's / TURN core's job).
 * 2. Unknown comprehension-required attributes -> 420 with UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1.1).
 * 3. RESPONSE-PORT (RFC 5780 §7.5): UDP only (400 on TCP/TLS), port 1-65535, and not together with
 *    PADDING (400, RFC 5780 §6.1). The response goes to that port of the client's IP.
 * 4. CHANGE-REQUEST (RFC 5780 §7.2) with a flag set: only over UDP (400 on a stream: a TCP/TLS answer
 *    can only come back on its connection) and only when the server has the alternate IP / port
 *    (`ctx.canChange`), else 420 with UNKNOWN-ATTRIBUTES [CHANGE-REQUEST] (RFC 5780 §6.1). A
 *    CHANGE-REQUEST with no flag set (jstun sends those) is accepted as a no-op.
 * 5. Success: XOR-MAPPED-ADDRESS and MAPPED-ADDRESS (RFC 5780 §6.1 asks for both); with RFC 5780
 *    on (`ctx.otherAddress`), RESPONSE-ORIGIN and OTHER-ADDRESS, each left out when its IP is
 *    unspecified (a wildcard-bound UDP socket does not know which of the host's addresses the client
 *    reached); SOFTWARE (cut to 64 bytes).
 *
 * One IP, two ports (`stun.alternate` without `ip`): OTHER-ADDRESS names the same IP and the other
 * port, and change-port is honoured. RFC 5780 §6.1 would have a server without a second IP send no
 * OTHER-ADDRESS and 420 every CHANGE-REQUEST; Burrow's own NAT discovery
 * (engine/stun/nat-classify.ts, "alternate: 'port'") uses this port-only mode and knows
 * that it cannot tell address-dependent from endpoint-independent mapping with it.
 * 6. PADDING (RFC 5780 §7.6): UDP only (ignored on streams); see the amplification rule.
 *
 * Amplification rule (Binding is never authenticated here, so any response can be triggered by a
 * spoofed source): an encoded response is never larger than `request length + MAX_RESPONSE_GROWTH`,
 * and PADDING never makes it larger than the request itself: the response's PADDING is
 * min(requested PADDING, request length - unpadded response length), rounded down to 4 bytes, and
 * left out when that is 0. So padded requests get at most a same-size answer, and an unpadded 20-byte
 * request gets at most 220 bytes (the largest unpadded response, IPv6 with every RFC 5780 attribute
 * and a 64-byte SOFTWARE, is 192). Error responses quote at most MAX_UNKNOWN_LISTED attribute types.
 */
import { isWildcard } from '../../shared/net/address.js';
import type { ClientProtocol } from './client-transport.js';
import { AttrType, ErrorCode, HEADER_LENGTH, StunClass, StunMethod } from '../../shared/stun/constants.js';
import {
  getAttribute,
  responseTo,
  type DecodedStunMessage,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from '../../shared/stun/message.js';

/** Bytes an unauthenticated response may add over its request (see the amplification rule). */
export const MAX_RESPONSE_GROWTH = 200;
/** SOFTWARE is cut to this many UTF-8 bytes. */
export const MAX_SOFTWARE_BYTES = 64;
/** At most this many types in a 420's UNKNOWN-ATTRIBUTES. */
export const MAX_UNKNOWN_LISTED = 16;

export interface BindingClient {
  /** The client's address as seen by the server (IPv4-mapped IPv6 already turned into IPv4). */
  readonly remote: TransportAddress;
  /** The server address the request arrived on. */
  readonly local: TransportAddress;
  readonly protocol: ClientProtocol;
}

export interface BindingContext {
  readonly software: string;
  /**
   * RFC 5780 is on: the address that differs from `local` in both IP and port (OTHER-ADDRESS).
   * With a single IP it has the same IP as `local` and the alternate port.
   */
  readonly otherAddress?: TransportAddress;
  /** Whether the listener has a socket on the alternate IP / alternate port (UDP). */
  readonly canChange: { readonly ip: boolean; readonly port: boolean };
}

/** Which of the server's addresses sends the response, relative to the one the request reached. */
export type ResponseSource = 'same' | 'change-ip' | 'change-port' | 'change-both';

export type BindingOutcome =
  | {
      readonly kind: 'respond';
      readonly response: StunMessage;
      readonly from: ResponseSource;
      /** RESPONSE-PORT: send to this port of the client's IP instead of its source port. */
      readonly toPort?: number;
      /** Set for error responses (400, 420). */
      readonly errorCode?: number;
    }
  | { readonly kind: 'drop'; readonly reason: string };

export function handleBinding(request: DecodedStunMessage, client: BindingClient, ctx: BindingContext): BindingOutcome {
  if (request.method !== StunMethod.Binding) return { kind: 'drop', reason: 'not a Binding message' };
  if (request.cls === StunClass.Indication) return { kind: 'drop', reason: 'Binding indication (keepalive)' };
  if (request.cls !== StunClass.Request) return { kind: 'drop', reason: 'not a request' };

  const software = truncateUtf8(ctx.software, MAX_SOFTWARE_BYTES);
  const requestLength = request.raw.length;
  const fail = (code: number, reason: string, unknown?: readonly number[], toPort?: number): BindingOutcome => ({
    kind: 'respond',
    response: errorResponse(request, code, reason, software, unknown),
    from: 'same',
    errorCode: code,
    ...(toPort !== undefined ? { toPort } : {}),
  });

  if (request.unknownRequired.length > 0) {
    const unknown = [...new Set(request.unknownRequired)];
    return fail(ErrorCode.UnknownAttribute, 'Unknown Attribute', unknown);
  }

  const udp = client.protocol === 'udp';
  const responsePort = getAttribute(request, 'RESPONSE-PORT');
  const padding = getAttribute(request, 'PADDING');
  const change = getAttribute(request, 'CHANGE-REQUEST');

  let toPort: number | undefined;
  if (responsePort) {
    if (!udp) return fail(ErrorCode.BadRequest, 'RESPONSE-PORT is for UDP only');
    if (padding) return fail(ErrorCode.BadRequest, 'RESPONSE-PORT and PADDING together');
    if (responsePort.port === 0) return fail(ErrorCode.BadRequest, 'RESPONSE-PORT 0');
    toPort = responsePort.port;
  }

  let from: ResponseSource = 'same';
  if (change && (change.changeIp || change.changePort)) {
    if (!udp) return fail(ErrorCode.BadRequest, 'CHANGE-REQUEST is for UDP only');
    const other = ctx.otherAddress;
    if (!other || (change.changeIp && !ctx.canChange.ip) || (change.changePort && !ctx.canChange.port)) {
      // RFC 5780 §7.5: with a valid RESPONSE-PORT the response (this one too) goes to that port,
      // where the client is listening for it (turnutils_stunclient waits there and nowhere else).
      const what = change.changeIp && !ctx.canChange.ip ? 'IP' : 'port';
      return fail(ErrorCode.UnknownAttribute, `Cannot change ${what}`, [AttrType.CHANGE_REQUEST], toPort);
    }
    from = change.changeIp ? (change.changePort ? 'change-both' : 'change-ip') : 'change-port';
  }

  const attributes: StunAttribute[] = [
    { type: 'XOR-MAPPED-ADDRESS', address: client.remote },
    { type: 'MAPPED-ADDRESS', address: client.remote },
  ];
  if (ctx.otherAddress) {
    const origin = responseOrigin(client.local, ctx.otherAddress, from);
    if (!isWildcard(origin.address)) attributes.push({ type: 'RESPONSE-ORIGIN', address: origin });
    if (!isWildcard(ctx.otherAddress.address)) attributes.push({ type: 'OTHER-ADDRESS', address: ctx.otherAddress });
  }
  if (software) attributes.push({ type: 'SOFTWARE', value: software });

  if (padding && udp) {
    // The room left under the request's own size, after the unpadded response (+ FINGERPRINT).
    const unpadded = responseLength(attributes);
    const room = requestLength - unpadded - 4; // 4: the PADDING attribute's own header
    const length = Math.floor(Math.min(padding.length, room) / 4) * 4;
    if (length > 0) attributes.push({ type: 'PADDING', length });
  }

  // Safety net for the amplification rule (the attributes above cannot exceed it).
  if (responseLength(attributes) > requestLength + MAX_RESPONSE_GROWTH) return { kind: 'drop', reason: 'response would amplify' };
  const response = responseTo(request, StunClass.SuccessResponse, attributes);
  return toPort === undefined ? { kind: 'respond', response, from } : { kind: 'respond', response, from, toPort };
}

/**
 * An error response to `request`: ERROR-CODE, UNKNOWN-ATTRIBUTES (at most MAX_UNKNOWN_LISTED types)
 * when given, SOFTWARE (cut to MAX_SOFTWARE_BYTES) unless empty.
 */
export function errorResponse(request: StunMessage, code: number, reason: string, software: string, unknown?: readonly number[]): StunMessage {
  const attributes: StunAttribute[] = [{ type: 'ERROR-CODE', code, reason }];
  if (unknown) attributes.push({ type: 'UNKNOWN-ATTRIBUTES', types: unknown.slice(0, MAX_UNKNOWN_LISTED) });
  const sw = truncateUtf8(software, MAX_SOFTWARE_BYTES);
  if (sw) attributes.push({ type: 'SOFTWARE', value: sw });
  return responseTo(request, StunClass.ErrorResponse, attributes);
}

/** The address a response is sent from: `local` with the IP and/or port swapped for the other one's. */
export function responseOrigin(local: TransportAddress, other: TransportAddress, from: ResponseSource): TransportAddress {
  switch (from) {
    case 'same':
      return local;
    case 'change-ip':
      return { family: other.family, address: other.address, port: local.port };
    case 'change-port':
      return { family: local.family, address: local.address, port: other.port };
    case 'change-both':
      return other;
  }
}

/** Encoded size of a response with these attributes and FINGERPRINT (which the listener adds). */
export function responseLength(attributes: readonly StunAttribute[]): number {
  let n = HEADER_LENGTH + 8; // FINGERPRINT
  for (const a of attributes) n += 4 + pad4(valueLength(a));
  return n;
}

function valueLength(a: StunAttribute): number {
  switch (a.type) {
    case 'XOR-MAPPED-ADDRESS':
    case 'MAPPED-ADDRESS':
    case 'RESPONSE-ORIGIN':
    case 'OTHER-ADDRESS':
      return a.address.family === 'IPv6' ? 20 : 8;
    case 'SOFTWARE':
      return utf8Length(a.value);
    case 'PADDING':
      return a.length;
    case 'ERROR-CODE':
      return 4 + utf8Length(a.reason);
    case 'UNKNOWN-ATTRIBUTES':
      return 2 * a.types.length;
    default:
      throw new Error(`responseLength: unexpected attribute ${a.type}`);
  }
}

const utf8 = new TextEncoder();

function utf8Length(text: string): number {
  return utf8.encode(text).length;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}


/** Cut to at most `max` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, max: number): string {
  if (utf8Length(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = utf8Length(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}
