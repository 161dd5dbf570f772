/**
 * Byte helpers that behave the same for plain Uint8Arrays and subclasses such as Node's Buffer,
 * whose `slice` returns a view instead of a copy. The codec hands out plain, unaliased copies.
 */

/** A plain Uint8Array view of the same memory (the input itself if it already is one). */
export function plainView(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain Uint8Array copy of `bytes[start, end)`. */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(end, bytes.length) - start));
  out.set(bytes.subarray(start, start + out.length));
  return out;
}
