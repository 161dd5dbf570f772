/**
 * IP addresses and transport addresses as text, pure code (no node:net, no Buffer): the one place
 * that parses IPv4/IPv6 text into bytes, spells addresses canonically, folds IPv4-mapped IPv6 to
 * IPv4, recognises the wildcard address and reads or writes "host:port" / "[v6]:port".
 *
 * Rules, decided once here:
 * - Parsing is strict: IPv4 is a dotted quad without leading zeros or shorthand; IPv6 is RFC 4291
 *   §2.2 text (full, "::"-compressed, or with a dotted-quad tail), any hex case. An IPv6 zone
 *   ("fe80::1%eth0", RFC 4007 §11) is accepted and dropped: zones mean nothing on the wire or in a
 *   rule. `parseIp` ignores surrounding whitespace (config text); the family parsers do not.
 * - Output is RFC 5952 text: IPv4 dotted quad; IPv6 per §4 (lower case, no leading zeros, the
 *   longest run of two or more zero groups compressed, the first on a tie) and, per §5, an
 *   IPv4-mapped address (::ffff:0:0/96) with a dotted-quad tail ("::ffff:192.0.2.1"), which is
 *   also how Node reports dual-stack peers and how the STUN codec decodes them.
 * - An IPv4-mapped IPv6 address stays IPv6 when parsed; callers that mean "the IPv4 peer behind a
 *   dual-stack socket" fold it with `unmapIPv4` / `unmapAddress` (access lists, logs, failure
 *   limiter keys), callers that must tell the two apart (the TURN peer policy) do not.
 * - The wildcard (unspecified) address is 0.0.0.0 or :: (RFC 1122 §3.2.1.3, RFC 4291 §2.5.2) in any
 *   spelling: every address byte is zero. "::ffff:0.0.0.0" is not the wildcard (it is a mapped
 *   address, and binding to it is not binding to every address).
 */

export type IpFamily = 'IPv4' | 'IPv6';

/** A parsed address: 4 bytes (IPv4) or 16 bytes (IPv6). IPv4-mapped IPv6 stays IPv6. */
export interface ParsedIp {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

/** Parses a strict dotted-quad IPv4 address ("192.0.2.1"); undefined if it is not one. */
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
 * Parses IPv6 text: full, "::"-compressed, mixed with a dotted-quad tail, any hex case. A trailing
 * "%zone" (not empty) is dropped. Undefined if the text is not an IPv6 address.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const pct = text.indexOf('%');
  if (pct >= 0) {
    if (pct === text.length - 1) return undefined;
    text = text.slice(0, pct);
  }
  if (text.length === 0 || text.length > 45) return undefined;
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
    // RFC 4291 §2.2: "::" stands for one or more groups of zeros.
    if (head.length + tail.length > 7) return undefined;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseSide(text);
    if (!all || all.length !== 8) return undefined;
    words = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Parses an IPv4 or IPv6 literal (surrounding whitespace and an IPv6 zone dropped); undefined if it is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  if (!t.includes(':')) {
    const v4 = parseIPv4(t);
    return v4 && { family: 'IPv4', bytes: v4 };
  }
  const v6 = parseIPv6(t);
  return v6 && { family: 'IPv6', bytes: v6 };
}

/** Like `parseIp`, but throws Error('not an IP address: "…"') instead of returning undefined. */
export function parseIpOrThrow(text: string): ParsedIp {
  const ip = parseIp(text);
  if (!ip) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  return ip;
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 canonical text for the 16 bytes at `offset`. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!);
  // RFC 5952 §5: "::ffff:192.0.2.1" for IPv4-mapped addresses (RECOMMENDED).
  if (isMappedWords(w)) return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  // RFC 5952 §4.2.1-4.2.3: "::" MUST shorten as much as possible, MUST NOT stand for one 16-bit 0
  // field, and the longest run (the first one on a tie) MUST be the one shortened.
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
  // RFC 5952 §4.1: leading zeros MUST be suppressed; §4.3: hex MUST be lower case.
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** RFC 5952 text of a parsed address. */
export function formatIp(ip: ParsedIp): string {
  return ip.family === 'IPv4' ? formatIPv4(ip.bytes) : formatIPv6(ip.bytes);
}

/** The canonical spelling of an IP literal, or undefined if it is not one. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip);
}

/** The family of an IP literal, or undefined. */
export function ipFamily(text: string): IpFamily | undefined {
  return parseIp(text)?.family;
}

function isMappedWords(w: readonly number[]): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;
}

/** True for an IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 §2.5.5.2). */
export function isIPv4Mapped(ip: ParsedIp): boolean {
  const b = ip.bytes;
  if (ip.family !== 'IPv6') return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address; any other address unchanged. */
export function unmapIPv4(ip: ParsedIp): ParsedIp {
  return isIPv4Mapped(ip) ? { family: 'IPv4', bytes: ip.bytes.slice(12, 16) } : ip;
}

/**
 * A socket's view of a peer with IPv4-mapped IPv6 ("::ffff:127.0.0.1", any spelling) shown as the
 * IPv4 address ("127.0.0.1"); any other text is returned as given.
 */
export function unmapAddress(address: string): string {
  if (!address.includes(':')) return address;
  const ip = parseIp(address);
  return ip && isIPv4Mapped(ip) ? formatIPv4(ip.bytes, 12) : address;
}

/**
 * True when both texts are the same IP address, whatever the spelling: IPv6 case and zero
 * compression do not matter, and an IPv4-mapped address equals its IPv4 address. Texts that are
 * not IP addresses are equal only when equal ignoring case.
 */
export function sameIp(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  if (!x || !y) return !x && !y && a.toLowerCase() === b.toLowerCase();
  const u = unmapIPv4(x).bytes;
  const v = unmapIPv4(y).bytes;
  return u.length === v.length && u.every((byte, i) => byte === v[i]);
}

/** True for the wildcard address: 0.0.0.0 or :: in any spelling (see the rules above). */
export function isWildcard(address: string | ParsedIp): boolean {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  return ip !== undefined && ip.bytes.every((x) => x === 0);
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" or "[ipv6]:port" (port 0-65535); the host comes back without brackets. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s\[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1]!, port };
}

/** "host:port", with an IPv6 host in brackets ("[2001:db8::1]:3478", RFC 3986 §3.2.2). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The IP literal in "ip", "[ipv6]", "ip:port" or "[ipv6]:port" (as written, zone kept); undefined when there is none. */
export function ipOf(text: string): string | undefined {
  const t = text.trim();
  if (parseIp(t)) return t;
  let host: string | undefined;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    const rest = t.slice(close + 1);
    if (close > 1 && (rest === '' || /^:\d{1,5}$/.test(rest))) host = t.slice(1, close);
  } else {
    host = parseHostPort(t)?.host;
  }
  return host !== undefined && parseIp(host) ? host : undefined;
}

/** An address block: an address in it (as written: host bits are not cleared) and the prefix length. */
export interface Cidr {
  readonly ip: ParsedIp;
  readonly prefix: number;
}

/**
 * Parses "address" (a /32 or /128) or "address/prefix" (prefix in decimal, 0-32 or 0-128);
 * surrounding whitespace is ignored. Undefined when malformed.
 */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  const slash = t.indexOf('/');
  const ip = parseIp(slash < 0 ? t : t.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.bytes.length * 8;
  if (slash < 0) return { ip, prefix: max };
  const prefixText = t.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  return { ip, prefix };
}

/** The network address of `ip` under `prefix` (host bits cleared). */
export function networkOf(ip: ParsedIp, prefix: number): ParsedIp {
  const bytes = ip.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & (0xff << (8 - keep)) & 0xff;
  }
  return { family: ip.family, bytes };
}
