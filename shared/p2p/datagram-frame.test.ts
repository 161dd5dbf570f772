import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DatagramFrameError,
  decodeDirectFrame,
  DIRECT_HEADER_LENGTH,
  encodeDirectFrame,
  encodeRelayDatagram,
  MAX_DIRECT_PAYLOAD,
  MAX_UDP_PAYLOAD,
  RelayDatagramReader,
  type DirectFrame,
} from './datagram-frame.js';

const session = fc.integer({ min: 0, max: 0xffff_ffff });
const directPayload = fc.uint8Array({ minLength: 0, maxLength: MAX_DIRECT_PAYLOAD });
const frameArb: fc.Arbitrary<DirectFrame> = fc.oneof(
  fc.record({ kind: fc.constant('data' as const), session, payload: directPayload }),
  fc.record({ kind: fc.constant('close' as const), session, payload: fc.constant(new Uint8Array(0)) }),
);

function errorOf(fn: () => unknown): DatagramFrameError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DatagramFrameError);
    return err as DatagramFrameError;
  }
  throw new Error('expected a DatagramFrameError, nothing was thrown');
}

/** Cuts `bytes` at the given points (sorted, deduplicated, in range). */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('direct datagram frame', () => {
  it('round-trips kind, session id and payload bytes', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const wire = encodeDirectFrame(f);
        expect(wire.length).toBe(DIRECT_HEADER_LENGTH + f.payload.length);
        const back = decodeDirectFrame(wire);
        expect(back.kind).toBe(f.kind);
        expect(back.session).toBe(f.session);
        expect(Buffer.from(back.payload).equals(Buffer.from(f.payload))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes a frame that sits inside a larger buffer (byteOffset)', () => {
    fc.assert(
      fc.property(frameArb, fc.uint8Array({ maxLength: 16 }), (f, prefix) => {
        const wire = encodeDirectFrame(f);
        const big = new Uint8Array(prefix.length + wire.length);
        big.set(prefix);
        big.set(wire, prefix.length);
        expect(decodeDirectFrame(big.subarray(prefix.length)).session).toBe(f.session);
      }),
    );
  });

  it('rejects a truncated header with a clear error', () => {
    fc.assert(
      fc.property(frameArb, fc.integer({ min: 0, max: DIRECT_HEADER_LENGTH - 1 }), (f, n) => {
        expect(errorOf(() => decodeDirectFrame(encodeDirectFrame(f).subarray(0, n))).message).toMatch(/truncated/);
      }),
    );
  });

  it('rejects oversized payloads on both ends, unknown kinds and a close with a payload', () => {
    expect(errorOf(() => encodeDirectFrame({ kind: 'data', session: 1, payload: new Uint8Array(MAX_DIRECT_PAYLOAD + 1) })).message).toMatch(/larger than the direct path/);
    expect(errorOf(() => decodeDirectFrame(new Uint8Array(DIRECT_HEADER_LENGTH + MAX_DIRECT_PAYLOAD + 1))).message).toMatch(/oversized/);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 255 }), directPayload, (kind, payload) => {
        const wire = encodeDirectFrame({ kind: 'data', session: 9, payload });
        wire[0] = kind;
        expect(errorOf(() => decodeDirectFrame(wire)).message).toMatch(/unknown kind/);
      }),
    );
    const close = encodeDirectFrame({ kind: 'data', session: 3, payload: new Uint8Array([1]) });
    close[0] = 1;
    expect(errorOf(() => decodeDirectFrame(close)).message).toMatch(/close frame with a payload/);
    expect(errorOf(() => encodeDirectFrame({ kind: 'close', session: 3, payload: new Uint8Array([1]) })).message).toMatch(/no payload/);
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) expect(errorOf(() => encodeDirectFrame({ kind: 'data', session: bad, payload: new Uint8Array(0) })).message).toMatch(/session id/);
  });

  it('never throws anything but a DatagramFrameError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX_DIRECT_PAYLOAD + 20 }), (bytes) => {
        try {
          decodeDirectFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(DatagramFrameError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('relay datagram framing', () => {
  const datagrams = fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 });

  it('keeps every datagram and its boundaries, however the stream cuts the bytes', () => {
    fc.assert(
      fc.property(datagrams, fc.array(fc.nat(), { maxLength: 30 }), (list, points) => {
        const wire = Buffer.concat(list.map((d) => encodeRelayDatagram(d)));
        const reader = new RelayDatagramReader();
        const got = cut(wire, points).flatMap((c) => reader.push(c));
        expect(got.map((d) => Buffer.from(d).toString('hex'))).toEqual(list.map((d) => Buffer.from(d).toString('hex')));
        expect(reader.pending).toBe(0);
        expect(() => reader.finish()).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('carries the largest UDP payload and refuses one byte more', () => {
    const reader = new RelayDatagramReader();
    const big = new Uint8Array(MAX_UDP_PAYLOAD).fill(0xab);
    expect(reader.push(encodeRelayDatagram(big))[0]!.length).toBe(MAX_UDP_PAYLOAD);
    expect(errorOf(() => encodeRelayDatagram(new Uint8Array(MAX_UDP_PAYLOAD + 1))).message).toMatch(/larger than UDP allows/);
  });

  it('rejects a length prefix above the UDP maximum with a clear error', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_UDP_PAYLOAD + 1, max: 0xffff }), (length) => {
        const reader = new RelayDatagramReader();
        expect(errorOf(() => reader.push(new Uint8Array([length >> 8, length & 0xff]))).message).toMatch(/larger than UDP allows/);
      }),
    );
  });

  it('says when the stream ended inside a datagram (truncated)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.nat(), (d, n) => {
        const wire = encodeRelayDatagram(d);
        const reader = new RelayDatagramReader();
        expect(reader.push(wire.subarray(0, 1 + (n % (wire.length - 1))))).toEqual([]);
        expect(errorOf(() => reader.finish()).message).toMatch(/ended inside a datagram/);
      }),
    );
  });

  it('hands out copies, not views into a buffer the caller may reuse', () => {
    const chunk = Buffer.from(encodeRelayDatagram(new Uint8Array([1, 2, 3])));
    const [d] = new RelayDatagramReader().push(chunk);
    chunk.fill(0);
    expect([...d!]).toEqual([1, 2, 3]);
  });
});
