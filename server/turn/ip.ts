/**
 * IP address helpers for the TURN core: one canonical spelling per address, so that a permission
 * installed from an XOR-PEER-ADDRESS (spelled by the codec) matches the source of a datagram
 * (spelled by the kernel), whatever zero compression or case either used. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 'IPv4' | 'IPv6';

/** A parsed address: 4 or 16 bytes. IPv4-mapped IPv6 stays IPv6 (callers decide what it means). */
export interface ParsedIp {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

function stripZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** Parses an IPv4 or IPv6 literal (zone id dropped); undefined if it is not one. */
export function parseIp(raw: string): ParsedIp | undefined {
  if (typeof raw !== 'string') return undefined;
  const address = stripZone(raw.trim());
  if (isIPv4(address)) return { family: 'IPv4', bytes: Uint8Array.from(address.split('.').map(Number)) };
  if (!isIPv6(address)) return undefined;
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  let words: number[];
  const gap = text.indexOf('::');
  if (gap < 0) {
    words = parse(text);
  } else {
    const head = parse(text.slice(0, gap));
    const rest = parse(text.slice(gap + 2));
    const zeros = 8 - head.length - rest.length;
    if (zeros < 0) return undefined;
    words = [...head, ...new Array<number>(zeros).fill(0), ...rest];
  }
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return { family: 'IPv6', bytes };
}

/** RFC 5952 text for parsed bytes (IPv6: lower case, longest zero run of >= 2 words compressed). */
export function formatIp(ip: ParsedIp): string {
  const b = ip.bytes;
  if (ip.family === 'IPv4') return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestLen < 2) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** The canonical spelling of an IP literal, or undefined if it is not one. */
export function canonicalIp(address: string): string | undefined {
  const parsed = parseIp(address);
  return parsed ? formatIp(parsed) : undefined;
}

/** The family of an IP literal, or undefined. */
export function ipFamily(address: string): IpFamily | undefined {
  return parseIp(address)?.family;
}

/** True for 0.0.0.0 and ::. */
export function isWildcard(address: string): boolean {
  const parsed = parseIp(address);
  return parsed !== undefined && parsed.bytes.every((x) => x === 0);
}

/** "ip:port" with IPv6 in brackets. */
export function formatTransportAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Extracts the IP from "ip", "ip:port" or "[ipv6]:port"; undefined when none is found. */
export function hostOf(text: string): string | undefined {
  const trimmed = text.trim();
  if (parseIp(trimmed)) return trimmed;
  const bracket = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(trimmed);
  if (bracket && parseIp(bracket[1]!)) return bracket[1]!;
  const v4 = /^([0-9.]+):\d{1,5}$/.exec(trimmed);
  if (v4 && parseIp(v4[1]!)) return v4[1]!;
  return undefined;
}
