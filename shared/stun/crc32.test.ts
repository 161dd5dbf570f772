import { describe, expect, it } from 'vitest';
import { crc32, stunFingerprint } from './crc32.js';

describe('crc32', () => {
  it('is the IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('honours start and end', () => {
    const b = new TextEncoder().encode('xx123456789yy');
    expect(crc32(b, 2, 11)).toBe(0xcbf43926);
  });

  it('FINGERPRINT XORs with 0x5354554e', () => {
    expect(stunFingerprint(new TextEncoder().encode('123456789'))).toBe((0xcbf43926 ^ 0x5354554e) >>> 0);
  });
});
