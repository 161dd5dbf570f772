/**
 * A set of IPv4 and IPv6 address blocks ("10.0.0.0/8", "2001:db8::/32", single addresses), asked
 * whether it holds an address. Pure code: the access lists (io/access-list.ts) and the TURN peer
 * policy (server/turn/peer-policy.ts) both build on it.
 *
 * IPv4 and IPv6 rules are kept apart: "::/0" never matches an IPv4 address and "0.0.0.0/0" never an
 * IPv6 one. IPv4-mapped IPv6 (::ffff:a.b.c.d) is what a dual-stack socket reports for an IPv4 peer;
 * the set is told once, when built, what it means:
 * - `ipv4Mapped: 'as-ipv4'`: a mapped address is its IPv4 address, both in entries
 *   ("::ffff:10.0.0.0/104" is 10.0.0.0/8) and in the addresses checked (access lists);
 * - `ipv4Mapped: 'as-ipv6'` (the default): a mapped address is an IPv6 address like any other, so
 *   a rule "::ffff:0:0/96" can refuse every mapped peer (the TURN peer policy).
 */
import { isIPv4Mapped, networkOf, parseCidr, parseIp, unmapIPv4, type ParsedIp } from './address.js';

export interface CidrSetOptions {
  /** What an IPv4-mapped IPv6 address is, in entries and checks (see the file comment). Default 'as-ipv6'. */
  readonly ipv4Mapped?: 'as-ipv4' | 'as-ipv6';
}

interface Block {
  readonly network: Uint8Array;
  readonly prefix: number;
}

export class CidrSet {
  private readonly v4: Block[] = [];
  private readonly v6: Block[] = [];
  private readonly foldMapped: boolean;

  constructor(options: CidrSetOptions = {}) {
    this.foldMapped = options.ipv4Mapped === 'as-ipv4';
  }

  /** How many entries were added. */
  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /**
   * Adds "address" or "address/prefix". Throws Error('bad address or CIDR "…"') when the entry is
   * not one, or (mapped read as IPv4) when a mapped network straddles mapped and non-mapped space
   * (prefix below 96).
   */
  add(entry: string): void {
    const cidr = parseCidr(entry);
    if (!cidr) throw new Error(`bad address or CIDR "${entry}"`);
    if (this.foldMapped && isIPv4Mapped(cidr.ip) && cidr.prefix < 96) throw new Error(`bad address or CIDR "${entry}"`);
    this.addNetwork(cidr.ip, cidr.prefix);
  }

  /** Adds the block of `ip` under `prefix` (default: the single address). Host bits are ignored. */
  addNetwork(ip: ParsedIp, prefix = ip.bytes.length * 8): void {
    const max = ip.bytes.length * 8;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`bad prefix /${prefix} for ${ip.family}`);
    if (this.foldMapped && isIPv4Mapped(ip)) {
      if (prefix < 96) throw new Error(`bad prefix /${prefix} for an IPv4-mapped network (it would straddle mapped and non-mapped space)`);
      ip = unmapIPv4(ip);
      prefix -= 96;
    }
    (ip.family === 'IPv4' ? this.v4 : this.v6).push({ network: networkOf(ip, prefix).bytes, prefix });
  }

  /** True when an entry holds the address (text that is not an IP address is never held). */
  has(address: ParsedIp | string): boolean {
    let ip = typeof address === 'string' ? parseIp(address) : address;
    if (!ip) return false;
    if (this.foldMapped) ip = unmapIPv4(ip);
    const blocks = ip.family === 'IPv4' ? this.v4 : this.v6;
    for (const block of blocks) if (inBlock(ip.bytes, block)) return true;
    return false;
  }
}

function inBlock(bytes: Uint8Array, block: Block): boolean {
  const full = block.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== block.network[i]) return false;
  const rest = block.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full]! & mask) === block.network[full];
}
