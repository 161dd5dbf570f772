/**
 * Per-tunnel allow/deny lists of source addresses, built on node:net BlockList.
 *
 * Entries are single addresses ("192.0.2.7", "2001:db8::1") or CIDR blocks ("10.0.0.0/8",
 * "2001:db8::/32"). IPv4-mapped IPv6 ("::ffff:127.0.0.1", "::ffff:7f00:1") — what a dual-stack
 * socket reports for IPv4 peers — is treated as the IPv4 address, both in entries and in checked
 * addresses. IPv4 and IPv6 rules are kept apart: an IPv6 rule such as "::/0" only ever matches IPv6
 * peers (Node's BlockList alone would let it match every IPv4 address through the mapped range).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

type Family = 'ipv4' | 'ipv6';

/** An address normalised for matching: mapped IPv6 folded to IPv4, zone id dropped. */
interface Normalised {
  readonly address: string;
  readonly family: Family;
}

/** One list (allow or deny): IPv4 and IPv6 rules kept in separate BlockLists. */
class RuleSet {
  readonly v4 = new BlockList();
  readonly v6 = new BlockList();
  size = 0;

  check(a: Normalised): boolean {
    return a.family === 'ipv4' ? this.v4.check(a.address, 'ipv4') : this.v6.check(a.address, 'ipv6');
  }
}

/** Decides from a tunnel's allow/deny lists whether a source address may connect. */
export class AccessList {
  private readonly allowRules = new RuleSet();
  private readonly denyRules = new RuleSet();

  /** Throws Error('bad address or CIDR "…"') for malformed entries. Empty/undefined allow means everyone is allowed unless denied. */
  constructor(allow?: readonly string[], deny?: readonly string[]) {
    for (const entry of allow ?? []) addEntry(this.allowRules, entry);
    for (const entry of deny ?? []) addEntry(this.denyRules, entry);
  }

  /**
   * Deny wins over allow. Accepts IPv4, IPv6, and IPv4-mapped IPv6 like "::ffff:127.0.0.1"
   * (treated as the IPv4 address). Anything that is not an IP address is refused.
   */
  allows(address: string): boolean {
    const a = normalise(address);
    if (!a) return false;
    if (this.denyRules.check(a)) return false;
    return this.allowRules.size === 0 || this.allowRules.check(a);
  }
}

function addEntry(lists: RuleSet, entry: string): void {
  const bad = () => new Error(`bad address or CIDR "${entry}"`);
  const text = typeof entry === 'string' ? entry.trim() : '';
  const slash = text.indexOf('/');
  const a = normalise(slash < 0 ? text : text.slice(0, slash));
  if (!a) throw bad();
  if (slash < 0) {
    (a.family === 'ipv4' ? lists.v4 : lists.v6).addAddress(a.address, a.family);
  } else {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) throw bad();
    let prefix = Number(prefixText);
    // A mapped network like "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8.
    const mapped = a.family === 'ipv4' && !isIPv4(stripZone(text.slice(0, slash)));
    if (mapped) {
      if (prefix < 96) throw bad(); // would straddle mapped and non-mapped space
      prefix -= 96;
    }
    if (prefix > (a.family === 'ipv4' ? 32 : 128)) throw bad();
    (a.family === 'ipv4' ? lists.v4 : lists.v6).addSubnet(a.address, prefix, a.family);
  }
  lists.size++;
}

function stripZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** Valid IP -> its matching form (mapped IPv6 as IPv4, no zone id); undefined otherwise. */
function normalise(raw: string): Normalised | undefined {
  if (typeof raw !== 'string') return undefined;
  const address = stripZone(raw.trim());
  if (isIPv4(address)) return { address, family: 'ipv4' };
  if (!isIPv6(address)) return undefined;
  const v4 = mappedIPv4(address);
  return v4 === undefined ? { address, family: 'ipv6' } : { address: v4, family: 'ipv4' };
}

/** For an IPv4-mapped IPv6 address (::ffff:a.b.c.d in any spelling) the IPv4 address, else undefined. */
function mappedIPv4(address: string): string | undefined {
  const words = ipv6Words(address);
  if (!words || words.slice(0, 5).some((w) => w !== 0) || words[5] !== 0xffff) return undefined;
  const hi = words[6]!;
  const lo = words[7]!;
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The eight 16-bit words of an address already validated by isIPv6 (no zone id). */
function ipv6Words(address: string): number[] | undefined {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 tail "a.b.c.d" -> two hex words.
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) {
    const words = parse(text);
    return words.length === 8 ? words : undefined;
  }
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  const zeros = 8 - head.length - rest.length;
  return zeros < 0 ? undefined : [...head, ...new Array<number>(zeros).fill(0), ...rest];
}
