import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  encodeFrame,
  encodeHeader,
  MUX_HEADER_LENGTH,
  MUX_INITIAL_WINDOW,
  MuxError,
  MuxFlag,
  MuxFrameDecoder,
  MuxType,
  type MuxErrorCode,
  type MuxFrame,
  type MuxHeader,
} from './frame.js';
import { concatBytes } from '../bytes.js';

function muxError(fn: () => unknown): MuxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MuxError);
    return err as MuxError;
  }
  throw new Error('expected a MuxError, nothing was thrown');
}

function expectCode(fn: () => unknown, code: MuxErrorCode): void {
  expect(muxError(fn).code).toBe(code);
}


/** Split `bytes` at the given cut points (sorted, deduplicated, clamped). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

const plain = (f: MuxFrame) => ({ ...f, payload: [...f.payload] });

describe('encodeHeader', () => {
  it('lays out version, type, flags, stream id and length big-endian (spec example: SYN window update)', () => {
    const h = encodeHeader({ type: MuxType.WindowUpdate, flags: MuxFlag.SYN, streamId: 1, length: 0 });
    expect([...h]).toEqual([0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  });

  it('encodes every field at its extreme', () => {
    const h = encodeHeader({ type: MuxType.GoAway, flags: 0xffff, streamId: 0xffffffff, length: 0x01020304 });
    expect([...h]).toEqual([0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
  });

  it('rejects fields out of range with MuxError', () => {
    expectCode(() => encodeHeader({ type: 4 as MuxType, flags: 0, streamId: 0, length: 0 }), 'unknown-type');
    expectCode(() => encodeHeader({ type: MuxType.Data, flags: 0x10000, streamId: 0, length: 0 }), 'bad-header');
    expectCode(() => encodeHeader({ type: MuxType.Data, flags: 0, streamId: -1, length: 0 }), 'bad-header');
    expectCode(() => encodeHeader({ type: MuxType.Data, flags: 0, streamId: 2 ** 32, length: 0 }), 'bad-header');
    expectCode(() => encodeHeader({ type: MuxType.Ping, flags: 0, streamId: 0, length: 1.5 }), 'bad-header');
  });
});

describe('encodeFrame', () => {
  it('puts the payload right after the header', () => {
    const f = encodeFrame({ type: MuxType.Data, flags: MuxFlag.FIN, streamId: 2, length: 3 }, new Uint8Array([7, 8, 9]));
    expect([...f]).toEqual([0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3, 7, 8, 9]);
  });

  it('refuses a Data length that does not match the payload, and a payload on other types', () => {
    expectCode(() => encodeFrame({ type: MuxType.Data, flags: 0, streamId: 1, length: 2 }, new Uint8Array(3)), 'bad-header');
    expectCode(() => encodeFrame({ type: MuxType.Ping, flags: 0, streamId: 0, length: 2 }, new Uint8Array(2)), 'bad-header');
  });
});

describe('MuxFrameDecoder', () => {
  it('decodes a Data frame and a non-Data frame whose length is not a payload', () => {
    const d = new MuxFrameDecoder();
    const bytes = concatBytes(
      encodeFrame({ type: MuxType.Data, flags: MuxFlag.SYN, streamId: 1, length: 2 }, new Uint8Array([1, 2])),
      encodeHeader({ type: MuxType.WindowUpdate, flags: 0, streamId: 1, length: 1_000_000 }),
      encodeHeader({ type: MuxType.Ping, flags: MuxFlag.ACK, streamId: 0, length: 42 }),
    );
    const frames = d.push(bytes).map(plain);
    expect(frames).toEqual([
      { type: 0, flags: 1, streamId: 1, length: 2, payload: [1, 2] },
      { type: 1, flags: 0, streamId: 1, length: 1_000_000, payload: [] },
      { type: 2, flags: 2, streamId: 0, length: 42, payload: [] },
    ]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('waits for a header and a payload split across many chunks, one byte at a time', () => {
    const d = new MuxFrameDecoder();
    const bytes = encodeFrame({ type: MuxType.Data, flags: 0, streamId: 3, length: 5 }, new Uint8Array([1, 2, 3, 4, 5]));
    const out: MuxFrame[] = [];
    for (let i = 0; i < bytes.length; i++) {
      out.push(...d.push(bytes.subarray(i, i + 1)));
      if (i < bytes.length - 1) expect(out).toHaveLength(0);
    }
    expect(out.map(plain)).toEqual([{ type: 0, flags: 0, streamId: 3, length: 5, payload: [1, 2, 3, 4, 5] }]);
  });

  it('returns a view, not a copy, when the payload sits in one chunk', () => {
    const bytes = encodeFrame({ type: MuxType.Data, flags: 0, streamId: 1, length: 4 }, new Uint8Array([9, 9, 9, 9]));
    const [frame] = new MuxFrameDecoder().push(bytes);
    expect(frame!.payload.buffer).toBe(bytes.buffer);
  });

  it('accepts a zero-length Data frame (a bare FIN)', () => {
    const frames = new MuxFrameDecoder().push(encodeHeader({ type: MuxType.Data, flags: MuxFlag.FIN, streamId: 1, length: 0 }));
    expect(frames.map(plain)).toEqual([{ type: 0, flags: 4, streamId: 1, length: 0, payload: [] }]);
  });

  it('refuses a bad version or an unknown type as soon as the header arrives', () => {
    const bad = encodeHeader({ type: MuxType.Data, flags: 0, streamId: 1, length: 0 });
    bad[0] = 1;
    expectCode(() => new MuxFrameDecoder().push(bad), 'bad-version');
    const unknown = encodeHeader({ type: MuxType.Data, flags: 0, streamId: 1, length: 0 });
    unknown[1] = 4;
    expectCode(() => new MuxFrameDecoder().push(unknown), 'unknown-type');
  });

  it('refuses an oversize Data frame before its payload arrives, but not a large WindowUpdate delta', () => {
    const d = new MuxFrameDecoder({ maxFramePayload: 1024 });
    expect(d.push(encodeHeader({ type: MuxType.WindowUpdate, flags: 0, streamId: 1, length: 0xffffffff }))).toHaveLength(1);
    expect(d.push(encodeFrame({ type: MuxType.Data, flags: 0, streamId: 1, length: 1024 }, new Uint8Array(1024)))).toHaveLength(1);
    expectCode(() => d.push(encodeHeader({ type: MuxType.Data, flags: 0, streamId: 1, length: 1025 })), 'oversize');
  });

  it('defaults the payload limit to the initial window', () => {
    const d = new MuxFrameDecoder();
    expectCode(() => d.push(encodeHeader({ type: MuxType.Data, flags: 0, streamId: 1, length: MUX_INITIAL_WINDOW + 1 })), 'oversize');
  });

  it('stays failed after an error', () => {
    const d = new MuxFrameDecoder();
    const bad = new Uint8Array(MUX_HEADER_LENGTH).fill(0xff);
    expectCode(() => d.push(bad), 'bad-version');
    expectCode(() => d.push(encodeHeader({ type: MuxType.Ping, flags: 0, streamId: 0, length: 0 })), 'bad-version');
  });
});

const headerArb = fc.record({
  type: fc.constantFrom(MuxType.Data, MuxType.WindowUpdate, MuxType.Ping, MuxType.GoAway),
  flags: fc.integer({ min: 0, max: 0xffff }),
  streamId: fc.integer({ min: 0, max: 0xffffffff }),
  length: fc.integer({ min: 0, max: 0xffffffff }),
});

const frameArb = fc.oneof(
  headerArb.filter((h) => h.type !== MuxType.Data).map((h) => ({ header: h as MuxHeader, payload: new Uint8Array(0) })),
  fc
    .record({ flags: fc.integer({ min: 0, max: 0xffff }), streamId: fc.integer({ min: 0, max: 0xffffffff }), payload: fc.uint8Array({ maxLength: 300 }) })
    .map(({ flags, streamId, payload }) => ({
      header: { type: MuxType.Data, flags, streamId, length: payload.length } as MuxHeader,
      payload,
    })),
);

describe('properties', () => {
  it('decode(encode(frames)) is the identity, however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat({ max: 8000 }), { maxLength: 30 }), (frames, cuts) => {
        const bytes = concatBytes(...frames.map((f) => encodeFrame(f.header, f.payload)));
        const d = new MuxFrameDecoder({ maxFramePayload: 300 });
        const out = split(bytes, cuts).flatMap((c) => d.push(c));
        expect(out.map(plain)).toEqual(frames.map((f) => ({ ...f.header, payload: [...f.payload] })));
        expect(d.bufferedBytes).toBe(0);
      }),
    );
  });

  it('streamData: pieces are views that add up to each frame, SYN/ACK on the first and FIN/RST on the last, however the bytes are chunked', () => {
    const ends = MuxFlag.FIN | MuxFlag.RST;
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat({ max: 8000 }), { maxLength: 30 }), (frames, cuts) => {
        const bytes = concatBytes(...frames.map((f) => encodeFrame(f.header, f.payload)));
        const d = new MuxFrameDecoder({ maxFramePayload: 300, streamData: true });
        const chunks = split(bytes, cuts);
        const out = chunks.flatMap((c) => d.push(c));
        // Merge each Data frame's run of pieces back into one frame, checking the flags on the way.
        const merged: Array<ReturnType<typeof plain>> = [];
        let i = 0;
        for (const f of frames) {
          if (f.header.type !== MuxType.Data || f.header.length === 0) {
            merged.push(plain(out[i++]!));
            continue;
          }
          const pieces: MuxFrame[] = [];
          let got = 0;
          while (got < f.header.length) {
            const piece = out[i++]!;
            expect(piece.length).toBe(piece.payload.length);
            expect(piece.length).toBeGreaterThan(0);
            // A piece is a view into one of the pushed chunks, never a copy.
            expect(chunks.some((c) => c.buffer === piece.payload.buffer)).toBe(true);
            got += piece.length;
            pieces.push(piece);
          }
          pieces.forEach((p, k) => {
            const first = k === 0;
            const last = k === pieces.length - 1;
            expect(p.flags).toBe((first ? f.header.flags & ~ends : 0) | (last ? f.header.flags & ends : 0));
          });
          merged.push({ ...f.header, payload: pieces.flatMap((p) => [...p.payload]) });
        }
        expect(i).toBe(out.length);
        expect(merged).toEqual(frames.map((f) => ({ ...f.header, payload: [...f.payload] })));
        expect(d.bufferedBytes).toBe(0);
      }),
    );
  });

  it('random bytes only ever yield frames or a MuxError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }), fc.nat({ max: 512 }), (bytes, cuts, max) => {
        const d = new MuxFrameDecoder({ maxFramePayload: max });
        try {
          for (const c of split(bytes, cuts)) {
            for (const f of d.push(c)) {
              expect(f.type).toBeLessThanOrEqual(3);
              if (f.type === MuxType.Data) expect(f.payload.length).toBe(f.length);
              else expect(f.payload.length).toBe(0);
            }
          }
        } catch (err) {
          expect(err).toBeInstanceOf(MuxError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('mostly-valid headers with random fields decode or fail with MuxError, never anything else', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 6 }), fc.nat({ max: 0xffff }), fc.nat({ max: 600 })), { maxLength: 10 }), (specs) => {
        const parts = specs.map(([v, t, flags, len]) => {
          const h = new Uint8Array(MUX_HEADER_LENGTH);
          h[0] = v === 2 ? 0 : v; // mostly version 0
          h[1] = t;
          h[2] = flags >> 8;
          h[3] = flags & 0xff;
          h[11] = len & 0xff;
          h[10] = len >> 8;
          return t === 0 ? concatBytes(h, new Uint8Array(len)) : h;
        });
        const d = new MuxFrameDecoder({ maxFramePayload: 512 });
        try {
          d.push(concatBytes(...parts));
        } catch (err) {
          expect(err).toBeInstanceOf(MuxError);
        }
      }),
    );
  });
});
