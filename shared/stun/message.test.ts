import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeStunCrypto as crypto } from '../../io/stun-crypto.js';
import { formatIPv4, formatIPv6 } from './address.js';
import { attributeName } from './attributes.js';
import { AttrType, StunClass, StunMethod } from './constants.js';
import { shortTermKey } from './crypto.js';
import { StunError } from './errors.js';
import {
  decodeMessageType,
  decodeStun,
  encodeMessageType,
  encodeStun,
  getAttribute,
  getAttributes,
  isStunMessage,
  newTransactionId,
  peekStunHeader,
  responseTo,
  verifyIntegrity,
  type DecodedStunMessage,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from './message.js';

// ---- fast-check arbitraries: every attribute type but the computed ones ----

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b));
// Zero-heavy words so that "::" compression and IPv4-mapped forms come up often.
const ipv6 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((w) => {
    const b = new Uint8Array(16);
    w.forEach((x, i) => {
      b[i * 2] = x >> 8;
      b[i * 2 + 1] = x & 0xff;
    });
    return formatIPv6(b);
  });

const transportAddress: fc.Arbitrary<TransportAddress> = fc.oneof(
  fc.record({ family: fc.constant('IPv4' as const), address: ipv4, port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ family: fc.constant('IPv6' as const), address: ipv6, port: fc.integer({ min: 0, max: 0xffff }) }),
);

const text = fc.string({ unit: 'binary', maxLength: 24 });
const bytes = (max = 24): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const family = fc.constantFrom('IPv4' as const, 'IPv6' as const);
const errorCode = fc.integer({ min: 300, max: 699 });
const algorithmEntry = fc.record({ algorithm: u16, params: bytes(9) });

/** Every attribute type but the computed ones (MESSAGE-INTEGRITY*, FINGERPRINT). */
const attribute: fc.Arbitrary<StunAttribute> = fc.oneof(
  fc.record({
    type: fc.constantFrom(
      'MAPPED-ADDRESS' as const,
      'XOR-MAPPED-ADDRESS' as const,
      'XOR-PEER-ADDRESS' as const,
      'XOR-RELAYED-ADDRESS' as const,
      'ALTERNATE-SERVER' as const,
      'RESPONSE-ORIGIN' as const,
      'OTHER-ADDRESS' as const,
    ),
    address: transportAddress,
  }),
  fc.record({
    type: fc.constantFrom('USERNAME' as const, 'REALM' as const, 'NONCE' as const, 'SOFTWARE' as const, 'ALTERNATE-DOMAIN' as const),
    value: text,
  }),
  fc.record({ type: fc.constant('USERHASH' as const), hash: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  fc.record({ type: fc.constant('ERROR-CODE' as const), code: errorCode, reason: text }),
  fc.record({ type: fc.constant('UNKNOWN-ATTRIBUTES' as const), types: fc.array(u16, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('CHANNEL-NUMBER' as const), channel: u16 }),
  fc.record({ type: fc.constant('LIFETIME' as const), seconds: u32 }),
  fc.record({ type: fc.constant('DATA' as const), data: bytes(40) }),
  fc.record({ type: fc.constantFrom('REQUESTED-ADDRESS-FAMILY' as const, 'ADDITIONAL-ADDRESS-FAMILY' as const), family }),
  fc.record({ type: fc.constant('ADDRESS-ERROR-CODE' as const), family, code: errorCode, reason: text }),
  fc.record({ type: fc.constant('EVEN-PORT' as const), reserveNext: fc.boolean() }),
  fc.record({ type: fc.constant('REQUESTED-TRANSPORT' as const), protocol: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ type: 'DONT-FRAGMENT' as const }),
  fc.record({ type: fc.constant('RESERVATION-TOKEN' as const), token: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({ type: fc.constant('PASSWORD-ALGORITHM' as const), algorithm: u16, params: bytes(9) }),
  fc.record({ type: fc.constant('PASSWORD-ALGORITHMS' as const), algorithms: fc.array(algorithmEntry, { maxLength: 3 }) }),
  fc.record({
    type: fc.constant('ICMP' as const),
    icmpType: fc.integer({ min: 0, max: 255 }),
    icmpCode: fc.integer({ min: 0, max: 255 }),
    errorData: u32,
  }),
  fc.record({ type: fc.constant('CONNECTION-ID' as const), id: u32 }),
  fc.record({ type: fc.constant('CHANGE-REQUEST' as const), changeIp: fc.boolean(), changePort: fc.boolean() }),
  fc.record({ type: fc.constant('RESPONSE-PORT' as const), port: u16 }),
  fc.record({ type: fc.constant('PADDING' as const), length: fc.integer({ min: 0, max: 40 }) }),
  fc.record({
    type: fc.constant('UNKNOWN' as const),
    code: u16.filter((c) => attributeName(c) === undefined),
    value: bytes(),
  }),
);

const tidArb = fc.uint8Array({ minLength: 12, maxLength: 12 });

const messageArb: fc.Arbitrary<StunMessage> = fc.record({
  method: fc.integer({ min: 0, max: 0xfff }),
  cls: fc.constantFrom<StunClass>(0, 1, 2, 3),
  transactionId: tidArb,
  attributes: fc.array(attribute, { maxLength: 8 }),
});

const TID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
const KEY = shortTermKey('secret');

function expectStunError(fn: () => unknown, code?: StunError['code']): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StunError);
    if (code) expect((err as StunError).code).toBe(code);
    return;
  }
  throw new Error('expected a StunError');
}

/** Calls fn; passes if it returns or throws a StunError; rethrows anything else. */
function onlyStunErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof StunError)) throw err;
  }
}

function withoutComputed(attrs: StunAttribute[]): StunAttribute[] {
  return attrs.filter((a) => a.type !== 'MESSAGE-INTEGRITY' && a.type !== 'MESSAGE-INTEGRITY-SHA256' && a.type !== 'FINGERPRINT');
}

/** Appends a raw attribute to an encoded message and fixes the header length (no FINGERPRINT after). */
function appendRaw(msg: Uint8Array, code: number, value: Uint8Array): Uint8Array {
  const padded = (value.length + 3) & ~3;
  const out = new Uint8Array(msg.length + 4 + padded);
  out.set(msg);
  const o = msg.length;
  out[o] = code >> 8;
  out[o + 1] = code & 0xff;
  out[o + 2] = value.length >> 8;
  out[o + 3] = value.length & 0xff;
  out.set(value, o + 4);
  const len = out.length - 20;
  out[2] = len >> 8;
  out[3] = len & 0xff;
  return out;
}

const binding = (attributes: StunAttribute[] = []): StunMessage => ({
  method: StunMethod.Binding,
  cls: StunClass.Request,
  transactionId: TID,
  attributes,
});

describe('message type', () => {
  it('packs method and class as RFC 8489 §5 says', () => {
    expect(encodeMessageType(StunMethod.Binding, StunClass.Request)).toBe(0x0001);
    expect(encodeMessageType(StunMethod.Binding, StunClass.SuccessResponse)).toBe(0x0101);
    expect(encodeMessageType(StunMethod.Binding, StunClass.ErrorResponse)).toBe(0x0111);
    expect(encodeMessageType(StunMethod.Binding, StunClass.Indication)).toBe(0x0011);
    expect(encodeMessageType(StunMethod.Allocate, StunClass.ErrorResponse)).toBe(0x0113);
    expect(encodeMessageType(StunMethod.Send, StunClass.Indication)).toBe(0x0016);
    expect(encodeMessageType(StunMethod.Data, StunClass.Indication)).toBe(0x0017);
    expect(encodeMessageType(StunMethod.ConnectionAttempt, StunClass.Indication)).toBe(0x001c);
  });

  it('round-trips every method and class', () => {
    const seen = new Set<number>();
    const failures: string[] = [];
    for (let method = 0; method <= 0xfff; method++) {
      for (const cls of [0, 1, 2, 3] as const) {
        const t = encodeMessageType(method, cls);
        const back = decodeMessageType(t);
        if ((t & 0xc000) !== 0 || back.method !== method || back.cls !== cls) failures.push(`${method}/${cls}`);
        seen.add(t);
      }
    }
    expect(failures).toEqual([]);
    expect(seen.size).toBe(0x4000);
  });
});

describe('encode -> decode identity (property)', () => {
  it('decodes what it encodes, attribute for attribute', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeStun(m);
        const d = decodeStun(bytes);
        const got = { method: d.method, cls: d.cls, transactionId: d.transactionId, attributes: d.attributes };
        // isDeepStrictEqual first: vitest's toEqual is slow, and only needed to report a failure.
        if (!isDeepStrictEqual(got, m)) expect(got).toEqual(m);
        expect(bytes.length % 4 === 0 && isStunMessage(bytes) && d.raw === bytes).toBe(true);
        expect(d.integrityOffset === undefined && d.fingerprintOffset === undefined && d.unknownRequired.length === 0).toBe(
          !m.attributes.some((a) => a.type === 'UNKNOWN' && a.code < 0x8000 && a.code !== 0x0002),
        );
        // Re-encoding the decoded message gives the same bytes.
        const again = encodeStun(d);
        if (!isDeepStrictEqual(again, bytes)) expect(again).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('with MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT: computed, placed last in RFC order, verifiable', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.constantFrom('sha1' as const, 'sha256' as const, 'both' as const),
        fc.boolean(),
        fc.array(
          fc.oneof(
            fc.constant<StunAttribute>({ type: 'MESSAGE-INTEGRITY', hmac: new Uint8Array(20) }),
            fc.constant<StunAttribute>({ type: 'FINGERPRINT', crc: 7 }),
            fc.constant<StunAttribute>({ type: 'MESSAGE-INTEGRITY-SHA256', hmac: new Uint8Array(32) }),
          ),
          { maxLength: 2 },
        ),
        (m, key, algorithm, fingerprint, stale) => {
          // Stale computed attributes given in the input are ignored wherever they are.
          const input = { ...m, attributes: [...stale, ...m.attributes, ...stale] };
          const bytes = encodeStun(input, { integrity: { key, algorithm }, fingerprint, crypto });
          const d = decodeStun(bytes);
          const kept = withoutComputed(d.attributes);
          if (!isDeepStrictEqual(kept, m.attributes)) expect(kept).toEqual(m.attributes);
          const tail = d.attributes.slice(m.attributes.length).map((a) => a.type);
          const expectedTail = [
            ...(algorithm !== 'sha256' ? ['MESSAGE-INTEGRITY'] : []),
            ...(algorithm !== 'sha1' ? ['MESSAGE-INTEGRITY-SHA256'] : []),
            ...(fingerprint ? ['FINGERPRINT'] : []),
          ];
          expect(tail).toEqual(expectedTail);
          expect(verifyIntegrity(d, key, crypto, 'sha1')).toBe(algorithm !== 'sha256');
          expect(verifyIntegrity(d, key, crypto, 'sha256')).toBe(algorithm !== 'sha1');
          const wrong = key.slice();
          wrong[0]! ^= 1;
          expect(verifyIntegrity(d, wrong, crypto, 'sha1')).toBe(false);
          expect(verifyIntegrity(d, wrong, crypto, 'sha256')).toBe(false);
          expect(d.fingerprintOffset !== undefined).toBe(fingerprint);
          // Re-encoding reproduces the bytes.
          const again = encodeStun(d, { integrity: { key, algorithm }, fingerprint, crypto });
          if (!isDeepStrictEqual(again, bytes)) expect(again).toEqual(bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('robustness (property): nothing but StunError escapes', () => {
  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        expect(typeof isStunMessage(bytes)).toBe('boolean');
        onlyStunErrors(() => decodeStun(bytes));
        onlyStunErrors(() => peekStunHeader(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('on random bytes behind a valid header', () => {
    fc.assert(
      fc.property(tidArb, fc.uint8Array({ maxLength: 30 }).map((b) => b.subarray(0, b.length & ~3)), (tid, body) => {
        const bytes = new Uint8Array(20 + body.length);
        bytes.set([0x00, 0x01, body.length >> 8, body.length & 0xff, 0x21, 0x12, 0xa4, 0x42]);
        bytes.set(tid, 8);
        bytes.set(body, 20);
        onlyStunErrors(() => decodeStun(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('on mutated valid messages', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(
        messageArb,
        fc.boolean(),
        fc.boolean(),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (m, integrity, fingerprint, mutations, fixLength) => {
          let bytes = encodeStun(m, { integrity: integrity ? { key: KEY, algorithm: 'both' } : undefined, fingerprint, crypto });
          for (const mu of mutations) {
            if (mu.kind === 'set') bytes[mu.at % bytes.length] = mu.value;
            else if (mu.kind === 'flip') bytes[mu.at % bytes.length]! ^= 1 << mu.bit;
            else if (mu.kind === 'truncate') bytes = bytes.slice(0, mu.at % (bytes.length + 1));
            else {
              const b = new Uint8Array(bytes.length + mu.extra.length);
              b.set(bytes);
              b.set(mu.extra, bytes.length);
              bytes = b;
            }
          }
          if (fixLength && bytes.length >= 20) {
            // Keep the header consistent so that the attribute parsers are what gets exercised.
            bytes = bytes.subarray(0, bytes.length & ~3);
            const len = bytes.length - 20;
            bytes[2] = len >> 8;
            bytes[3] = len & 0xff;
            bytes[0]! &= 0x3f;
          }
          onlyStunErrors(() => {
            const d = decodeStun(bytes);
            verifyIntegrity(d, KEY, crypto, 'sha1');
            verifyIntegrity(d, KEY, crypto, 'sha256');
            encodeStun(d);
          });
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('MESSAGE-INTEGRITY', () => {
  const sample = binding([
    { type: 'USERNAME', value: 'alice' },
    { type: 'SOFTWARE', value: 'burrow' }, // 6 bytes: 2 padding bytes covered too
    { type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv6', address: '2001:db8::1', port: 3478 } },
  ]);

  for (const algorithm of ['sha1', 'sha256'] as const) {
    it(`${algorithm}: fails after any single bit flip in the covered bytes or the HMAC`, () => {
      const bytes = encodeStun(sample, { integrity: { key: KEY, algorithm }, crypto });
      const d = decodeStun(bytes);
      expect(verifyIntegrity(d, KEY, crypto, algorithm)).toBe(true);
      const offset = (algorithm === 'sha1' ? d.integrityOffset : d.integritySha256Offset)!;
      expect(offset + 4 + (algorithm === 'sha1' ? 20 : 32)).toBe(bytes.length);
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const flipped = bytes.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        let ok = false;
        try {
          ok = verifyIntegrity(decodeStun(flipped), KEY, crypto, algorithm);
        } catch (err) {
          expect(err).toBeInstanceOf(StunError);
        }
        expect(ok, `bit ${bit}`).toBe(false);
      }
    });
  }

  it('fails after a random bit flip in random messages (property)', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.constantFrom('sha1' as const, 'sha256' as const), (m, n, algorithm) => {
        const bytes = encodeStun(m, { integrity: { key: KEY, algorithm }, crypto });
        const bit = n % (bytes.length * 8);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        let ok = false;
        try {
          ok = verifyIntegrity(decodeStun(bytes), KEY, crypto, algorithm);
        } catch (err) {
          if (!(err instanceof StunError)) throw err;
        }
        expect(ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts a truncated MESSAGE-INTEGRITY-SHA256 (16..32 bytes, multiple of 4)', () => {
    const full = encodeStun(binding([{ type: 'USERNAME', value: 'bob' }]), { integrity: { key: KEY, algorithm: 'sha256' }, crypto });
    const d = decodeStun(full);
    const off = d.integritySha256Offset!;
    // Rebuild with the first 16 bytes of an HMAC computed for a 16-byte attribute.
    const prefix = full.slice(0, off + 4 + 16);
    prefix[off + 3] = 16;
    const len = prefix.length - 20;
    prefix[3] = len;
    const input = prefix.slice(0, off);
    input[3] = len;
    prefix.set(crypto.hmacSha256(KEY, input).subarray(0, 16), off + 4);
    const t = decodeStun(prefix);
    expect(getAttribute(t, 'MESSAGE-INTEGRITY-SHA256')?.hmac.length).toBe(16);
    expect(verifyIntegrity(t, KEY, crypto, 'sha256')).toBe(true);
    // Lengths that are not allowed are rejected.
    const bad = prefix.slice();
    bad[off + 3] = 12;
    const badMsg = bad.slice(0, off + 4 + 12);
    badMsg[3] = badMsg.length - 20;
    expectStunError(() => decodeStun(badMsg), 'bad-attribute');
  });

  it('is false when absent', () => {
    const d = decodeStun(encodeStun(binding()));
    expect(verifyIntegrity(d, KEY, crypto, 'sha1')).toBe(false);
    expect(verifyIntegrity(d, KEY, crypto, 'sha256')).toBe(false);
  });

  it('requires crypto when integrity is asked for', () => {
    expectStunError(() => encodeStun(binding(), { integrity: { key: KEY } }), 'bad-attribute');
  });
});

describe('attributes after MESSAGE-INTEGRITY (RFC 8489 §9, §14.5, §14.6)', () => {
  it('are ignored, except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT', () => {
    const base = encodeStun(binding([{ type: 'USERNAME', value: 'u' }]), { integrity: { key: KEY }, crypto });
    let bytes = appendRaw(base, AttrType.SOFTWARE, new TextEncoder().encode('after'));
    bytes = appendRaw(bytes, 0x0033, new Uint8Array([1, 2, 3])); // unknown comprehension-required
    bytes = appendRaw(bytes, AttrType.MESSAGE_INTEGRITY, new Uint8Array(20)); // a second MI
    bytes = appendRaw(bytes, AttrType.ERROR_CODE, new Uint8Array([0, 0, 9, 200])); // malformed, but ignored
    const d = decodeStun(bytes);
    expect(d.attributes.map((a) => a.type)).toEqual(['USERNAME', 'MESSAGE-INTEGRITY']);
    expect(d.unknownRequired).toEqual([]);
    // The HMAC is still verifiable: the length is adjusted to the end of MESSAGE-INTEGRITY.
    expect(verifyIntegrity(d, KEY, crypto, 'sha1')).toBe(true);
  });

  it('MESSAGE-INTEGRITY-SHA256 and FINGERPRINT after MESSAGE-INTEGRITY are kept', () => {
    const bytes = encodeStun(binding([{ type: 'NONCE', value: 'n' }]), { integrity: { key: KEY, algorithm: 'both' }, fingerprint: true, crypto });
    const d = decodeStun(bytes);
    expect(d.attributes.map((a) => a.type)).toEqual(['NONCE', 'MESSAGE-INTEGRITY', 'MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT']);
    expect(d.integrityOffset).toBe(28);
    expect(d.integritySha256Offset).toBe(52);
    expect(d.fingerprintOffset).toBe(88);
  });

  it('after MESSAGE-INTEGRITY-SHA256 alone, only FINGERPRINT is kept', () => {
    const base = encodeStun(binding([{ type: 'REALM', value: 'r' }]), { integrity: { key: KEY, algorithm: 'sha256' }, crypto });
    const bytes = appendRaw(appendRaw(base, AttrType.MESSAGE_INTEGRITY, new Uint8Array(20)), AttrType.LIFETIME, new Uint8Array(4));
    const d = decodeStun(bytes);
    expect(d.attributes.map((a) => a.type)).toEqual(['REALM', 'MESSAGE-INTEGRITY-SHA256']);
    expect(d.integrityOffset).toBeUndefined();
    expect(verifyIntegrity(d, KEY, crypto, 'sha256')).toBe(true);
  });
});

describe('FINGERPRINT', () => {
  it('is checked on decode', () => {
    const bytes = encodeStun(binding([{ type: 'SOFTWARE', value: 'x' }]), { fingerprint: true });
    expect(getAttribute(decodeStun(bytes), 'FINGERPRINT')).toBeDefined();
    const bad = bytes.slice();
    bad[bad.length - 1]! ^= 0x80;
    expectStunError(() => decodeStun(bad), 'bad-fingerprint');
    const bad2 = bytes.slice();
    bad2[24]! ^= 0x01; // SOFTWARE value
    expectStunError(() => decodeStun(bad2), 'bad-fingerprint');
  });

  it('must be the last attribute', () => {
    const bytes = encodeStun(binding(), { fingerprint: true });
    expectStunError(() => decodeStun(appendRaw(bytes, AttrType.SOFTWARE, new Uint8Array([0x61]))), 'bad-fingerprint');
  });

  it('with a wrong length is a bad attribute', () => {
    const bytes = appendRaw(encodeStun(binding()), AttrType.FINGERPRINT, new Uint8Array(8));
    expectStunError(() => decodeStun(bytes), 'bad-attribute');
  });
});

describe('unknown attributes', () => {
  it('a comprehension-required one is listed in unknownRequired, an optional one is not', () => {
    let bytes = encodeStun(binding([{ type: 'UNKNOWN', code: 0x0031, value: new Uint8Array([1]) }]));
    bytes = appendRaw(bytes, 0x8055, new Uint8Array([2, 3]));
    bytes = appendRaw(bytes, 0x0031, new Uint8Array(0)); // duplicate: listed once
    bytes = appendRaw(bytes, 0x7fff, new Uint8Array(0));
    const d = decodeStun(bytes);
    expect(d.unknownRequired).toEqual([0x0031, 0x7fff]);
    expect(d.attributes).toEqual([
      { type: 'UNKNOWN', code: 0x0031, value: new Uint8Array([1]) },
      { type: 'UNKNOWN', code: 0x8055, value: new Uint8Array([2, 3]) },
      { type: 'UNKNOWN', code: 0x0031, value: new Uint8Array(0) },
      { type: 'UNKNOWN', code: 0x7fff, value: new Uint8Array(0) },
    ]);
  });

  it('only optional unknown attributes leave unknownRequired empty', () => {
    const d = decodeStun(encodeStun(binding([{ type: 'UNKNOWN', code: 0xc001, value: new Uint8Array(3) }])));
    expect(d.unknownRequired).toEqual([]);
    expect(getAttribute(d, 'UNKNOWN')).toEqual({ type: 'UNKNOWN', code: 0xc001, value: new Uint8Array(3) });
  });

  it('RESPONSE-ADDRESS (0x0002) is recognised (to be ignored), not reported', () => {
    const d = decodeStun(encodeStun(binding([{ type: 'UNKNOWN', code: AttrType.RESPONSE_ADDRESS, value: new Uint8Array(8) }])));
    expect(d.unknownRequired).toEqual([]);
  });

  it('UNKNOWN with a computed attribute code cannot be encoded', () => {
    expectStunError(() => encodeStun(binding([{ type: 'UNKNOWN', code: AttrType.MESSAGE_INTEGRITY, value: new Uint8Array(20) }])), 'bad-attribute');
  });
});

describe('decode errors', () => {
  const good = encodeStun(binding([{ type: 'SOFTWARE', value: 'abc' }]));

  it('truncated', () => {
    expectStunError(() => decodeStun(new Uint8Array(0)), 'truncated');
    expectStunError(() => decodeStun(good.subarray(0, 19)), 'truncated');
    expectStunError(() => decodeStun(good.subarray(0, good.length - 4)), 'truncated');
  });

  it('not-stun: top bits, missing magic cookie (RFC 3489)', () => {
    const top = good.slice();
    top[0] = 0x40;
    expectStunError(() => decodeStun(top), 'not-stun');
    const rfc3489 = good.slice();
    rfc3489.set([0xde, 0xad, 0xbe, 0xef], 4);
    expectStunError(() => decodeStun(rfc3489), 'not-stun');
    expect(isStunMessage(rfc3489)).toBe(false);
    expect(peekStunHeader(rfc3489)).toBeUndefined();
  });

  it('bad-length: not a multiple of 4, trailing bytes, attribute overrun', () => {
    const odd = good.slice();
    odd[3]! += 1;
    expectStunError(() => decodeStun(odd), 'bad-length');
    const trailing = new Uint8Array(good.length + 4);
    trailing.set(good);
    expectStunError(() => decodeStun(trailing), 'bad-length');
    expect(isStunMessage(trailing)).toBe(false);
    const overrun = good.slice();
    overrun[23] = 0x20; // SOFTWARE length 32 > the 4 bytes there
    expectStunError(() => decodeStun(overrun), 'bad-length');
  });

  it('bad-attribute: malformed known attributes', () => {
    const cases: Array<[number, number[]]> = [
      [AttrType.XOR_MAPPED_ADDRESS, [0, 3, 0, 0, 1, 2, 3, 4]], // family 3
      [AttrType.XOR_MAPPED_ADDRESS, [0, 1, 0, 0, 1, 2, 3]], // short
      [AttrType.MAPPED_ADDRESS, [0, 2, 0, 0, 1, 2, 3, 4]], // IPv6 with 4 address bytes
      [AttrType.USERNAME, [0xff, 0xfe]], // not UTF-8
      [AttrType.ERROR_CODE, [0, 0, 7, 0]], // class 7
      [AttrType.ERROR_CODE, [0, 0, 4, 100]], // number 100
      [AttrType.ERROR_CODE, [0, 0, 4]], // short
      [AttrType.UNKNOWN_ATTRIBUTES, [0, 1, 0]], // odd
      [AttrType.LIFETIME, [0, 0, 1]],
      [AttrType.USERHASH, [1, 2, 3]],
      [AttrType.MESSAGE_INTEGRITY, [1, 2, 3, 4]],
      [AttrType.REQUESTED_ADDRESS_FAMILY, [3, 0, 0, 0]],
      [AttrType.DONT_FRAGMENT, [0]],
      [AttrType.RESERVATION_TOKEN, [1, 2, 3, 4]],
      [AttrType.PASSWORD_ALGORITHM, [0, 1, 0, 4, 1]],
      [AttrType.PASSWORD_ALGORITHMS, [0, 1, 0]],
      [AttrType.EVEN_PORT, []],
    ];
    for (const [code, value] of cases) {
      const bytes = appendRaw(encodeStun(binding()), code, Uint8Array.from(value));
      expectStunError(() => decodeStun(bytes), 'bad-attribute');
      // The header can still be read to answer 400.
      expect(peekStunHeader(bytes)).toEqual({ method: StunMethod.Binding, cls: StunClass.Request, transactionId: TID });
    }
  });

  it('reserved bits and padding are ignored', () => {
    const bytes = appendRaw(encodeStun(binding()), AttrType.ERROR_CODE, Uint8Array.from([0xff, 0xff, 0xfc | 4, 1, 0x61]));
    bytes[bytes.length - 1] = 0xaa; // padding
    expect(getAttribute(decodeStun(bytes), 'ERROR-CODE')).toEqual({ type: 'ERROR-CODE', code: 401, reason: 'a' });
    const flags = appendRaw(encodeStun(binding()), AttrType.EVEN_PORT, Uint8Array.from([0xff]));
    expect(getAttribute(decodeStun(flags), 'EVEN-PORT')).toEqual({ type: 'EVEN-PORT', reserveNext: true });
  });
});

describe('encode errors', () => {
  it('invalid values are StunError("bad-attribute")', () => {
    const bad: StunAttribute[] = [
      { type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv4', address: '2001:db8::1', port: 1 } },
      { type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv6', address: '192.0.2.1', port: 1 } },
      { type: 'MAPPED-ADDRESS', address: { family: 'IPv4', address: '192.0.2.1', port: 70000 } },
      { type: 'ERROR-CODE', code: 99, reason: '' },
      { type: 'ERROR-CODE', code: 700, reason: '' },
      { type: 'LIFETIME', seconds: -1 },
      { type: 'LIFETIME', seconds: 1.5 },
      { type: 'RESERVATION-TOKEN', token: new Uint8Array(7) },
      { type: 'USERHASH', hash: new Uint8Array(31) },
      { type: 'UNKNOWN-ATTRIBUTES', types: [0x10000] },
      { type: 'UNKNOWN', code: -1, value: new Uint8Array(0) },
      { type: 'NOPE' } as unknown as StunAttribute,
    ];
    for (const a of bad) expectStunError(() => encodeStun(binding([a])), 'bad-attribute');
    expectStunError(() => encodeStun({ ...binding(), transactionId: new Uint8Array(11) }), 'bad-attribute');
    expectStunError(() => encodeStun({ ...binding(), method: 0x1000 }), 'bad-attribute');
    expectStunError(() => encodeStun({ ...binding(), cls: 4 as StunClass }), 'bad-attribute');
  });

  it('a message over 64 KiB is StunError("bad-length")', () => {
    expectStunError(() => encodeStun(binding([{ type: 'DATA', data: new Uint8Array(70000) }])), 'bad-length');
    expectStunError(() => encodeStun(binding([{ type: 'DATA', data: new Uint8Array(40000) }, { type: 'DATA', data: new Uint8Array(40000) }])), 'bad-length');
    // The largest body that fits.
    const max = encodeStun(binding([{ type: 'DATA', data: new Uint8Array(0xffff - 4 - 3) }]));
    expect(max.length).toBe(20 + 0xfffc);
    expect(getAttribute(decodeStun(max), 'DATA')?.data.length).toBe(0xffff - 7);
  });

  it('pads with zeros by default', () => {
    const bytes = encodeStun(binding([{ type: 'SOFTWARE', value: 'a' }]));
    expect(Array.from(bytes.subarray(20))).toEqual([0x80, 0x22, 0, 1, 0x61, 0, 0, 0]);
  });
});

describe('specific attribute encodings', () => {
  const one = (a: StunAttribute): Uint8Array => encodeStun(binding([a])).subarray(20);

  it('XOR-MAPPED-ADDRESS IPv4 (RFC 5769 §2.2 values)', () => {
    expect(Array.from(one({ type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv4', address: '192.0.2.1', port: 32853 } }))).toEqual([
      0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    ]);
  });

  it('MAPPED-ADDRESS is not XORed', () => {
    expect(Array.from(one({ type: 'MAPPED-ADDRESS', address: { family: 'IPv4', address: '192.0.2.1', port: 32853 } }))).toEqual([
      0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x80, 0x55, 192, 0, 2, 1,
    ]);
  });

  it('ERROR-CODE, CHANGE-REQUEST, EVEN-PORT, REQUESTED-TRANSPORT, CHANNEL-NUMBER, PASSWORD-ALGORITHMS', () => {
    expect(Array.from(one({ type: 'ERROR-CODE', code: 438, reason: 'Stale' }))).toEqual([
      0x00, 0x09, 0x00, 0x09, 0, 0, 4, 38, 0x53, 0x74, 0x61, 0x6c, 0x65, 0, 0, 0,
    ]);
    expect(Array.from(one({ type: 'CHANGE-REQUEST', changeIp: true, changePort: true }))).toEqual([0x00, 0x03, 0x00, 0x04, 0, 0, 0, 6]);
    expect(Array.from(one({ type: 'EVEN-PORT', reserveNext: true }))).toEqual([0x00, 0x18, 0x00, 0x01, 0x80, 0, 0, 0]);
    expect(Array.from(one({ type: 'REQUESTED-TRANSPORT', protocol: 17 }))).toEqual([0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0]);
    expect(Array.from(one({ type: 'CHANNEL-NUMBER', channel: 0x4001 }))).toEqual([0x00, 0x0c, 0x00, 0x04, 0x40, 0x01, 0, 0]);
    expect(
      Array.from(
        one({
          type: 'PASSWORD-ALGORITHMS',
          algorithms: [
            { algorithm: 1, params: new Uint8Array(0) },
            { algorithm: 2, params: new Uint8Array([9]) },
          ],
        }),
      ),
    ).toEqual([0x80, 0x02, 0x00, 0x0c, 0, 1, 0, 0, 0, 2, 0, 1, 9, 0, 0, 0]);
  });

  it('ADDRESS-ERROR-CODE and ICMP', () => {
    expect(Array.from(one({ type: 'ADDRESS-ERROR-CODE', family: 'IPv6', code: 440, reason: '' }))).toEqual([
      0x80, 0x01, 0x00, 0x04, 2, 0, 4, 40,
    ]);
    expect(Array.from(one({ type: 'ICMP', icmpType: 3, icmpCode: 4, errorData: 1280 }))).toEqual([
      0x80, 0x04, 0x00, 0x08, 0, 0, 3, 4, 0, 0, 5, 0,
    ]);
  });

  it('every attribute survives a round trip (property, one at a time)', () => {
    fc.assert(
      fc.property(attribute, (a) => {
        expect(decodeStun(encodeStun(binding([a]))).attributes).toEqual([a]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('helpers', () => {
  it('getAttribute / getAttributes', () => {
    const m = binding([
      { type: 'XOR-PEER-ADDRESS', address: { family: 'IPv4', address: '10.0.0.1', port: 1 } },
      { type: 'XOR-PEER-ADDRESS', address: { family: 'IPv4', address: '10.0.0.2', port: 2 } },
      { type: 'LIFETIME', seconds: 600 },
    ]);
    const peer = getAttribute(m, 'XOR-PEER-ADDRESS');
    expect(peer?.address.port).toBe(1);
    expect(getAttribute(m, 'LIFETIME')?.seconds).toBe(600);
    expect(getAttribute(m, 'NONCE')).toBeUndefined();
    expect(getAttributes(m, 'XOR-PEER-ADDRESS').map((a) => a.address.address)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('newTransactionId takes 12 bytes from the random source', () => {
    const id = newTransactionId((n) => new Uint8Array(n).fill(7));
    expect(id).toEqual(new Uint8Array(12).fill(7));
    expectStunError(() => newTransactionId(() => new Uint8Array(4)), 'bad-attribute');
  });

  it('responseTo keeps the method and transaction id', () => {
    const req = { ...binding(), method: StunMethod.Allocate };
    const res = responseTo(req, StunClass.ErrorResponse, [{ type: 'ERROR-CODE', code: 401, reason: 'Unauthorized' }]);
    expect(res).toEqual({ method: StunMethod.Allocate, cls: StunClass.ErrorResponse, transactionId: TID, attributes: res.attributes });
    expect(res.transactionId).not.toBe(req.transactionId);
    const d: DecodedStunMessage = decodeStun(encodeStun(res));
    expect(d.cls).toBe(StunClass.ErrorResponse);
    expect(getAttribute(d, 'ERROR-CODE')?.code).toBe(401);
  });

  it('isStunMessage', () => {
    const bytes = encodeStun(binding());
    expect(isStunMessage(bytes)).toBe(true);
    expect(isStunMessage(bytes.subarray(0, 19))).toBe(false);
    expect(isStunMessage(new Uint8Array([0x40, 0, 0, 0]))).toBe(false);
  });
});

describe('Node Buffer input (whose slice() aliases)', () => {
  it('decodes into plain, unaliased Uint8Arrays and verifyIntegrity leaves raw untouched', () => {
    const encoded = encodeStun(
      binding([
        { type: 'DATA', data: Uint8Array.from([1, 2, 3]) },
        { type: 'UNKNOWN', code: 0x8077, value: Uint8Array.from([4]) },
      ]),
      { integrity: { key: KEY }, fingerprint: true, crypto },
    );
    const buf = Buffer.from(encoded);
    const d = decodeStun(buf);
    const data = getAttribute(d, 'DATA')!.data;
    expect(Object.getPrototypeOf(data)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(d.transactionId)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(d.raw)).toBe(Uint8Array.prototype);
    expect(d.raw.buffer).toBe(buf.buffer);
    buf[24] = 0xee; // DATA's first byte
    expect(data[0]).toBe(1);
    buf[24] = 1;
    const before = Buffer.from(buf);
    expect(verifyIntegrity(d, KEY, crypto, 'sha1')).toBe(true);
    expect(buf.equals(before)).toBe(true);
    expect(decodeStun(buf).fingerprintOffset).toBe(d.fingerprintOffset);
  });

  it('newTransactionId and responseTo return plain copies', () => {
    const tid = newTransactionId((n) => Buffer.alloc(n, 3));
    expect(Object.getPrototypeOf(tid)).toBe(Uint8Array.prototype);
    const req = { ...binding(), transactionId: Buffer.from(TID) };
    const res = responseTo(req, StunClass.SuccessResponse, []);
    expect(Object.getPrototypeOf(res.transactionId)).toBe(Uint8Array.prototype);
    req.transactionId[0] = 99;
    expect(res.transactionId[0]).toBe(1);
  });
});
