import { describe, expect, it } from 'vitest';
import { utf8Decoder, utf8Encoder } from './utf8.js';

describe('utf8', () => {
  it('encodes and decodes multi-byte text', () => {
    const bytes = utf8Encoder.encode('héllo 𝄞');
    expect([...bytes]).toEqual([0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x20, 0xf0, 0x9d, 0x84, 0x9e]);
    expect(utf8Decoder.decode(bytes)).toBe('héllo 𝄞');
  });

  it('rejects malformed UTF-8 instead of substituting U+FFFD', () => {
    expect(() => utf8Decoder.decode(Uint8Array.of(0x61, 0xc3))).toThrow(TypeError);
    expect(() => utf8Decoder.decode(Uint8Array.of(0xff))).toThrow(TypeError);
  });

  it('keeps a leading byte order mark as text', () => {
    expect(utf8Decoder.decode(Uint8Array.of(0xef, 0xbb, 0xbf))).toBe('\ufeff');
  });
});
