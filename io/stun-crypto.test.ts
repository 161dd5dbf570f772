import { describe, expect, it } from 'vitest';
import { nodeStunCrypto } from './stun-crypto.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('nodeStunCrypto', () => {
  it('HMAC-SHA1 matches RFC 2202 test case 1', () => {
    const key = new Uint8Array(20).fill(0x0b);
    expect(hex(nodeStunCrypto.hmacSha1(key, ascii('Hi There')))).toBe('b617318655057264e28bc0b6fb378c8ef146be00');
  });

  it('HMAC-SHA256 matches RFC 4231 test case 1', () => {
    const key = new Uint8Array(20).fill(0x0b);
    expect(hex(nodeStunCrypto.hmacSha256(key, ascii('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });

  it('MD5 and SHA-256 match the RFC 1321 / FIPS 180 "abc" vectors', () => {
    expect(hex(nodeStunCrypto.md5(ascii('abc')))).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(hex(nodeStunCrypto.md5(new Uint8Array(0)))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(hex(nodeStunCrypto.sha256(ascii('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('returns plain Uint8Arrays of the right sizes, not Buffers', () => {
    const k = ascii('key');
    const outs = [
      [nodeStunCrypto.hmacSha1(k, k), 20],
      [nodeStunCrypto.hmacSha256(k, k), 32],
      [nodeStunCrypto.md5(k), 16],
      [nodeStunCrypto.sha256(k), 32],
    ] as const;
    for (const [out, len] of outs) {
      expect(out).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(out)).toBe(false);
      expect(out.length).toBe(len);
    }
  });

  it('accepts subarray views as key and data', () => {
    const big = ascii('xxHi Therexx');
    const keyBig = new Uint8Array(24).fill(0x0b);
    expect(hex(nodeStunCrypto.hmacSha1(keyBig.subarray(2, 22), big.subarray(2, 10)))).toBe('b617318655057264e28bc0b6fb378c8ef146be00');
  });
});
