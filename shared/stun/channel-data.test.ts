import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelDataPadding, channelDataStreamLength, decodeChannelData, channelDataLength, decodeChannelDataView, encodeChannelData, encodeChannelDataInto, isChannelData } from './channel-data.js';
import { firstByteKind } from './stream.js';
import { StunError } from './errors.js';
import { isStunMessage } from './message.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StunError);
    return (err as StunError).code;
  }
  return undefined;
}

describe('ChannelData (RFC 8656 §12.4/§12.5)', () => {
  it('encodes without padding (UDP) and with padding (TCP)', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(Array.from(encodeChannelData(0x4000, data))).toEqual([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5]);
    expect(Array.from(encodeChannelData(0x4000, data, true))).toEqual([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
    expect(Array.from(encodeChannelData(0x7fff, new Uint8Array(0), true))).toEqual([0x7f, 0xff, 0, 0]);
    expect(encodeChannelData(0x4001, new Uint8Array(8), true).length).toBe(12);
  });

  it('decodes with and without padding; extra bytes are ignored', () => {
    const data = Uint8Array.from([9, 8, 7]);
    for (const pad of [false, true]) {
      const bytes = encodeChannelData(0x4abc, data, pad);
      expect(isChannelData(bytes)).toBe(true);
      expect(isStunMessage(bytes)).toBe(false);
      expect(decodeChannelData(bytes)).toEqual({ channel: 0x4abc, data });
    }
    const extra = new Uint8Array(20);
    extra.set(encodeChannelData(0x4000, data));
    expect(decodeChannelData(extra)).toEqual({ channel: 0x4000, data });
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x4000, max: 0x7fff }), fc.uint8Array({ maxLength: 64 }), fc.boolean(), (channel, data, pad) => {
        const bytes = encodeChannelData(channel, data, pad);
        expect(bytes.length % 4 === 0 || !pad).toBe(true);
        const d = decodeChannelData(bytes);
        if (!isDeepStrictEqual(d, { channel, data })) expect(d).toEqual({ channel, data });
      }),
      { numRuns: 1000 },
    );
  });

  it('decodeChannelDataView gives the same data as a view into the datagram; decodeChannelData a copy', () => {
    const bytes = Uint8Array.from([0x40, 0x01, 0, 3, 7, 8, 9, 0]);
    const view = decodeChannelDataView(bytes);
    const copy = decodeChannelData(bytes);
    expect(view).toEqual({ channel: 0x4001, data: Uint8Array.from([7, 8, 9]) });
    expect(copy).toEqual(view);
    expect(view.data.buffer).toBe(bytes.buffer);
    expect(view.data.byteOffset).toBe(4);
    bytes[4] = 1;
    expect(view.data[0]).toBe(1);
    expect(copy.data[0]).toBe(7);
  });

  it('decodeChannelDataView rejects exactly what decodeChannelData rejects (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const view = code(() => decodeChannelDataView(bytes));
        expect(view).toBe(code(() => decodeChannelData(bytes)));
        if (view === undefined) expect(decodeChannelDataView(bytes)).toEqual(decodeChannelData(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('encodeChannelDataInto writes exactly what encodeChannelData returns, over any old bytes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x4000, max: 0x7fff }), fc.uint8Array({ maxLength: 64 }), fc.boolean(), (channel, data, pad) => {
        // A dirty buffer, as Buffer.allocUnsafe hands out: the padding must not leak it.
        const out = new Uint8Array(channelDataLength(data.length, pad)).fill(0xee);
        expect(encodeChannelDataInto(out, channel, data, pad)).toBe(out);
        expect(out).toEqual(encodeChannelData(channel, data, pad));
      }),
      { numRuns: 500 },
    );
    expect(channelDataLength(1, true)).toBe(8);
    expect(channelDataLength(1)).toBe(5);
  });

  it('encodeChannelDataInto refuses an output of the wrong size and bad input like encodeChannelData', () => {
    expect(code(() => encodeChannelDataInto(new Uint8Array(6), 0x4000, new Uint8Array(1)))).toBe('bad-channel-data');
    expect(code(() => encodeChannelDataInto(new Uint8Array(5), 0x4000, new Uint8Array(1), true))).toBe('bad-channel-data');
    expect(code(() => encodeChannelDataInto(new Uint8Array(4), 0x3fff, new Uint8Array(0)))).toBe('bad-channel-data');
    expect(code(() => encodeChannelDataInto(new Uint8Array(0x10004), 0x4000, new Uint8Array(0x10000)))).toBe('bad-channel-data');
  });

  it('rejects what is not ChannelData', () => {
    expect(code(() => decodeChannelData(new Uint8Array(3)))).toBe('truncated');
    expect(code(() => decodeChannelData(Uint8Array.from([0x40, 0, 0, 4, 1, 2, 3])))).toBe('truncated');
    expect(code(() => decodeChannelData(Uint8Array.from([0x00, 1, 0, 0])))).toBe('bad-channel-data');
    expect(code(() => decodeChannelData(Uint8Array.from([0x80, 1, 0, 0])))).toBe('bad-channel-data');
    expect(isChannelData(Uint8Array.from([0x40, 0, 0, 4, 1, 2, 3]))).toBe(false);
    expect(isChannelData(Uint8Array.from([0xc0, 0, 0, 0]))).toBe(false);
    expect(isChannelData(new Uint8Array(2))).toBe(false);
  });

  it('refuses to encode bad channels or oversized data', () => {
    expect(code(() => encodeChannelData(0x3fff, new Uint8Array(0)))).toBe('bad-channel-data');
    expect(code(() => encodeChannelData(0x8000, new Uint8Array(0)))).toBe('bad-channel-data');
    expect(code(() => encodeChannelData(16384.5, new Uint8Array(0)))).toBe('bad-channel-data');
    expect(code(() => encodeChannelData(0x4000, new Uint8Array(0x10000)))).toBe('bad-channel-data');
  });

  it('never throws anything but StunError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(typeof isChannelData(bytes)).toBe('boolean');
        try {
          const d = decodeChannelData(bytes);
          expect(isChannelData(bytes)).toBe(true);
          expect(d.data.length).toBeLessThanOrEqual(bytes.length - 4);
        } catch (err) {
          if (!(err instanceof StunError)) throw err;
          expect(isChannelData(bytes)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ChannelData on streams (RFC 8656 §12.5)', () => {
  it('needs padding to a multiple of four unless padded already; other messages need none', () => {
    expect(channelDataStreamLength(0)).toBe(4);
    expect(channelDataStreamLength(5)).toBe(12);
    expect(channelDataPadding(encodeChannelData(0x4000, new Uint8Array(5)))).toBe(3);
    expect(channelDataPadding(encodeChannelData(0x4000, new Uint8Array(5), true))).toBe(0);
    expect(channelDataPadding(encodeChannelData(0x4001, new Uint8Array(8)))).toBe(0);
    expect(channelDataPadding(Uint8Array.from([0x01, 0x01, 0x00, 0x05, 0x21, 0x12, 0xa4, 0x42]))).toBe(0);
  });

  it('tells STUN, ChannelData and neither apart by the first two bits (RFC 7983)', () => {
    expect(firstByteKind(0x00)).toBe('stun');
    expect(firstByteKind(0x3f)).toBe('stun');
    expect(firstByteKind(0x40)).toBe('channel-data');
    expect(firstByteKind(0x7f)).toBe('channel-data');
    expect(firstByteKind(0x80)).toBeUndefined();
    expect(firstByteKind(0x47 /* 'G' */)).toBe('channel-data');
  });
});
