/**
 * Where relayed transport addresses come from: the relay IP bound per address family
 * (`turn.relayIps`, at most one per family) and the IP advertised in XOR-RELAYED-ADDRESS. Pure:
 * the machine's interface addresses come in through `interfaces` (the wiring passes a reader of
 * `os.networkInterfaces()`; tests pass a list).
 */
import type { TransportAddress } from '../../shared/stun/message.js';
import { ipFamily, isWildcard, type IpFamily } from '../../shared/net/address.js';

/** What the TURN core asks about relay addresses. */
export interface RelayAddressSource {
  /** The IP relay sockets of this family bind to (possibly a wildcard); undefined when there is none. */
  bindIp(family: IpFamily): string | undefined;
  /** The IP put in XOR-RELAYED-ADDRESS for a relay of this family, for a client that reached `local`. */
  advertisedIp(family: IpFamily, local: TransportAddress): string;
}

/** One address of a network interface (the fields of os.networkInterfaces() used here). */
export interface InterfaceAddress {
  readonly address: string;
  readonly internal: boolean;
}

export interface ConfiguredRelayAddressesOptions {
  relayIps: readonly string[];
  /** The public IP in front of a 1:1 NAT (`turn.externalIp`). */
  externalIp?: string;
  /** The machine's interface addresses, read when a wildcard relay IP needs one. */
  interfaces: () => readonly InterfaceAddress[];
  /** Told about a relay IP that is not used (a second one of a family). */
  onIgnored?: (ip: string, message: string) => void;
}

export class ConfiguredRelayAddresses implements RelayAddressSource {
  private readonly relayIps = new Map<IpFamily, string>();
  private readonly externalIp: string | undefined;
  private readonly interfaces: () => readonly InterfaceAddress[];

  /** Throws for a relay IP that is not an IP address. */
  constructor(options: ConfiguredRelayAddressesOptions) {
    this.externalIp = options.externalIp;
    this.interfaces = options.interfaces;
    for (const ip of options.relayIps) {
      const family = ipFamily(ip);
      if (!family) throw new Error(`turn.relayIps: "${ip}" is not an IP address`);
      if (this.relayIps.has(family)) {
        options.onIgnored?.(ip, `turn.relayIps: only one ${family} relay address is used; ignoring ${ip}`);
        continue;
      }
      this.relayIps.set(family, ip);
    }
  }

  bindIp(family: IpFamily): string | undefined {
    return this.relayIps.get(family);
  }

  /**
   * `externalIp` (1:1 NAT) when it is of this family; else the relay IP; for a wildcard relay IP,
   * the address the client reached (if concrete), else the first non-internal, non-link-local
   * interface address of the family, else loopback.
   */
  advertisedIp(family: IpFamily, local: TransportAddress): string {
    const external = this.externalIp;
    if (external !== undefined && ipFamily(external) === family) return external;
    const relayIp = this.relayIps.get(family);
    if (relayIp !== undefined && !isWildcard(relayIp)) return relayIp;
    if (local.family === family && !isWildcard(local.address)) return local.address;
    for (const info of this.interfaces()) {
      if (!info.internal && ipFamily(info.address) === family && !info.address.startsWith('fe80')) return info.address;
    }
    return family === 'IPv4' ? '127.0.0.1' : '::1';
  }
}
