/**
 * CRC-32 as used by the STUN FINGERPRINT attribute. Pure table implementation.
 *
 * RFC 8489 §14.7: "The 32-bit CRC is the one defined in ITU V.42 [ITU.V42.2002], which has a
 * generator polynomial of x^32 + x^26 + x^23 + x^22 + x^16 + x^12 + x^11 + x^10 + x^8 + x^7 +
 * x^5 + x^4 + x^2 + x + 1." That is the IEEE/zlib CRC-32 (reflected polynomial 0xEDB88320).
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of `data[start, end)`, as an unsigned 32-bit number. */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** RFC 8489 §14.7: the FINGERPRINT value is the CRC-32 "XOR'ed with the 32-bit value 0x5354554e". */
export const FINGERPRINT_XOR = 0x5354554e;

/** FINGERPRINT value over `data[start, end)` (the message up to the attribute, with its length field already final). */
export function stunFingerprint(data: Uint8Array, start = 0, end = data.length): number {
  return (crc32(data, start, end) ^ FINGERPRINT_XOR) >>> 0;
}
