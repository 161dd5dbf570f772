import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  encodeFrame,
  FRAME_HEADER_LENGTH,
  FrameDecoder,
  MAX_FRAME_PAYLOAD,
  PROTOCOL_VERSION,
  ProtocolError,
  type ProtocolErrorCode,
  type RawFrame,
} from './frame.js';
import { concatBytes } from '../bytes.js';

const KNOWN = new Set([1, 2, 3, 200]);
const decoder = (maxPayload?: number) => new FrameDecoder({ knownTypes: KNOWN, maxPayload });

function header(version: number, type: number, length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_LENGTH);
  h[0] = version;
  h[1] = type;
  new DataView(h.buffer).setUint32(2, length, false);
  return h;
}


function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

function expectCode(fn: () => unknown, code: ProtocolErrorCode): ProtocolError {
  const err = protocolError(fn);
  expect(err.code).toBe(code);
  return err;
}

const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);

describe('encodeFrame', () => {
  it('writes version, type, big-endian length and payload', () => {
    const f = encodeFrame(2, bytes(0xaa, 0xbb, 0xcc));
    expect([...f]).toEqual([PROTOCOL_VERSION, 2, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc]);
  });

  it('encodes an empty payload as a bare header', () => {
    expect([...encodeFrame(200, new Uint8Array(0))]).toEqual([1, 200, 0, 0, 0, 0]);
  });

  it('accepts a payload of exactly MAX_FRAME_PAYLOAD and refuses one byte more', () => {
    expect(encodeFrame(1, new Uint8Array(MAX_FRAME_PAYLOAD)).length).toBe(FRAME_HEADER_LENGTH + MAX_FRAME_PAYLOAD);
    expectCode(() => encodeFrame(1, new Uint8Array(MAX_FRAME_PAYLOAD + 1)), 'oversize');
  });

  it('refuses a type that is not a byte', () => {
    for (const t of [-1, 256, 1.5, Number.NaN]) expectCode(() => encodeFrame(t, new Uint8Array(0)), 'unknown-type');
  });
});

describe('FrameDecoder', () => {
  it('decodes a single frame pushed whole', () => {
    const frames = decoder().push(encodeFrame(3, text('hello')));
    expect(frames).toEqual([{ type: 3, payload: text('hello') }]);
  });

  it('decodes several frames from one chunk, in order', () => {
    const d = decoder();
    const frames = d.push(concatBytes(encodeFrame(1, text('a')), encodeFrame(2, new Uint8Array(0)), encodeFrame(200, text('ccc'))));
    expect(frames.map((f) => f.type)).toEqual([1, 2, 200]);
    expect(frames.map((f) => new TextDecoder().decode(f.payload))).toEqual(['a', '', 'ccc']);
    expect(d.takeRemainder().length).toBe(0);
  });

  it('returns nothing until a frame is complete, then the frame', () => {
    const d = decoder();
    const f = encodeFrame(1, text('payload'));
    for (let i = 0; i < f.length - 1; i++) expect(d.push(f.subarray(i, i + 1))).toEqual([]);
    expect(d.push(f.subarray(f.length - 1))).toEqual([{ type: 1, payload: text('payload') }]);
  });

  it('payloads are copies, not views of the caller buffer', () => {
    const f = encodeFrame(1, text('abc'));
    const [frame] = decoder().push(f);
    f.fill(0);
    expect(new TextDecoder().decode(frame!.payload)).toBe('abc');
  });

  it('yields the same frames whatever the chunk boundaries, and keeps the unfinished tail', () => {
    const payloads = [text('one'), new Uint8Array(0), new Uint8Array(80).fill(7), text('{"x":1}')];
    const types = [1, 2, 200, 3];
    const whole = concatBytes(...payloads.map((p, i) => encodeFrame(types[i]!, p)));
    const tail = encodeFrame(2, text('not finished')).subarray(0, 9);
    const stream = concatBytes(whole, tail);
    const expected: RawFrame[] = payloads.map((payload, i) => ({ type: types[i]!, payload }));

    // Every single split point...
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = decoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(got).toEqual(expected);
      expect(d.takeRemainder()).toEqual(tail);
    }
    // ...and random multi-way splits.
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: stream.length }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const d = decoder();
        const got: RawFrame[] = [];
        for (let i = 0; i + 1 < points.length; i++) got.push(...d.push(stream.subarray(points[i]!, points[i + 1]!)));
        expect(got).toEqual(expected);
        expect(d.takeRemainder()).toEqual(tail);
      }),
      { numRuns: 300 },
    );
  });

  it('takeRemainder empties the decoder', () => {
    const d = decoder();
    d.push(bytes(1, 1, 0));
    expect([...d.takeRemainder()]).toEqual([1, 1, 0]);
    expect(d.takeRemainder().length).toBe(0);
    expect(d.push(encodeFrame(1, text('x')))).toEqual([{ type: 1, payload: text('x') }]);
  });

  describe('header errors are detected as soon as the six header bytes arrive', () => {
    it('wrong version -> bad-version', () => {
      for (const v of [0, 2, 0xff]) {
        const d = decoder();
        expect(d.push(header(v, 1, 0).subarray(0, 5))).toEqual([]);
        const err = expectCode(() => d.push(header(v, 1, 0).subarray(5)), 'bad-version');
        expect(err.message).toContain(String(v));
      }
    });

    it('unknown type -> unknown-type', () => {
      for (const t of [0, 4, 199, 255]) {
        const err = expectCode(() => decoder().push(header(PROTOCOL_VERSION, t, 10)), 'unknown-type');
        expect(err.message).toContain(String(t));
      }
    });

    it('length above the limit -> oversize, without waiting for the payload', () => {
      expectCode(() => decoder().push(header(PROTOCOL_VERSION, 1, MAX_FRAME_PAYLOAD + 1)), 'oversize');
      expectCode(() => decoder().push(header(PROTOCOL_VERSION, 1, 0xffffffff)), 'oversize');
      // exactly the limit is fine: the decoder just waits for the payload
      expect(decoder().push(header(PROTOCOL_VERSION, 1, MAX_FRAME_PAYLOAD))).toEqual([]);
    });

    it('honours a custom maxPayload', () => {
      expectCode(() => decoder(16).push(header(PROTOCOL_VERSION, 1, 17)), 'oversize');
      expect(decoder(16).push(concatBytes(header(PROTOCOL_VERSION, 1, 16), new Uint8Array(16)))).toHaveLength(1);
    });

    it('checks the version before the type and the type before the length', () => {
      expectCode(() => decoder().push(header(9, 99, 0xffffffff)), 'bad-version');
      expectCode(() => decoder().push(header(PROTOCOL_VERSION, 99, 0xffffffff)), 'unknown-type');
    });

    it('a bad header keeps failing on later pushes', () => {
      const d = decoder();
      expectCode(() => d.push(header(2, 1, 0)), 'bad-version');
      expectCode(() => d.push(encodeFrame(1, text('x'))), 'bad-version');
    });
  });

  describe('protocol switch: frames followed by raw bytes in the same chunk', () => {
    const raw = text('SSH-2.0-OpenSSH_9.6\r\n');
    const stopOnType1 = (f: { type: number }) => f.type === 1;

    it('stops after the switching frame and keeps the raw bytes for takeRemainder()', () => {
      const d = decoder();
      const frames = d.push(concatBytes(encodeFrame(1, text('start')), raw), stopOnType1);
      expect(frames).toEqual([{ type: 1, payload: text('start') }]);
      expect(d.isStopped).toBe(true);
      expect(d.takeRemainder()).toEqual(raw);
    });

    it('raw bytes that happen to form valid frames are not decoded after the switch', () => {
      const d = decoder();
      const lookalike = concatBytes(encodeFrame(2, text('not a frame, user data')), encodeFrame(3, new Uint8Array(0)));
      expect(d.push(concatBytes(encodeFrame(1, text('start')), lookalike), stopOnType1)).toHaveLength(1);
      expect(d.push(text('more'))).toEqual([]);
      expect(d.takeRemainder()).toEqual(concatBytes(lookalike, text('more')));
    });

    it('raw bytes that look like an oversize header are kept too', () => {
      const d = decoder();
      const tail = header(PROTOCOL_VERSION, 1, 0x7fffffff);
      expect(d.push(concatBytes(encodeFrame(1, new Uint8Array(0)), tail), stopOnType1)).toHaveLength(1);
      expect(d.takeRemainder()).toEqual(tail);
    });

    it('without a switch, a bad header after a good frame is an error at once', () => {
      expectCode(() => decoder().push(concatBytes(encodeFrame(1, text('start')), raw)), 'bad-version');
    });
  });

  it('property: arbitrary byte chunks only ever throw ProtocolError', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            // header-shaped chunks reach the length and payload paths
            fc
              .tuple(
                fc.constantFrom(PROTOCOL_VERSION, PROTOCOL_VERSION, 0, 2),
                fc.constantFrom(1, 2, 3, 200, 0, 255),
                fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(MAX_FRAME_PAYLOAD + 1), fc.nat()),
                fc.uint8Array({ maxLength: 48 }),
              )
              .map(([v, t, l, p]) => concatBytes(header(v, t, l), p)),
          ),
          { maxLength: 12 },
        ),
        fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined }),
        (chunks, maxPayload) => {
          const d = decoder(maxPayload);
          for (const c of chunks) {
            try {
              for (const f of d.push(c)) {
                expect(KNOWN.has(f.type)).toBe(true);
                expect(f.payload.length).toBeLessThanOrEqual(maxPayload ?? MAX_FRAME_PAYLOAD);
              }
            } catch (err) {
              if (!(err instanceof ProtocolError)) throw err;
            }
          }
          d.takeRemainder();
        },
      ),
      { numRuns: 3000 },
    );
  });
});
