/**
 * IP address text <-> bytes, pure code (no node:net). IPv6 text output is the RFC 5952
 * canonical form: lowercase hex, no leading zeros, the longest run (first on a tie) of two or
 * more zero groups compressed to "::", and IPv4-mapped addresses (::ffff:0:0/96) written with a
 * dotted-quad tail (RFC 5952 §5), which is also how Node reports them ("::ffff:192.0.2.1").
 */
import { StunError } from './errors.js';

/** Parses strict dotted-quad IPv4 ("192.0.2.1"; no leading zeros, no shorthand). Returns undefined if invalid. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * Parses IPv6 text: full, "::"-compressed, mixed with a dotted-quad tail, any hex case. A
 * trailing "%zone" is ignored (zones mean nothing on the wire). Returns undefined if invalid.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const pct = text.indexOf('%');
  if (pct >= 0) {
    if (pct === text.length - 1) return undefined;
    text = text.slice(0, pct);
  }
  if (text.length === 0 || text.length > 45) return undefined;
  const out = new Uint8Array(16);
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const groups = side.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  let words: number[];
  if (dbl >= 0) {
    const head = parseSide(text.slice(0, dbl));
    const tail = parseSide(text.slice(dbl + 2));
    if (!head || !tail) return undefined;
    // "::" stands for at least one group of zeros (RFC 4291 §2.2).
    if (head.length + tail.length > 7) return undefined;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseSide(text);
    if (!all || all.length !== 8) return undefined;
    words = all;
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 canonical text for 16 bytes at `offset`. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses as ::ffff:a.b.c.d
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  }
  // RFC 5952 §4.2: compress the longest run of >= 2 zero groups; the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** Address bytes (4 or 16) for a family and text, or StunError('bad-attribute'). */
export function addressToBytes(family: 'IPv4' | 'IPv6', address: string): Uint8Array {
  const bytes = family === 'IPv4' ? parseIPv4(address) : family === 'IPv6' ? parseIPv6(address) : undefined;
  if (!bytes) throw new StunError('bad-attribute', `invalid ${String(family)} address: ${JSON.stringify(address)}`);
  return bytes;
}

/** Canonical text form of an address (throws StunError('bad-attribute') if it does not parse). */
export function canonicalAddress(family: 'IPv4' | 'IPv6', address: string): string {
  const bytes = addressToBytes(family, address);
  return family === 'IPv4' ? formatIPv4(bytes) : formatIPv6(bytes);
}
