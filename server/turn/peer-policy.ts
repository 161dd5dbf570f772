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
 * Except: the relayed transport address of a live allocation on this server is a valid peer, even
 * on a refused IP (issue 8 point 8: two relay-only WebRTC peers on one TURN server must reach each
 * other, the most common TURN case). Only that exact IP and port passes for data (Send,
 * ChannelBind, Connect, and a CreatePermission that names a port); a CreatePermission with port
 * 0 (its port "may be any arbitrary value", RFC 8656 §9.2) may name the IP of any live relayed
 * address: the permission is per IP, and what is then sent is checked per IP and port. The server's other ports on those IPs
 * (control, admin, STUN) stay refused. Which addresses are live comes from the allocation table
 * (`relays`), and this machine's interface addresses are passed in (`interfaceAddresses`).
 *
 * `allowPeers` lifts the default refusals (not `denyPeers`); `denyPeers` refuses more. Callers
 * answer 403 for CreatePermission/ChannelBind/Connect (RFC 8656 §9.1, §11.2; RFC 6062 §5.2) and
 * drop Send indications silently (RFC 8656 §10.2).
 *
 * Built on shared/net/cidr-set.ts, IPv4 and IPv6 rules kept apart, IPv4-mapped peers read as IPv6.
 */
import { formatIp, ipOf, isWildcard, parseIp, type ParsedIp } from '../../shared/net/address.js';
import { CidrSet } from '../../shared/net/cidr-set.js';

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

export interface PeerPolicyOptions {
  /** CIDRs or addresses allowed even though the defaults refuse them (e.g. '127.0.0.0/8' in tests). */
  allowPeers?: readonly string[];
  /** Extra CIDRs or addresses to refuse (wins over allowPeers). */
  denyPeers?: readonly string[];
  /** The server's own addresses: IPs or "host:port" strings (refused unless allowed). */
  ownAddresses?: readonly string[];
  /** Every address of this machine's interfaces (refused unless allowed); default none. */
  interfaceAddresses?: readonly string[];
  /** Which relayed transport addresses are live on this server (the allocation table). */
  relays?: RelayedAddressLookup;
}

/** Where live relayed addresses come from (AllocationTable implements it). */
export interface RelayedAddressLookup {
  /** With a port: exactly `ip`:`port` is a live relayed address; without: some live one has this IP. */
  isRelayed(ip: string, port?: number): boolean;
}

/** Why a peer is refused, or undefined when it is allowed. */
export type PeerRefusal = string;

/** Decides whether a peer transport address may be reached through an allocation. */
export class PeerPolicy {
  private readonly allow = new CidrSet();
  private readonly deny = new CidrSet();
  private readonly own = new CidrSet();
  private readonly defaults = new Map<string, CidrSet>();
  private readonly relays: RelayedAddressLookup | undefined;

  /** Throws Error('bad address or CIDR …') for malformed allow/deny entries. */
  constructor(options: PeerPolicyOptions = {}) {
    for (const entry of options.allowPeers ?? []) this.allow.add(entry);
    for (const entry of options.denyPeers ?? []) this.deny.add(entry);
    for (const entry of options.ownAddresses ?? []) {
      const host = ipOf(entry);
      const ip = host === undefined ? undefined : parseIp(host);
      if (ip && !isWildcard(ip)) this.own.addNetwork(ip);
    }
    for (const address of options.interfaceAddresses ?? []) {
      const ip = parseIp(address);
      if (ip) this.own.addNetwork(ip);
    }
    this.relays = options.relays;
    for (const [net, prefix, label] of [...DEFAULT_DENY_V4, ...DEFAULT_DENY_V6]) {
      let rules = this.defaults.get(label);
      if (!rules) this.defaults.set(label, (rules = new CidrSet()));
      rules.addNetwork(parseIp(net)!, prefix);
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
    if (this.deny.has(ip)) return 'denied by denyPeers';
    if (this.relays?.isRelayed(formatIp(ip), port)) return undefined;
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

