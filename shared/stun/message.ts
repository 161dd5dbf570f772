/**
 * STUN message codec (RFC 8489 §5, §6, §14; TURN attributes RFC 8656; RFC 5780; RFC 6062).
 * Pure functions over bytes: no Node APIs; crypto is injected through StunCrypto. The only error
 * thrown is StunError.
 */
import { AttrType, HEADER_LENGTH, MAGIC_COOKIE, TRANSACTION_ID_LENGTH, StunClass, isComprehensionRequired } from './constants.js';
import { copyBytes, plainView } from './bytes.js';
import { decodeAttributeValue, encodeAttributeValue, isRecognisedCode, pad4 } from './attributes.js';
import { stunFingerprint } from './crc32.js';
import { constantTimeEqual, type StunCrypto } from './crypto.js';
import { StunError } from './errors.js';
import type { StunAttribute } from './attribute-types.js';

export { StunClass, StunMethod } from './constants.js';
// Convenience re-exports (the ChannelData codec lives in channel-data.ts).
export { channelDataPadding, channelDataStreamLength, decodeChannelData, decodeChannelDataView, encodeChannelData, isChannelData, type ChannelData } from './channel-data.js';
export type { StunAttribute, TransportAddress } from './attribute-types.js';

type AttributeFor<A, T> = A extends { type: infer U } ? (T extends U ? A & { type: T } : never) : never;
/**
 * The attribute shape for a type name. (A plain `Extract<StunAttribute, { type: T }>` is `never`
 * for the members that share one shape between several names, e.g. 'XOR-MAPPED-ADDRESS'; this
 * distributes over both unions instead and narrows `type` to T.)
 */
export type AttributeOf<T extends StunAttribute['type']> = AttributeFor<StunAttribute, T>;

export interface StunMessage {
  method: number;
  cls: StunClass;
  transactionId: Uint8Array; // 12 bytes
  attributes: StunAttribute[];
}

export interface DecodedStunMessage extends StunMessage {
  raw: Uint8Array; // exactly the message bytes
  integrityOffset?: number; // offset in raw of the MESSAGE-INTEGRITY attribute header
  integritySha256Offset?: number;
  fingerprintOffset?: number;
  unknownRequired: number[]; // comprehension-required types not understood (the server answers 420 with these)
}

export interface EncodeOptions {
  integrity?: { key: Uint8Array; algorithm?: 'sha1' | 'sha256' | 'both' }; // default sha1
  fingerprint?: boolean;
  crypto?: StunCrypto; // required when integrity is set
  /**
   * Value of the padding bytes (default 0). RFC 8489 §14: "The padding bits MUST be set to zero on
   * sending and MUST be ignored by the receiver"; RFC 5389 allowed any value and the RFC 5769
   * vectors pad with 0x20, so this exists to reproduce them byte for byte.
   */
  padding?: number;
}

const MI_LENGTH = 20;
const MI_SHA256_LENGTH = 32;

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * RFC 8489 §5: the message type packs the 12-bit method M11..M0 and the 2-bit class C1C0 as
 * M11-M7 C1 M6-M4 C0 M3-M0 (the top two bits being the zero bits).
 */
export function encodeMessageType(method: number, cls: StunClass): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 0x1) << 4) | ((cls & 0x2) << 7);
}

export function decodeMessageType(type: number): { method: number; cls: StunClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type >> 4) & 0x1) | ((type >> 7) & 0x2)) as StunClass;
  return { method, cls };
}

/**
 * RFC 8489 §5: "The most significant 2 bits of every STUN message MUST be zeroes." "The Magic
 * Cookie field MUST contain the fixed value 0x2112A442 in network byte order." "The message length
 * MUST contain the size of the message in bytes, not including the 20-byte STUN header. Since all
 * STUN attributes are padded to a multiple of 4 bytes, the last 2 bits of this field are always
 * zero." Here "consistent" means the bytes hold exactly header + length.
 */
export function isStunMessage(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_LENGTH) return false;
  if ((bytes[0]! & 0xc0) !== 0) return false;
  if (u32(bytes, 4) !== MAGIC_COOKIE) return false;
  const length = u16(bytes, 2);
  return length % 4 === 0 && bytes.length === HEADER_LENGTH + length;
}

/**
 * Method, class and transaction id of something with a valid STUN header (top bits, magic
 * cookie), even if the rest is malformed: lets a server answer 400 to a message that decodeStun
 * rejected with 'bad-attribute'. Undefined if the header itself is not STUN.
 */
export function peekStunHeader(bytes: Uint8Array): { method: number; cls: StunClass; transactionId: Uint8Array } | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_LENGTH) return undefined;
  if ((bytes[0]! & 0xc0) !== 0 || u32(bytes, 4) !== MAGIC_COOKIE) return undefined;
  return { ...decodeMessageType(u16(bytes, 0)), transactionId: copyBytes(bytes, 8, 20) };
}

interface RawAttribute {
  code: number;
  offset: number; // of the attribute header
  length: number; // of the value, unpadded
}

/**
 * Decodes one STUN message occupying all of `bytes`. Throws StunError:
 * 'truncated' (shorter than the header or the header's length), 'not-stun' (top bits, magic
 * cookie; RFC 3489 messages without the cookie are rejected), 'bad-length' (length not a multiple
 * of 4, trailing bytes, an attribute overrunning the message), 'bad-fingerprint', 'bad-attribute'.
 */
export function decodeStun(bytes: Uint8Array): DecodedStunMessage {
  if (!(bytes instanceof Uint8Array)) throw new StunError('not-stun', 'input is not a Uint8Array');
  bytes = plainView(bytes); // a Buffer's slice() would alias; raw is a plain view of the input
  if (bytes.length < HEADER_LENGTH) throw new StunError('truncated', `${bytes.length} bytes is shorter than the STUN header`);
  // RFC 8489 §5: "The most significant 2 bits of every STUN message MUST be zeroes."
  if ((bytes[0]! & 0xc0) !== 0) throw new StunError('not-stun', 'the top two bits are not zero');
  // RFC 8489 §5: "The Magic Cookie field MUST contain the fixed value 0x2112A442 in network byte order."
  if (u32(bytes, 4) !== MAGIC_COOKIE) throw new StunError('not-stun', 'no magic cookie (RFC 3489 messages are not accepted)');
  const length = u16(bytes, 2);
  // RFC 8489 §5: "the last 2 bits of this field are always zero."
  if (length % 4 !== 0) throw new StunError('bad-length', `message length ${length} is not a multiple of 4`);
  const end = HEADER_LENGTH + length;
  if (bytes.length < end) throw new StunError('truncated', `message length ${length} needs ${end} bytes, have ${bytes.length}`);
  if (bytes.length > end) throw new StunError('bad-length', `${bytes.length - end} bytes after the message`);

  const { method, cls } = decodeMessageType(u16(bytes, 0));
  const transactionId = copyBytes(bytes, 8, HEADER_LENGTH);

  // Pass 1: framing and placement.
  // RFC 8489 §14: "Each STUN attribute MUST end on a 32-bit boundary." "The value in the length
  // field MUST contain the length of the Value part of the attribute, prior to padding, measured
  // in bytes." "The padding bits MUST be set to zero on sending and MUST be ignored by the receiver."
  const kept: RawAttribute[] = [];
  let integrityOffset: number | undefined;
  let integritySha256Offset: number | undefined;
  let fingerprintOffset: number | undefined;
  let fingerprintValueOffset = 0;
  // 0: before any integrity attribute; 1: after MESSAGE-INTEGRITY; 2: after MESSAGE-INTEGRITY-SHA256.
  let phase: 0 | 1 | 2 = 0;
  for (let o = HEADER_LENGTH; o < end; ) {
    if (o + 4 > end) throw new StunError('bad-length', 'truncated attribute header');
    const code = u16(bytes, o);
    const alen = u16(bytes, o + 2);
    if (o + 4 + alen > end) throw new StunError('bad-length', `attribute 0x${code.toString(16)} overruns the message`);
    const next = o + 4 + pad4(alen);
    // RFC 8489 §14.7: "When present, the FINGERPRINT attribute MUST be the last attribute in the message".
    if (fingerprintOffset !== undefined) throw new StunError('bad-fingerprint', 'FINGERPRINT is not the last attribute');
    if (code === AttrType.FINGERPRINT) {
      if (alen !== 4) throw new StunError('bad-attribute', `FINGERPRINT: value length ${alen}, expected 4`);
      fingerprintOffset = o;
      fingerprintValueOffset = o + 4;
      kept.push({ code, offset: o, length: alen });
    } else if (phase === 0) {
      // RFC 8489 §9: "agents MUST ignore all attributes that follow MESSAGE-INTEGRITY, with the
      // exception of the MESSAGE-INTEGRITY-SHA256 and FINGERPRINT attributes. Similarly, agents
      // MUST ignore all attributes that follow the MESSAGE-INTEGRITY-SHA256 attribute if the
      // MESSAGE-INTEGRITY attribute is not present, with the exception of the FINGERPRINT attribute."
      // (§14.5 and §14.6 restate the rule for each attribute.)
      if (code === AttrType.MESSAGE_INTEGRITY) {
        integrityOffset = o;
        phase = 1;
      } else if (code === AttrType.MESSAGE_INTEGRITY_SHA256) {
        integritySha256Offset = o;
        phase = 2;
      }
      kept.push({ code, offset: o, length: alen });
    } else if (phase === 1 && code === AttrType.MESSAGE_INTEGRITY_SHA256) {
      integritySha256Offset = o;
      phase = 2;
      kept.push({ code, offset: o, length: alen });
    }
    // else: ignored (RFC 8489 §9 / §14.5 / §14.6), not even decoded.
    o = next;
  }

  // RFC 8489 §14.7: "The value of the attribute is computed as the CRC-32 of the STUN message up to
  // (but excluding) the FINGERPRINT attribute itself, XOR'ed with the 32-bit value 0x5354554e."
  // FINGERPRINT is last, so the header's length field already is the one the sender used.
  if (fingerprintOffset !== undefined) {
    const expected = stunFingerprint(bytes, 0, fingerprintOffset);
    if (u32(bytes, fingerprintValueOffset) !== expected) throw new StunError('bad-fingerprint', 'FINGERPRINT does not match');
  }

  // Pass 2: attribute values.
  const attributes: StunAttribute[] = [];
  const unknownRequired: number[] = [];
  for (const a of kept) {
    const value = bytes.subarray(a.offset + 4, a.offset + 4 + a.length);
    const attr = decodeAttributeValue(a.code, value, transactionId);
    if (attr) {
      attributes.push(attr);
      continue;
    }
    attributes.push({ type: 'UNKNOWN', code: a.code, value: copyBytes(value) });
    // RFC 8489 §14: "Attributes with type values between 0x0000 and 0x7FFF are
    // comprehension-required attributes, which means that the STUN agent cannot successfully
    // process the message unless it understands the attribute." §6.3.1: the server "replies with
    // an error response with an error code of 420 (Unknown Attribute) and includes an
    // UNKNOWN-ATTRIBUTES attribute in the response that lists the unknown comprehension-required
    // attributes."
    if (isComprehensionRequired(a.code) && !isRecognisedCode(a.code) && !unknownRequired.includes(a.code)) {
      unknownRequired.push(a.code);
    }
  }

  const decoded: DecodedStunMessage = { method, cls, transactionId, attributes, raw: bytes, unknownRequired };
  if (integrityOffset !== undefined) decoded.integrityOffset = integrityOffset;
  if (integritySha256Offset !== undefined) decoded.integritySha256Offset = integritySha256Offset;
  if (fingerprintOffset !== undefined) decoded.fingerprintOffset = fingerprintOffset;
  return decoded;
}

function checkHeaderFields(message: StunMessage): void {
  if (message === null || typeof message !== 'object') throw new StunError('bad-attribute', 'message is not an object');
  const { method, cls, transactionId } = message;
  if (typeof method !== 'number' || !Number.isInteger(method) || method < 0 || method > 0xfff) {
    throw new StunError('bad-attribute', `method ${String(method)} is not a 12-bit number`);
  }
  if (cls !== 0 && cls !== 1 && cls !== 2 && cls !== 3) throw new StunError('bad-attribute', `class ${String(cls)} is not 0-3`);
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new StunError('bad-attribute', 'the transaction id must be 12 bytes');
  }
  if (!Array.isArray(message.attributes)) throw new StunError('bad-attribute', 'attributes must be an array');
}

function isComputedAttribute(a: StunAttribute): boolean {
  return a.type === 'MESSAGE-INTEGRITY' || a.type === 'MESSAGE-INTEGRITY-SHA256' || a.type === 'FINGERPRINT';
}

/**
 * Encodes a message: attributes in the given order, each padded to 4 bytes; MESSAGE-INTEGRITY*
 * and FINGERPRINT entries in `message.attributes` are ignored and computed from `options`, placed
 * last in the RFC order (MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT). Throws
 * StunError('bad-attribute') on unencodable values and StunError('bad-length') when the message
 * would not fit the 16-bit length field.
 */
export function encodeStun(message: StunMessage, options: EncodeOptions = {}): Uint8Array {
  checkHeaderFields(message);
  const padByte = options.padding ?? 0;
  if (!Number.isInteger(padByte) || padByte < 0 || padByte > 0xff) throw new StunError('bad-attribute', 'padding must be a byte value');

  const encoded: Array<{ code: number; value: Uint8Array }> = [];
  for (const attr of message.attributes) {
    if (attr !== null && typeof attr === 'object' && isComputedAttribute(attr)) continue;
    const e = encodeAttributeValue(attr, message.transactionId);
    if (
      attr.type === 'UNKNOWN' &&
      (e.code === AttrType.MESSAGE_INTEGRITY || e.code === AttrType.MESSAGE_INTEGRITY_SHA256 || e.code === AttrType.FINGERPRINT)
    ) {
      throw new StunError('bad-attribute', `UNKNOWN attribute with the reserved code 0x${e.code.toString(16)}; use EncodeOptions`);
    }
    if (e.value.length > 0xffff) throw new StunError('bad-length', `attribute ${attr.type} value is longer than 65535 bytes`);
    encoded.push(e);
  }

  const integrity = options.integrity;
  const algorithm = integrity ? (integrity.algorithm ?? 'sha1') : undefined;
  if (algorithm !== undefined && algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'both') {
    throw new StunError('bad-attribute', `unknown integrity algorithm ${String(algorithm)}`);
  }
  const withSha1 = algorithm === 'sha1' || algorithm === 'both';
  const withSha256 = algorithm === 'sha256' || algorithm === 'both';
  const crypto = options.crypto;
  if (integrity) {
    if (!crypto) throw new StunError('bad-attribute', 'EncodeOptions.crypto is required for MESSAGE-INTEGRITY');
    if (!(integrity.key instanceof Uint8Array)) throw new StunError('bad-attribute', 'the integrity key must be a Uint8Array');
  }

  let bodyLength = 0;
  for (const e of encoded) bodyLength += 4 + pad4(e.value.length);
  if (withSha1) bodyLength += 4 + MI_LENGTH;
  if (withSha256) bodyLength += 4 + MI_SHA256_LENGTH;
  if (options.fingerprint) bodyLength += 8;
  if (bodyLength > 0xffff) throw new StunError('bad-length', `message body of ${bodyLength} bytes does not fit the length field`);

  const out = new Uint8Array(HEADER_LENGTH + bodyLength);
  put16(out, 0, encodeMessageType(message.method, message.cls));
  put32(out, 4, MAGIC_COOKIE);
  out.set(message.transactionId, 8);
  let o = HEADER_LENGTH;
  for (const e of encoded) {
    put16(out, o, e.code);
    put16(out, o + 2, e.value.length);
    out.set(e.value, o + 4);
    const padded = pad4(e.value.length);
    if (padByte !== 0) out.fill(padByte, o + 4 + e.value.length, o + 4 + padded);
    o += 4 + padded;
  }

  if (integrity && crypto) {
    // RFC 8489 §14.5: "The text used as input to HMAC is the STUN message, up to and including the
    // attribute preceding the MESSAGE-INTEGRITY attribute. The Length field of the STUN message
    // header is adjusted to point to the end of the MESSAGE-INTEGRITY attribute."
    if (withSha1) {
      put16(out, 2, o + 4 + MI_LENGTH - HEADER_LENGTH);
      const hmac = crypto.hmacSha1(integrity.key, out.subarray(0, o));
      if (hmac.length !== MI_LENGTH) throw new StunError('bad-attribute', 'hmacSha1 did not return 20 bytes');
      put16(out, o, AttrType.MESSAGE_INTEGRITY);
      put16(out, o + 2, MI_LENGTH);
      out.set(hmac, o + 4);
      o += 4 + MI_LENGTH;
    }
    // RFC 8489 §14.6: the same for MESSAGE-INTEGRITY-SHA256, "up to and including the attribute
    // preceding the MESSAGE-INTEGRITY-SHA256 attribute" with the length "adjusted to point to the
    // end of the MESSAGE-INTEGRITY-SHA256 attribute".
    if (withSha256) {
      put16(out, 2, o + 4 + MI_SHA256_LENGTH - HEADER_LENGTH);
      const hmac = crypto.hmacSha256(integrity.key, out.subarray(0, o));
      if (hmac.length !== MI_SHA256_LENGTH) throw new StunError('bad-attribute', 'hmacSha256 did not return 32 bytes');
      put16(out, o, AttrType.MESSAGE_INTEGRITY_SHA256);
      put16(out, o + 2, MI_SHA256_LENGTH);
      out.set(hmac, o + 4);
      o += 4 + MI_SHA256_LENGTH;
    }
  }
  put16(out, 2, bodyLength);
  if (options.fingerprint) {
    // RFC 8489 §14.7: "the CRC used in the FINGERPRINT attribute covers the Length field from the
    // STUN message header. Therefore, prior to computation of the CRC, this value must be correct
    // and include the CRC attribute as part of the message length."
    put16(out, o, AttrType.FINGERPRINT);
    put16(out, o + 2, 4);
    put32(out, o + 4, stunFingerprint(out, 0, o));
    o += 8;
  }
  return out;
}

/**
 * Recomputes MESSAGE-INTEGRITY ('sha1') or MESSAGE-INTEGRITY-SHA256 ('sha256') over `decoded.raw`
 * and compares in constant time. False if the attribute is absent.
 *
 * RFC 8489 §14.5: "when validating the MESSAGE-INTEGRITY, the Length field in the STUN header
 * must be adjusted to point to the end of the MESSAGE-INTEGRITY attribute prior to calculating the
 * HMAC over the STUN message, up to and including the attribute preceding the MESSAGE-INTEGRITY
 * attribute. Such adjustment is necessary when attributes, such as FINGERPRINT and
 * MESSAGE-INTEGRITY-SHA256, appear after MESSAGE-INTEGRITY." §14.6 says the same for
 * MESSAGE-INTEGRITY-SHA256, whose value may be truncated (16 to 32 bytes): the received bytes are
 * compared with that many leading bytes of the HMAC.
 */
export function verifyIntegrity(decoded: DecodedStunMessage, key: Uint8Array, crypto: StunCrypto, algorithm: 'sha1' | 'sha256'): boolean {
  const offset = algorithm === 'sha256' ? decoded.integritySha256Offset : decoded.integrityOffset;
  const raw = decoded.raw;
  if (offset === undefined || offset < HEADER_LENGTH || offset + 4 > raw.length) return false;
  const valueLength = u16(raw, offset + 2);
  if (offset + 4 + valueLength > raw.length) return false;
  if (algorithm === 'sha1' ? valueLength !== MI_LENGTH : valueLength < 16 || valueLength > MI_SHA256_LENGTH || valueLength % 4 !== 0) return false;
  const input = copyBytes(raw, 0, offset); // a copy: the length field is rewritten below
  put16(input, 2, offset + 4 + valueLength - HEADER_LENGTH);
  const mac = algorithm === 'sha1' ? crypto.hmacSha1(key, input) : crypto.hmacSha256(key, input);
  if (mac.length < valueLength) return false;
  return constantTimeEqual(mac.subarray(0, valueLength), raw.subarray(offset + 4, offset + 4 + valueLength));
}

/** The first attribute of the given type, if any. */
export function getAttribute<T extends StunAttribute['type']>(m: StunMessage, type: T): AttributeOf<T> | undefined {
  return m.attributes.find((a) => a.type === type) as AttributeOf<T> | undefined;
}

/** Every attribute of the given type, in message order. */
export function getAttributes<T extends StunAttribute['type']>(m: StunMessage, type: T): Array<AttributeOf<T>> {
  return m.attributes.filter((a) => a.type === type) as Array<AttributeOf<T>>;
}

/**
 * A fresh transaction id from `random` (a CSPRNG: RFC 8489 §6 wants it "uniformly and randomly
 * chosen from the interval 0 .. 2**96-1, and MUST be cryptographically random").
 */
export function newTransactionId(random: (n: number) => Uint8Array): Uint8Array {
  const r = random(TRANSACTION_ID_LENGTH);
  if (!(r instanceof Uint8Array) || r.length < TRANSACTION_ID_LENGTH) {
    throw new StunError('bad-attribute', 'the random source did not return 12 bytes');
  }
  return copyBytes(r, 0, TRANSACTION_ID_LENGTH);
}

/** A success or error response skeleton for `request` (same method and transaction id). */
export function responseTo(request: StunMessage, cls: StunClass, attributes: StunAttribute[]): StunMessage {
  return { method: request.method, cls, transactionId: copyBytes(request.transactionId), attributes };
}
