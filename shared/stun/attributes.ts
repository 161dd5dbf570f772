/**
 * Attribute value codecs (RFC 8489 §14, RFC 8656 §18, RFC 5780 §7, RFC 6062 §6.2). Pure code.
 * Decoding is strict about sizes and fields a receiver cannot make sense of (StunError
 * 'bad-attribute'), lenient about reserved bits and string length limits.
 */
import { AttrType, MAGIC_COOKIE } from './constants.js';
import { addressToBytes, formatIPv4, formatIPv6 } from './address.js';
import { copyBytes } from './bytes.js';
import { StunError } from './errors.js';
// utf8Decoder is strict (fatal): a receiver must not silently alter credentials; it keeps a leading U+FEFF.
import { utf8Decoder, utf8Encoder } from '../utf8.js';
import type { StunAttribute, TransportAddress } from './attribute-types.js';
import { concatBytes } from '../bytes.js';

type KnownType = Exclude<StunAttribute['type'], 'UNKNOWN'>;

/** Attribute names to type codes (every member of StunAttribute but UNKNOWN). */
export const ATTRIBUTE_CODES: Readonly<Record<KnownType, number>> = {
  'MAPPED-ADDRESS': AttrType.MAPPED_ADDRESS,
  'XOR-MAPPED-ADDRESS': AttrType.XOR_MAPPED_ADDRESS,
  'XOR-PEER-ADDRESS': AttrType.XOR_PEER_ADDRESS,
  'XOR-RELAYED-ADDRESS': AttrType.XOR_RELAYED_ADDRESS,
  'ALTERNATE-SERVER': AttrType.ALTERNATE_SERVER,
  'RESPONSE-ORIGIN': AttrType.RESPONSE_ORIGIN,
  'OTHER-ADDRESS': AttrType.OTHER_ADDRESS,
  USERNAME: AttrType.USERNAME,
  REALM: AttrType.REALM,
  NONCE: AttrType.NONCE,
  SOFTWARE: AttrType.SOFTWARE,
  'ALTERNATE-DOMAIN': AttrType.ALTERNATE_DOMAIN,
  USERHASH: AttrType.USERHASH,
  'ERROR-CODE': AttrType.ERROR_CODE,
  'UNKNOWN-ATTRIBUTES': AttrType.UNKNOWN_ATTRIBUTES,
  'CHANNEL-NUMBER': AttrType.CHANNEL_NUMBER,
  LIFETIME: AttrType.LIFETIME,
  DATA: AttrType.DATA,
  'REQUESTED-ADDRESS-FAMILY': AttrType.REQUESTED_ADDRESS_FAMILY,
  'ADDITIONAL-ADDRESS-FAMILY': AttrType.ADDITIONAL_ADDRESS_FAMILY,
  'ADDRESS-ERROR-CODE': AttrType.ADDRESS_ERROR_CODE,
  'EVEN-PORT': AttrType.EVEN_PORT,
  'REQUESTED-TRANSPORT': AttrType.REQUESTED_TRANSPORT,
  'DONT-FRAGMENT': AttrType.DONT_FRAGMENT,
  'RESERVATION-TOKEN': AttrType.RESERVATION_TOKEN,
  'PASSWORD-ALGORITHM': AttrType.PASSWORD_ALGORITHM,
  'PASSWORD-ALGORITHMS': AttrType.PASSWORD_ALGORITHMS,
  ICMP: AttrType.ICMP,
  'CONNECTION-ID': AttrType.CONNECTION_ID,
  'CHANGE-REQUEST': AttrType.CHANGE_REQUEST,
  'RESPONSE-PORT': AttrType.RESPONSE_PORT,
  PADDING: AttrType.PADDING,
  'MESSAGE-INTEGRITY': AttrType.MESSAGE_INTEGRITY,
  'MESSAGE-INTEGRITY-SHA256': AttrType.MESSAGE_INTEGRITY_SHA256,
  FINGERPRINT: AttrType.FINGERPRINT,
};

const NAMES = new Map<number, KnownType>(Object.entries(ATTRIBUTE_CODES).map(([name, code]) => [code, name as KnownType]));

/** The attribute name for a type code, or undefined when the codec does not know it. */
export function attributeName(code: number): KnownType | undefined {
  return NAMES.get(code);
}

/**
 * Types the codec recognises without decoding: RESPONSE-ADDRESS (0x0002) was dropped by RFC 5780
 * and is "recognised only to be ignored" (constants.ts); it is surfaced as UNKNOWN but not reported
 * in `unknownRequired`.
 */
export function isRecognisedCode(code: number): boolean {
  return NAMES.has(code) || code === AttrType.RESPONSE_ADDRESS;
}

function bad(message: string): never {
  throw new StunError('bad-attribute', message);
}

function decodeUtf8(name: string, v: Uint8Array): string {
  try {
    return utf8Decoder.decode(v);
  } catch {
    return bad(`${name}: not valid UTF-8`);
  }
}

function expectLength(name: string, v: Uint8Array, n: number): void {
  if (v.length !== n) bad(`${name}: value length ${v.length}, expected ${n}`);
}

function u16(v: Uint8Array, o: number): number {
  return (v[o]! << 8) | v[o + 1]!;
}

function u32(v: Uint8Array, o: number): number {
  return ((v[o]! << 24) | (v[o + 1]! << 16) | (v[o + 2]! << 8) | v[o + 3]!) >>> 0;
}

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(`${name}: ${String(value)} is not an integer in [${min}, ${max}]`);
  }
  return value;
}

function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) bad(`${name}: expected a Uint8Array`);
  return value;
}

function familyFromByte(name: string, b: number): 'IPv4' | 'IPv6' {
  if (b === 0x01) return 'IPv4';
  if (b === 0x02) return 'IPv6';
  return bad(`${name}: unknown address family 0x${b.toString(16).padStart(2, '0')}`);
}

function familyByte(name: string, family: unknown): number {
  if (family === 'IPv4') return 0x01;
  if (family === 'IPv6') return 0x02;
  return bad(`${name}: unknown address family ${String(family)}`);
}

// ---------------------------------------------------------------------------------------------
// Addresses

/**
 * RFC 8489 §14.1 (MAPPED-ADDRESS; ALTERNATE-SERVER §14.15, RESPONSE-ORIGIN/OTHER-ADDRESS RFC 5780
 * §7.3/§7.4 share the format): "The first 8 bits of the MAPPED-ADDRESS MUST be set to 0 and MUST
 * be ignored by receivers." Family 0x01 carries 32 address bits, 0x02 carries 128.
 *
 * RFC 8489 §14.2 (XOR-MAPPED-ADDRESS; XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS, RFC 8656
 * §18.3/§18.5, share it): "X-Port is computed by XOR'ing the mapped port with the most significant
 * 16 bits of the magic cookie. If the IP address family is IPv4, X-Address is computed by XOR'ing
 * the mapped IP address with the magic cookie. If the IP address family is IPv6, X-Address is
 * computed by XOR'ing the mapped IP address with the concatenation of the magic cookie and the
 * 96-bit transaction ID."
 */
function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  mask[0] = (MAGIC_COOKIE >>> 24) & 0xff;
  mask[1] = (MAGIC_COOKIE >>> 16) & 0xff;
  mask[2] = (MAGIC_COOKIE >>> 8) & 0xff;
  mask[3] = MAGIC_COOKIE & 0xff;
  mask.set(transactionId.subarray(0, 12), 4);
  return mask;
}

function decodeAddress(name: string, v: Uint8Array, xor: boolean, transactionId: Uint8Array): TransportAddress {
  if (v.length < 4) bad(`${name}: too short`);
  const family = familyFromByte(name, v[1]!);
  const size = family === 'IPv4' ? 4 : 16;
  expectLength(name, v, 4 + size);
  let port = u16(v, 2);
  const addr = copyBytes(v, 4, 4 + size);
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16;
    const mask = xorMask(transactionId);
    for (let i = 0; i < size; i++) addr[i]! ^= mask[i]!;
  }
  return { family, address: family === 'IPv4' ? formatIPv4(addr) : formatIPv6(addr), port };
}

function encodeAddress(name: string, a: TransportAddress | undefined, xor: boolean, transactionId: Uint8Array): Uint8Array {
  if (a === null || typeof a !== 'object') bad(`${name}: missing address`);
  const fam = familyByte(name, a.family);
  const port = checkInt(`${name} port`, a.port, 0, 0xffff);
  if (typeof a.address !== 'string') bad(`${name}: address must be a string`);
  const addr = addressToBytes(a.family, a.address);
  const out = new Uint8Array(4 + addr.length);
  out[1] = fam;
  const p = xor ? port ^ (MAGIC_COOKIE >>> 16) : port;
  out[2] = p >> 8;
  out[3] = p & 0xff;
  out.set(addr, 4);
  if (xor) {
    const mask = xorMask(transactionId);
    for (let i = 0; i < addr.length; i++) out[4 + i]! ^= mask[i]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ERROR-CODE / ADDRESS-ERROR-CODE

/**
 * RFC 8489 §14.8: "The Class represents the hundreds digit of the error code. The value MUST be
 * between 3 and 6. The Number represents the binary encoding of the error code modulo 100, and its
 * value MUST be between 0 and 99." "The Reserved bits SHOULD be 0 and are for alignment on 32-bit
 * boundaries. Receivers MUST ignore these bits." The reason phrase is UTF-8; its length limit
 * (fewer than 128 characters, up to 763 bytes when decoding) is not enforced (lenient decode).
 */
function decodeErrorClassNumber(name: string, v: Uint8Array): number {
  if (v.length < 4) bad(`${name}: too short`);
  const cls = v[2]! & 0x07; // the other bits of the 21-bit Reserved field are ignored
  const num = v[3]!;
  if (cls < 3 || cls > 6) bad(`${name}: class ${cls} is not between 3 and 6`);
  if (num > 99) bad(`${name}: number ${num} is not between 0 and 99`);
  return cls * 100 + num;
}

function encodeErrorCode(name: string, first: number, code: unknown, reason: unknown): Uint8Array {
  const c = checkInt(`${name} code`, code, 300, 699);
  if (typeof reason !== 'string') bad(`${name}: reason must be a string`);
  const r = utf8Encoder.encode(reason);
  const out = new Uint8Array(4 + r.length);
  out[0] = first;
  out[2] = Math.floor(c / 100);
  out[3] = c % 100;
  out.set(r, 4);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PASSWORD-ALGORITHM(S)

/**
 * RFC 8489 §14.11/§14.12: each entry is Algorithm (16 bits), Algorithm Parameters Length (16 bits)
 * and the parameters; inside PASSWORD-ALGORITHMS each entry's parameters are padded to a 32-bit
 * boundary.
 */
function decodeAlgorithms(name: string, v: Uint8Array): Array<{ algorithm: number; params: Uint8Array }> {
  const out: Array<{ algorithm: number; params: Uint8Array }> = [];
  let o = 0;
  while (o < v.length) {
    if (o + 4 > v.length) bad(`${name}: truncated entry`);
    const algorithm = u16(v, o);
    const len = u16(v, o + 2);
    if (o + 4 + len > v.length) bad(`${name}: parameters overrun the attribute`);
    out.push({ algorithm, params: copyBytes(v, o + 4, o + 4 + len) });
    o = Math.min(v.length, o + 4 + pad4(len));
  }
  return out;
}

function encodeAlgorithmEntry(name: string, algorithm: unknown, params: unknown, padded: boolean): Uint8Array {
  const alg = checkInt(`${name} algorithm`, algorithm, 0, 0xffff);
  const p = checkBytes(`${name} params`, params);
  if (p.length > 0xffff) bad(`${name}: parameters too long`);
  const out = new Uint8Array(4 + (padded ? pad4(p.length) : p.length));
  out[0] = alg >> 8;
  out[1] = alg & 0xff;
  out[2] = p.length >> 8;
  out[3] = p.length & 0xff;
  out.set(p, 4);
  return out;
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}


function be32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

// ---------------------------------------------------------------------------------------------
// Decode / encode one attribute value

/**
 * Decodes the value `v` of an attribute with type `code`. Returns undefined for types the codec
 * does not know (the caller makes an UNKNOWN attribute of them). MESSAGE-INTEGRITY(-SHA256) and
 * FINGERPRINT are decoded here too (their placement rules are the message decoder's business).
 */
export function decodeAttributeValue(code: number, v: Uint8Array, transactionId: Uint8Array): StunAttribute | undefined {
  const type = NAMES.get(code);
  if (type === undefined) return undefined;
  switch (type) {
    case 'MAPPED-ADDRESS':
    case 'ALTERNATE-SERVER':
    case 'RESPONSE-ORIGIN':
    case 'OTHER-ADDRESS':
      return { type, address: decodeAddress(type, v, false, transactionId) };
    case 'XOR-MAPPED-ADDRESS':
    case 'XOR-PEER-ADDRESS':
    case 'XOR-RELAYED-ADDRESS':
      return { type, address: decodeAddress(type, v, true, transactionId) };
    case 'USERNAME':
    case 'REALM':
    case 'NONCE':
    case 'SOFTWARE':
    case 'ALTERNATE-DOMAIN':
      // RFC 8489 §14.3/§14.9/§14.10/§14.14: UTF-8 strings with length limits (e.g. USERNAME "fewer
      // than 509 bytes"); the limits are not enforced on decode (lenient, per the codec's brief).
      return { type, value: decodeUtf8(type, v) };
    case 'USERHASH':
      // RFC 8489 §14.4: "The value of USERHASH has a fixed length of 32 bytes."
      expectLength(type, v, 32);
      return { type, hash: copyBytes(v) };
    case 'ERROR-CODE': {
      const c = decodeErrorClassNumber(type, v);
      return { type, code: c, reason: decodeUtf8(type, v.subarray(4)) };
    }
    case 'UNKNOWN-ATTRIBUTES': {
      // RFC 8489 §14.13: "The attribute contains a list of 16-bit values, each of which represents
      // an attribute type that was not understood by the server."
      if (v.length % 2 !== 0) bad(`${type}: odd length ${v.length}`);
      const types: number[] = [];
      for (let o = 0; o < v.length; o += 2) types.push(u16(v, o));
      return { type, types };
    }
    case 'CHANNEL-NUMBER':
      // RFC 8656 §18.1: "a 16-bit unsigned integer followed by a two-octet RFFU (Reserved For
      // Future Use) field, which MUST be set to 0 on transmission and MUST be ignored on reception."
      expectLength(type, v, 4);
      return { type, channel: u16(v, 0) };
    case 'LIFETIME':
      // RFC 8656 §18.2: a 32-bit unsigned number of seconds.
      expectLength(type, v, 4);
      return { type, seconds: u32(v, 0) };
    case 'DATA':
      return { type, data: copyBytes(v) };
    case 'REQUESTED-ADDRESS-FAMILY':
    case 'ADDITIONAL-ADDRESS-FAMILY':
      // RFC 8656 §18.6/§18.11: Family (8 bits) then 24 reserved bits that "MUST be set to zero on
      // transmission and MUST be ignored on reception".
      expectLength(type, v, 4);
      return { type, family: familyFromByte(type, v[0]!) };
    case 'ADDRESS-ERROR-CODE': {
      // RFC 8656 §18.12: Family (8 bits), Reserved, Class (3 bits), Number (8 bits), Reason Phrase.
      const c = decodeErrorClassNumber(type, v);
      return { type, family: familyFromByte(type, v[0]!), code: c, reason: decodeUtf8(type, v.subarray(4)) };
    }
    case 'EVEN-PORT':
      // RFC 8656 §18.7: "The value portion of this attribute is 1 byte long"; R is the top bit and
      // "the other 7 bits of the attribute's value must be set to zero on transmission and ignored
      // on reception". Longer values are tolerated (only the first byte counts).
      if (v.length < 1) bad(`${type}: empty`);
      return { type, reserveNext: (v[0]! & 0x80) !== 0 };
    case 'REQUESTED-TRANSPORT':
      // RFC 8656 §18.8: Protocol (8 bits) then a 24-bit RFFU field that "MUST be set to zero on
      // transmission and MUST be ignored on reception".
      expectLength(type, v, 4);
      return { type, protocol: v[0]! };
    case 'DONT-FRAGMENT':
      // RFC 8656 §18.9: "This attribute has no value part, and thus, the attribute length field is 0."
      expectLength(type, v, 0);
      return { type };
    case 'RESERVATION-TOKEN':
      // RFC 8656 §18.10: "The attribute value is 8 bytes and contains the token value."
      expectLength(type, v, 8);
      return { type, token: copyBytes(v) };
    case 'PASSWORD-ALGORITHM': {
      if (v.length < 4) bad(`${type}: too short`);
      const len = u16(v, 2);
      if (4 + len > v.length) bad(`${type}: parameters overrun the attribute`);
      return { type, algorithm: u16(v, 0), params: copyBytes(v, 4, 4 + len) };
    }
    case 'PASSWORD-ALGORITHMS':
      return { type, algorithms: decodeAlgorithms(type, v) };
    case 'ICMP':
      // RFC 8656 §18.13: Reserved (16 bits), ICMP Type (8 bits), ICMP Code (8 bits), Error Data (32 bits).
      expectLength(type, v, 8);
      return { type, icmpType: v[2]!, icmpCode: v[3]!, errorData: u32(v, 4) };
    case 'CONNECTION-ID':
      // RFC 6062 §6.2.1: "It is a 32-bit unsigned integral value."
      expectLength(type, v, 4);
      return { type, id: u32(v, 0) };
    case 'CHANGE-REQUEST': {
      // RFC 5780 §7.2: 32 bits with flag A ("change IP", 0x4) and B ("change port", 0x2).
      expectLength(type, v, 4);
      const flags = u32(v, 0);
      return { type, changeIp: (flags & 0x4) !== 0, changePort: (flags & 0x2) !== 0 };
    }
    case 'RESPONSE-PORT':
      // RFC 5780 §7.5: a 16-bit port followed by 2 bytes of padding.
      expectLength(type, v, 4);
      return { type, port: u16(v, 0) };
    case 'PADDING':
      // RFC 5780 §7.6: "PADDING consists entirely of a free-form string, the value of which does not matter."
      return { type, length: v.length };
    case 'MESSAGE-INTEGRITY':
      // RFC 8489 §14.5: "Since it uses the SHA-1 hash, the HMAC will be 20 bytes."
      expectLength(type, v, 20);
      return { type, hmac: copyBytes(v) };
    case 'MESSAGE-INTEGRITY-SHA256':
      // RFC 8489 §14.6: "The value will be at most 32 bytes, but it MUST be at least 16 bytes and
      // MUST be a multiple of 4 bytes."
      if (v.length < 16 || v.length > 32 || v.length % 4 !== 0) bad(`${type}: invalid length ${v.length}`);
      return { type, hmac: copyBytes(v) };
    case 'FINGERPRINT':
      expectLength(type, v, 4);
      return { type, crc: u32(v, 0) };
  }
}

/**
 * Encodes an attribute into its type code and unpadded value. Invalid values (wrong types, out of
 * range numbers, unparsable addresses) throw StunError('bad-attribute'). MESSAGE-INTEGRITY,
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are encoded as given (the message encoder skips them and
 * computes its own).
 */
export function encodeAttributeValue(attr: StunAttribute, transactionId: Uint8Array): { code: number; value: Uint8Array } {
  if (attr === null || typeof attr !== 'object') bad('attribute is not an object');
  if (attr.type === 'UNKNOWN') {
    return { code: checkInt('UNKNOWN code', attr.code, 0, 0xffff), value: checkBytes('UNKNOWN value', attr.value) };
  }
  const code = ATTRIBUTE_CODES[attr.type];
  if (code === undefined) bad(`unknown attribute type ${JSON.stringify(attr.type)}`);
  return { code, value: encodeKnown(attr, transactionId) };
}

function encodeKnown(attr: Exclude<StunAttribute, { type: 'UNKNOWN' }>, transactionId: Uint8Array): Uint8Array {
  const type = attr.type;
  switch (attr.type) {
    case 'MAPPED-ADDRESS':
    case 'ALTERNATE-SERVER':
    case 'RESPONSE-ORIGIN':
    case 'OTHER-ADDRESS':
      return encodeAddress(type, attr.address, false, transactionId);
    case 'XOR-MAPPED-ADDRESS':
    case 'XOR-PEER-ADDRESS':
    case 'XOR-RELAYED-ADDRESS':
      return encodeAddress(type, attr.address, true, transactionId);
    case 'USERNAME':
    case 'REALM':
    case 'NONCE':
    case 'SOFTWARE':
    case 'ALTERNATE-DOMAIN':
      if (typeof attr.value !== 'string') bad(`${type}: value must be a string`);
      return utf8Encoder.encode(attr.value);
    case 'USERHASH': {
      const h = checkBytes(type, attr.hash);
      expectLength(type, h, 32);
      return h;
    }
    case 'ERROR-CODE':
      return encodeErrorCode(type, 0, attr.code, attr.reason);
    case 'ADDRESS-ERROR-CODE':
      return encodeErrorCode(type, familyByte(type, attr.family), attr.code, attr.reason);
    case 'UNKNOWN-ATTRIBUTES': {
      if (!Array.isArray(attr.types)) bad(`${type}: types must be an array`);
      const out = new Uint8Array(attr.types.length * 2);
      attr.types.forEach((t, i) => {
        const n = checkInt(`${type} entry`, t, 0, 0xffff);
        out[i * 2] = n >> 8;
        out[i * 2 + 1] = n & 0xff;
      });
      return out;
    }
    case 'CHANNEL-NUMBER': {
      const c = checkInt(type, attr.channel, 0, 0xffff);
      return new Uint8Array([c >> 8, c & 0xff, 0, 0]);
    }
    case 'LIFETIME':
      return be32(checkInt(type, attr.seconds, 0, 0xffffffff));
    case 'DATA':
      return checkBytes(type, attr.data);
    case 'REQUESTED-ADDRESS-FAMILY':
    case 'ADDITIONAL-ADDRESS-FAMILY':
      return new Uint8Array([familyByte(type, attr.family), 0, 0, 0]);
    case 'EVEN-PORT':
      return new Uint8Array([attr.reserveNext ? 0x80 : 0]);
    case 'REQUESTED-TRANSPORT':
      return new Uint8Array([checkInt(type, attr.protocol, 0, 0xff), 0, 0, 0]);
    case 'DONT-FRAGMENT':
      return new Uint8Array(0);
    case 'RESERVATION-TOKEN': {
      const t = checkBytes(type, attr.token);
      expectLength(type, t, 8);
      return t;
    }
    case 'PASSWORD-ALGORITHM':
      return encodeAlgorithmEntry(type, attr.algorithm, attr.params, false);
    case 'PASSWORD-ALGORITHMS':
      if (!Array.isArray(attr.algorithms)) bad(`${type}: algorithms must be an array`);
      return concatBytes(...attr.algorithms.map((a) => encodeAlgorithmEntry(type, a?.algorithm, a?.params, true)));
    case 'ICMP': {
      const out = new Uint8Array(8);
      out[2] = checkInt(`${type} type`, attr.icmpType, 0, 0xff);
      out[3] = checkInt(`${type} code`, attr.icmpCode, 0, 0xff);
      out.set(be32(checkInt(`${type} error data`, attr.errorData, 0, 0xffffffff)), 4);
      return out;
    }
    case 'CONNECTION-ID':
      return be32(checkInt(type, attr.id, 0, 0xffffffff));
    case 'CHANGE-REQUEST':
      return be32((attr.changeIp ? 0x4 : 0) | (attr.changePort ? 0x2 : 0));
    case 'RESPONSE-PORT': {
      const p = checkInt(type, attr.port, 0, 0xffff);
      return new Uint8Array([p >> 8, p & 0xff, 0, 0]);
    }
    case 'PADDING':
      return new Uint8Array(checkInt(type, attr.length, 0, 0xffff));
    case 'MESSAGE-INTEGRITY':
    case 'MESSAGE-INTEGRITY-SHA256':
      return checkBytes(type, attr.hmac);
    case 'FINGERPRINT':
      return be32(checkInt(type, attr.crc, 0, 0xffffffff));
  }
}
