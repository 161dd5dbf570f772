/**
 * Per-tunnel allow/deny lists of source addresses, on shared/net/cidr-set.ts.
 *
 * Entries are single addresses ("192.0.2.7", "2001:db8::1") or CIDR blocks ("10.0.0.0/8",
 * "2001:db8::/32"). IPv4-mapped IPv6 ("::ffff:127.0.0.1", "::ffff:7f00:1") — what a dual-stack
 * socket reports for IPv4 peers — is treated as the IPv4 address, both in entries and in checked
 * addresses. IPv4 and IPv6 rules are kept apart: an IPv6 rule such as "::/0" only ever matches IPv6
 * peers.
 */
import { parseIp } from '../shared/net/address.js';
import { CidrSet } from '../shared/net/cidr-set.js';

/** Decides from a tunnel's allow/deny lists whether a source address may connect. */
export class AccessList {
  private readonly allowRules = new CidrSet({ ipv4Mapped: 'as-ipv4' });
  private readonly denyRules = new CidrSet({ ipv4Mapped: 'as-ipv4' });

  /** Throws Error('bad address or CIDR "…"') for malformed entries. Empty/undefined allow means everyone is allowed unless denied. */
  constructor(allow?: readonly string[], deny?: readonly string[]) {
    for (const entry of allow ?? []) this.allowRules.add(entry);
    for (const entry of deny ?? []) this.denyRules.add(entry);
  }

  /**
   * Deny wins over allow. Accepts IPv4, IPv6, and IPv4-mapped IPv6 like "::ffff:127.0.0.1"
   * (treated as the IPv4 address). Anything that is not an IP address is refused.
   */
  allows(address: string): boolean {
    const ip = parseIp(address);
    if (!ip) return false;
    if (this.denyRules.has(ip)) return false;
    return this.allowRules.size === 0 || this.allowRules.has(ip);
  }
}
