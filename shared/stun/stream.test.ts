import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeStunCrypto as crypto } from '../../io/stun-crypto.js';
import { StunClass, StunMethod } from './constants.js';
import { encodeChannelData } from './channel-data.js';
import { StunError } from './errors.js';
import { decodeStun, encodeStun, type StunMessage } from './message.js';
import { StunStreamDecoder, type StreamItem } from './stream.js';
import { concatBytes } from '../bytes.js';

const TID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

// Messages of varied sizes and shapes (the full attribute arbitrary lives in message.test.ts).
const messageArb: fc.Arbitrary<StunMessage> = fc.record({
  method: fc.integer({ min: 0, max: 0xfff }),
  cls: fc.constantFrom<StunClass>(0, 1, 2, 3),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  attributes: fc.array(
    fc.oneof(
      fc.record({ type: fc.constant('DATA' as const), data: fc.uint8Array({ maxLength: 40 }) }),
      fc.record({ type: fc.constant('SOFTWARE' as const), value: fc.string({ maxLength: 10 }) }),
      fc.record({ type: fc.constant('LIFETIME' as const), seconds: fc.nat() }),
      fc.constant({ type: 'DONT-FRAGMENT' as const }),
    ),
    { maxLength: 4 },
  ),
});


function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StunError);
    return (err as StunError).code;
  }
  return undefined;
}

const stun1 = encodeStun(
  { method: StunMethod.Binding, cls: StunClass.Request, transactionId: TID, attributes: [{ type: 'SOFTWARE', value: 'burrow' }] },
  { fingerprint: true },
);
const stun2 = encodeStun(
  {
    method: StunMethod.Send,
    cls: StunClass.Indication,
    transactionId: TID,
    attributes: [
      { type: 'XOR-PEER-ADDRESS', address: { family: 'IPv6', address: '2001:db8::7', port: 9 } },
      { type: 'DATA', data: Uint8Array.from([1, 2, 3]) },
    ],
  },
  { integrity: { key: Uint8Array.from([1]) }, crypto },
);
const chanA = Uint8Array.from([5, 6, 7]);
const chanB = new Uint8Array(0);
const chanC = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const stream = concatBytes(
  stun1,
  encodeChannelData(0x4000, chanA, true),
  encodeChannelData(0x4fff, chanB, true),
  stun2,
  encodeChannelData(0x7001, chanC, true),
  stun1,
);
const expected: StreamItem[] = [
  { kind: 'stun', bytes: stun1 },
  { kind: 'channel', channel: 0x4000, data: chanA },
  { kind: 'channel', channel: 0x4fff, data: chanB },
  { kind: 'stun', bytes: stun2 },
  { kind: 'channel', channel: 0x7001, data: chanC },
  { kind: 'stun', bytes: stun1 },
];

describe('StunStreamDecoder', () => {
  it('splits a mixed STUN + ChannelData stream pushed in one piece', () => {
    const d = new StunStreamDecoder();
    expect(d.push(stream)).toEqual(expected);
    expect(d.buffered).toBe(0);
  });

  it('gives the same items when split at every byte boundary (two pieces)', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new StunStreamDecoder();
      const items = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      if (!isDeepStrictEqual(items, expected)) expect(items, `cut at ${cut}`).toEqual(expected);
      expect(d.buffered).toBe(0);
    }
  });

  it('gives the same items when fed one byte at a time', () => {
    const d = new StunStreamDecoder();
    const items: StreamItem[] = [];
    for (let i = 0; i < stream.length; i++) items.push(...d.push(stream.subarray(i, i + 1)));
    expect(items).toEqual(expected);
    for (const item of items) if (item.kind === 'stun') expect(() => decodeStun(item.bytes)).not.toThrow();
  });

  it('gives the same items for random chunkings of random messages (property)', () => {
    const item = fc.oneof(
      messageArb.map((m) => ({ kind: 'stun' as const, bytes: encodeStun(m) })),
      fc.record({ kind: fc.constant('channel' as const), channel: fc.integer({ min: 0x4000, max: 0x7fff }), data: fc.uint8Array({ maxLength: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }), (items, sizes) => {
        const bytes = concatBytes(...items.map((i) => (i.kind === 'stun' ? i.bytes : encodeChannelData(i.channel, i.data, true))));
        const d = new StunStreamDecoder();
        const out: StreamItem[] = [];
        let o = 0;
        for (let k = 0; o < bytes.length; k++) {
          const n = sizes[k % sizes.length]!;
          out.push(...d.push(bytes.subarray(o, o + n)));
          o += n;
        }
        if (!isDeepStrictEqual(out, items)) expect(out).toEqual(items);
      }),
      { numRuns: 300 },
    );
  });

  it('returned items do not alias the internal buffer', () => {
    const d = new StunStreamDecoder();
    const [first] = d.push(stun1.slice());
    d.push(stun2.subarray(0, 10));
    d.push(new Uint8Array(2000).fill(0x41).subarray(0, 0));
    expect(first).toEqual({ kind: 'stun', bytes: stun1 });
  });

  it('rejects garbage: top bits 0b10/0b11, missing magic cookie, bad length', () => {
    expect(code(() => new StunStreamDecoder().push(Uint8Array.from([0x80])))).toBe('not-stun');
    // A TLS ClientHello record header: length 0x0102 is not a multiple of 4.
    expect(code(() => new StunStreamDecoder().push(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01])))).toBe('bad-length');
    // Waiting for more is not an error until the cookie can be checked.
    const partial = new StunStreamDecoder();
    expect(partial.push(Uint8Array.from([0x16, 0x03, 0x01, 0x00]))).toEqual([]);
    expect(code(() => partial.push(Uint8Array.from([0x01, 0x00, 0x00, 0xfc])))).toBe('not-stun');
    expect(code(() => new StunStreamDecoder().push(Uint8Array.from([0, 1, 0, 0, 1, 2, 3, 4])))).toBe('not-stun');
    expect(code(() => new StunStreamDecoder().push(Uint8Array.from([0xc0, 0, 0, 0])))).toBe('not-stun');
    // ASCII such as "GET " starts with 0b01 and frames as ChannelData (channel 0x4745): only a
    // later inconsistency can reveal it, as with any unframed stream.
    expect(new StunStreamDecoder().push(new TextEncoder().encode('GET / HTTP/1.1\r\n'))).toEqual([]);
  });

  it('rejects oversize messages and then stays failed', () => {
    const d = new StunStreamDecoder(64);
    expect(code(() => d.push(encodeChannelData(0x4000, new Uint8Array(61), true)))).toBe('bad-length');
    expect(code(() => d.push(stun1))).toBe('bad-length');
    const s = new StunStreamDecoder(64);
    expect(code(() => s.push(Uint8Array.from([0, 1, 0, 48])))).toBe('bad-length');
    // Exactly at the limit is fine.
    expect(new StunStreamDecoder(64).push(encodeChannelData(0x4000, new Uint8Array(60), true))).toHaveLength(1);
  });

  it('default limit is 65536 bytes', () => {
    const big = encodeStun({ method: 1, cls: 0, transactionId: TID, attributes: [{ type: 'DATA', data: new Uint8Array(65000) }] });
    expect(new StunStreamDecoder().push(big)).toHaveLength(1);
  });

  it('never throws anything but StunError on random input (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }), (chunks) => {
        const d = new StunStreamDecoder(256);
        try {
          for (const c of chunks) d.push(c);
        } catch (err) {
          if (!(err instanceof StunError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
