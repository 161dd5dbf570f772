/**
 * Punch probes (issue 9): the UDP datagrams two peers send each other to open their NATs, as pure
 * functions over bytes. A probe names the session and proves knowledge of the tunnel secret; the
 * HMAC is injected (`Hmac`; io/stun-crypto.ts's nodeStunCrypto.hmacSha256 fits) so that this file
 * stays free of Node APIs.
 *
 *   0          3    4      5      6      7      8                24        28              44
 *   +----------+----+------+------+------+------+----------------+---------+---------------+
 *   | magic    | ver| kind | dir  | flags| 0    | session id (16)| seq u32 | MAC (16)      |
 *   | c2 42 50 | 01 |      |      |      |      |                |   BE    |               |
 *   +----------+----+------+------+------+------+----------------+---------+---------------+
 *
 * kind: 1 request, 2 response (echoes the request's seq). dir: 1 offerer -> answerer, 2 answerer ->
 * offerer. flags: bit 0 "nominate" (requests only: the offerer picks this path); other bits 0.
 * MAC = first 16 bytes of HMAC-SHA256(key, "burrow-p2p-probe" || bytes 0..28 || offer nonce ||
 * answer nonce), key = HMAC-SHA256(secret, "burrow-p2p-probe-key" || session id) (probeKey below).
 * The key comes from the secret itself, not from the secret tunnel key the server holds, so the
 * server cannot forge probes either.
 *
 * Demultiplexing on the punching socket (which later carries udx too): STUN starts with 0b00 (first
 * byte 0..3; RFC 7983 §7), udx-native packets with 0xff and version 1 (seen on the wire: a data
 * packet starts ff 01 01 00, a 20-byte header). The probe's first byte 0xc2 is neither, nor DTLS,
 * TURN ChannelData or RTP (RFC 7983's ranges stop at 191).
 */
import { constantTimeEqual } from '../stun/crypto.js';
import { utf8Encoder } from '../utf8.js';
import { concatBytes } from '../bytes.js';

/** HMAC-SHA256(key, data). */
export type Hmac = (key: Uint8Array, data: Uint8Array) => Uint8Array;

export const PROBE_MAGIC: readonly number[] = [0xc2, 0x42, 0x50];
export const PROBE_VERSION = 1;
export const PROBE_LENGTH = 44;
/**
 * RFC 2104 §5: "we recommend that the output length t be not less than half the length of the hash
 * output (to match the birthday attack bound) and not less than 80 bits".
 */
export const PROBE_MAC_LENGTH = 16;
const MAC_AT = 28;
const SESSION_ID_LENGTH = 16;
const NONCE_LENGTH = 16;

export type ProbeKind = 'request' | 'response';
export type ProbeDirection = 'offerer-to-answerer' | 'answerer-to-offerer';

export interface Probe {
  kind: ProbeKind;
  direction: ProbeDirection;
  /** Requests only: the offerer asks the answerer to use the path this probe travelled. */
  nominate: boolean;
  /** Requests: the sender's sequence number; responses: the sequence number of the request answered. */
  seq: number;
}

export interface DecodedProbe extends Probe {
  sessionId: Uint8Array;
}

/** What a session needs to make and check probes. */
export interface ProbeContext {
  hmac: Hmac;
  /** probeKey(hmac, secret, sessionId). */
  key: Uint8Array;
  sessionId: Uint8Array;
  offerNonce: Uint8Array;
  answerNonce: Uint8Array;
}

/** Why a datagram was not accepted as a probe of this session (counted per reason). */
export type ProbeRejectReason =
  | 'not-a-probe' // no magic: STUN, udx or noise
  | 'bad-version'
  | 'bad-length'
  | 'bad-field' // unknown kind, direction or flags, reserved byte set, nominate on a response
  | 'wrong-session'
  | 'wrong-direction' // one of our own probes sent back to us
  | 'bad-mac'; // does not prove the secret (or was changed on the way)

/** The only error this codec throws. */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(
    readonly reason: ProbeRejectReason,
    message: string,
  ) {
    super(message);
  }
}

const MAC_LABEL = utf8Encoder.encode('burrow-p2p-probe');
const KEY_LABEL = utf8Encoder.encode('burrow-p2p-probe-key');


/** The per-session probe key: HMAC-SHA256(secret, "burrow-p2p-probe-key" || session id). */
export function probeKey(hmac: Hmac, secret: string | Uint8Array, sessionId: Uint8Array): Uint8Array {
  return hmac(typeof secret === 'string' ? utf8Encoder.encode(secret) : secret, concatBytes(KEY_LABEL, sessionId));
}

/** Starts with the probe magic: the socket's demultiplexer hands it to the punch session, not to udx or STUN. */
export function looksLikeProbe(datagram: Uint8Array): boolean {
  return datagram.length >= PROBE_MAGIC.length && PROBE_MAGIC.every((b, i) => datagram[i] === b);
}

function checkContext(ctx: ProbeContext): void {
  if (ctx.sessionId.length !== SESSION_ID_LENGTH) throw new RangeError('probe session id must be 16 bytes');
  if (ctx.offerNonce.length !== NONCE_LENGTH || ctx.answerNonce.length !== NONCE_LENGTH) throw new RangeError('probe nonces must be 16 bytes');
}

function mac(ctx: ProbeContext, header: Uint8Array): Uint8Array {
  return ctx.hmac(ctx.key, concatBytes(MAC_LABEL, header, ctx.offerNonce, ctx.answerNonce)).subarray(0, PROBE_MAC_LENGTH);
}

export function encodeProbe(ctx: ProbeContext, probe: Probe): Uint8Array {
  checkContext(ctx);
  if (!Number.isInteger(probe.seq) || probe.seq < 0 || probe.seq > 0xffffffff) throw new RangeError('probe seq must be a u32');
  if (probe.nominate && probe.kind !== 'request') throw new RangeError('only a request can nominate');
  const out = new Uint8Array(PROBE_LENGTH);
  out.set(PROBE_MAGIC, 0);
  out[3] = PROBE_VERSION;
  out[4] = probe.kind === 'request' ? 1 : 2;
  out[5] = probe.direction === 'offerer-to-answerer' ? 1 : 2;
  out[6] = probe.nominate ? 1 : 0;
  out[7] = 0;
  out.set(ctx.sessionId, 8);
  new DataView(out.buffer).setUint32(24, probe.seq, false);
  out.set(mac(ctx, out.subarray(0, MAC_AT)), MAC_AT);
  return out;
}

/** The fields of a probe, checked for form only (no key needed). Throws ProbeError. */
export function decodeProbe(datagram: Uint8Array): DecodedProbe {
  if (!looksLikeProbe(datagram)) throw new ProbeError('not-a-probe', 'no probe magic');
  if (datagram.length < 4 || datagram[3] !== PROBE_VERSION) throw new ProbeError('bad-version', `probe version ${datagram[3] ?? 'missing'}`);
  if (datagram.length !== PROBE_LENGTH) throw new ProbeError('bad-length', `probe of ${datagram.length} bytes, expected ${PROBE_LENGTH}`);
  const kindByte = datagram[4];
  const dirByte = datagram[5];
  const flags = datagram[6]!;
  if (kindByte !== 1 && kindByte !== 2) throw new ProbeError('bad-field', `probe kind ${kindByte}`);
  if (dirByte !== 1 && dirByte !== 2) throw new ProbeError('bad-field', `probe direction ${dirByte}`);
  if ((flags & ~1) !== 0 || datagram[7] !== 0) throw new ProbeError('bad-field', 'probe flags or reserved byte set');
  const kind: ProbeKind = kindByte === 1 ? 'request' : 'response';
  const nominate = flags === 1;
  if (nominate && kind !== 'request') throw new ProbeError('bad-field', 'a response cannot nominate');
  return {
    kind,
    direction: dirByte === 1 ? 'offerer-to-answerer' : 'answerer-to-offerer',
    nominate,
    sessionId: datagram.slice(8, 24),
    seq: new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength).getUint32(24, false),
  };
}

/**
 * A probe of this session from the peer: form, session, direction (`from`: the peer's direction)
 * and MAC (compared in constant time). Throws ProbeError with the reason otherwise.
 */
export function openProbe(ctx: ProbeContext, datagram: Uint8Array, from: ProbeDirection): Probe {
  checkContext(ctx);
  const p = decodeProbe(datagram);
  if (!constantTimeEqual(p.sessionId, ctx.sessionId)) throw new ProbeError('wrong-session', 'probe of another session');
  if (p.direction !== from) throw new ProbeError('wrong-direction', `probe sent ${p.direction}, expected ${from}`);
  if (!constantTimeEqual(mac(ctx, datagram.subarray(0, MAC_AT)), datagram.subarray(MAC_AT))) throw new ProbeError('bad-mac', 'probe MAC does not match');
  return { kind: p.kind, direction: p.direction, nominate: p.nominate, seq: p.seq };
}
