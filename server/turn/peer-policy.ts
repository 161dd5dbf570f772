/**
 * Which peers a TURN allocation may reach (RFC 8656 §21 "Security Considerations": an open relay
 * must not become a way into the server's own network). Deny by default:
 *
 * - loopback, "this network", unspecified (0.0.0.0/8, ::), RFC 1918, CGNAT 100.64/10, link-local
 *   (169.254/16, fe80::/10), multicast, IPv4 reserved/broadcast (240/4), IETF protocol assignments
 *   (192.0.0.0/24), benchmarking (198.18/15), ULA fc00::/7, site-local fec0::/10, discard-only
 *   100::/64, IPv4-mapped and IPv4-compatible IPv6, local-use NAT64 64:ff9b:1::/48;
 * - NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses whose embedded IPv4 address is refused;
 * - the server's own addresses (relay IPs, external IP, listen addresses, every local interface);
 * - port 0.
 *
 * `allowPeers` lifts the default refusals (not `denyPeers`); `denyPeers` refuses more. Callers
 * answer 403 for CreatePermission/ChannelBind/Connect (RFC 8656 §9.1, §11.2; RFC 6062 §5.2) and
 * drop Send indications silently (RFC 8656 §10.2).
 *
 * Built on node:net BlockList, with IPv4 and IPv6 rules kept apart (see io/access-list.ts).
 */
import { BlockList } from 'node:net';
import { networkInterfaces } from 'node:os';
import { formatIp, hostOf, parseIp, type ParsedIp } from './ip.js';

/** Not globally reachable, or not a unicast destination (IANA special-purpose registries). */
const DEFAULT_DENY_V4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'shared address space / CGNAT (RFC 6598)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved / broadcast'],
];

const DEFAULT_DENY_V6: ReadonlyArray<readonly [string, number, string]> = [
  ['::', 96, 'unspecified / loopback / IPv4-compatible'],
  ['::ffff:0:0', 96, 'IPv4-mapped'],
  ['64:ff9b:1::', 48, 'local-use NAT64'],
  ['100::', 64, 'discard-only'],
  ['fc00::', 7, 'unique local (ULA)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

class Rules {
  readonly v4 = new BlockList();
  readonly v6 = new BlockList();
  size = 0;

  add(entry: string): void {
    const text = entry.trim();
    const slash = text.indexOf('/');
    const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
    if (!ip) throw new Error(`bad address or CIDR "${entry}"`);
    const max = ip.family === 'IPv4' ? 32 : 128;
    const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d{1,3}$/.test(text.slice(slash + 1)))) {
      throw new Error(`bad address or CIDR "${entry}"`);
    }
    this.addParsed(ip, prefix);
  }

  addParsed(ip: ParsedIp, prefix: number): void {
    const family = ip.family === 'IPv4' ? 'ipv4' : 'ipv6';
    (ip.family === 'IPv4' ? this.v4 : this.v6).addSubnet(formatIp(ip), prefix, family);
    this.size++;
  }

  has(ip: ParsedIp): boolean {
    if (this.size === 0) return false;
    return ip.family === 'IPv4' ? this.v4.check(formatIp(ip), 'ipv4') : this.v6.check(formatIp(ip), 'ipv6');
  }
}

export interface PeerPolicyOptions {
  /** CIDRs or addresses allowed even though the defaults refuse them (e.g. '127.0.0.0/8' in tests). */
  allowPeers?: readonly string[];
  /** Extra CIDRs or addresses to refuse (wins over allowPeers). */
  denyPeers?: readonly string[];
  /** The server's own addresses: IPs or "host:port" strings (refused unless allowed). */
  ownAddresses?: readonly string[];
  /** Also refuse every address of this machine's interfaces (default true). */
  includeInterfaces?: boolean;
}

/** Why a peer is refused, or undefined when it is allowed. */
export type PeerRefusal = string;

/** Decides whether a peer transport address may be reached through an allocation. */
export class PeerPolicy {
  private readonly allow = new Rules();
  private readonly deny = new Rules();
  private readonly own = new Rules();
  private readonly defaults = new Map<string, Rules>();

  /** Throws Error('bad address or CIDR …') for malformed allow/deny entries. */
  constructor(options: PeerPolicyOptions = {}) {
    for (const entry of options.allowPeers ?? []) this.allow.add(entry);
    for (const entry of options.denyPeers ?? []) this.deny.add(entry);
    for (const entry of options.ownAddresses ?? []) {
      const host = hostOf(entry);
      const ip = host === undefined ? undefined : parseIp(host);
      if (ip && !ip.bytes.every((b) => b === 0)) this.own.addParsed(ip, ip.family === 'IPv4' ? 32 : 128);
    }
    if (options.includeInterfaces ?? true) {
      for (const list of Object.values(networkInterfaces())) {
        for (const info of list ?? []) {
          const ip = parseIp(info.address);
          if (ip) this.own.addParsed(ip, ip.family === 'IPv4' ? 32 : 128);
        }
      }
    }
    for (const [net, prefix, label] of [...DEFAULT_DENY_V4, ...DEFAULT_DENY_V6]) {
      let rules = this.defaults.get(label);
      if (!rules) this.defaults.set(label, (rules = new Rules()));
      rules.addParsed(parseIp(net)!, prefix);
    }
  }

  /** True when the peer may be reached. `port` (when given) must be 1-65535. */
  allows(address: string, port?: number): boolean {
    return this.refusal(address, port) === undefined;
  }

  /** The reason the peer is refused (for logs), or undefined when it is allowed. */
  refusal(address: string, port?: number): PeerRefusal | undefined {
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) return 'bad port';
    const ip = parseIp(address);
    if (!ip) return 'not an IP address';
    return this.refuseIp(ip, true);
  }

  private refuseIp(ip: ParsedIp, followEmbedded: boolean): PeerRefusal | undefined {
    if (this.deny.has(ip)) return 'denied by denyPeers';
    if (this.allow.has(ip)) return undefined;
    if (this.own.has(ip)) return "the server's own address";
    for (const [label, rules] of this.defaults) if (rules.has(ip)) return label;
    if (followEmbedded && ip.family === 'IPv6') {
      const embedded = embeddedIPv4(ip);
      if (embedded) {
        const why = this.refuseIp(embedded, false);
        if (why !== undefined) return `embeds a refused IPv4 address (${why})`;
      }
    }
    return undefined;
  }
}

/** The IPv4 address inside a NAT64 well-known-prefix (64:ff9b::/96) or 6to4 (2002::/16) address. */
function embeddedIPv4(ip: ParsedIp): ParsedIp | undefined {
  const b = ip.bytes;
  const nat64 = b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.subarray(4, 12).every((x) => x === 0);
  if (nat64) return { family: 'IPv4', bytes: b.slice(12, 16) };
  if (b[0] === 0x20 && b[1] === 0x02) return { family: 'IPv4', bytes: b.slice(2, 6) };
  return undefined;
}

