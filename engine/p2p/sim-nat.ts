/**
 * TEST-ONLY: a tiny pure model of the four classic NATs (and no NAT) and of the internet between
 * them, for the punch session's tests on a fake clock. Not used by the engine.
 *
 * RFC 4787 terms: full cone = endpoint-independent mapping and filtering; restricted cone = EI
 * mapping, address-dependent filtering; port-restricted cone = EI mapping, address-and-port-
 * dependent filtering; symmetric = address-and-port-dependent mapping (a new random public port per
 * destination) and filtering. EI NATs keep the local port when it is free, as Linux does. A mapping
 * idle (no outbound packet) for `mappingLifetimeMs` is gone.
 */
import type { Endpoint } from './punch-session.js';

export type SimNatKind = 'none' | 'full' | 'restricted' | 'port-restricted' | 'symmetric';
export const SIM_NAT_KINDS: readonly SimNatKind[] = ['none', 'full', 'restricted', 'port-restricted', 'symmetric'];

const key = (e: Endpoint): string => `${e.ip}|${e.port}`;

interface Mapping {
  readonly host: Endpoint;
  readonly publicPort: number;
  /** Symmetric: the one destination this mapping is for. */
  readonly destination?: string;
  /** Restricted: addresses sent to; (port-)restricted: "ip|port" sent to. */
  readonly sentTo: Set<string>;
  lastOutbound: number;
}

export class SimNat {
  private readonly mappings: Mapping[] = [];
  constructor(
    readonly kind: SimNatKind,
    /** The WAN address (for `none`: the host's own address). */
    readonly publicIp: string,
    private readonly random: () => number,
    readonly mappingLifetimeMs = 120_000,
  ) {}

  private alive(now: number): Mapping[] {
    for (let i = this.mappings.length - 1; i >= 0; i--) {
      if (now - this.mappings[i]!.lastOutbound > this.mappingLifetimeMs) this.mappings.splice(i, 1);
    }
    return this.mappings;
  }

  /** A host packet to `to` leaves from this public endpoint. */
  outbound(host: Endpoint, to: Endpoint, now: number): Endpoint {
    if (this.kind === 'none') return host;
    const live = this.alive(now);
    const dest = key(to);
    let m = live.find((x) => key(x.host) === key(host) && (this.kind !== 'symmetric' || x.destination === dest));
    if (!m) {
      const taken = new Set(live.map((x) => x.publicPort));
      let port = host.port;
      if (this.kind === 'symmetric' || taken.has(port)) {
        do port = 1024 + Math.floor(this.random() * 64000);
        while (taken.has(port));
      }
      m = { host, publicPort: port, sentTo: new Set(), lastOutbound: now, ...(this.kind === 'symmetric' ? { destination: dest } : {}) };
      live.push(m);
    }
    m.lastOutbound = now;
    m.sentTo.add(this.kind === 'restricted' ? to.ip : dest);
    return { ip: this.publicIp, port: m.publicPort };
  }

  /** The host a packet from `from` to our public port reaches, or undefined if the NAT drops it. */
  inbound(publicPort: number, from: Endpoint, now: number, hostIfNone: Endpoint): Endpoint | undefined {
    if (this.kind === 'none') return hostIfNone.port === publicPort ? hostIfNone : undefined;
    const m = this.alive(now).find((x) => x.publicPort === publicPort);
    if (!m) return undefined;
    switch (this.kind) {
      case 'full':
        return m.host;
      case 'restricted':
        return m.sentTo.has(from.ip) ? m.host : undefined;
      default:
        return m.sentTo.has(key(from)) ? m.host : undefined;
    }
  }
}

export interface SimHost {
  readonly name: string;
  readonly local: Endpoint;
  readonly nat: SimNat;
  receive(from: Endpoint, data: Uint8Array, now: number): void;
}

interface InFlight {
  readonly at: number;
  readonly order: number;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly data: Uint8Array;
}

/**
 * The internet: hosts behind their NATs plus plain public endpoints (a STUN server, an attacker).
 * Packets take `latencyMs` one way; `drop` decides per packet (loss, a firewall rule).
 */
export class SimInternet {
  now = 0;
  private readonly hosts: SimHost[] = [];
  private readonly publicEndpoints = new Map<string, (from: Endpoint, data: Uint8Array, now: number) => void>();
  private queue: InFlight[] = [];
  private order = 0;
  /** Every packet as it crosses the internet (public source and destination): what an on-path observer sees. */
  readonly wire: { at: number; from: Endpoint; to: Endpoint; data: Uint8Array }[] = [];

  constructor(
    readonly latencyMs = 5,
    readonly drop: (from: Endpoint, to: Endpoint) => boolean = () => false,
  ) {}

  addHost(host: SimHost): void {
    this.hosts.push(host);
  }

  addPublic(at: Endpoint, receive: (from: Endpoint, data: Uint8Array, now: number) => void): void {
    this.publicEndpoints.set(key(at), receive);
  }

  /** A host behind its NAT sends. */
  sendFromHost(host: SimHost, to: Endpoint, data: Uint8Array): void {
    const from = host.nat.outbound(host.local, to, this.now);
    this.enqueue(from, to, data);
  }

  /** A public endpoint sends (as itself, or spoofing nothing: the source is its address). */
  sendFromPublic(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    this.enqueue(from, to, data);
  }

  private enqueue(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    this.wire.push({ at: this.now, from, to, data });
    if (this.drop(from, to)) return;
    this.queue.push({ at: this.now + this.latencyMs, order: this.order++, from, to, data });
  }

  nextDelivery(): number | undefined {
    return this.queue.length === 0 ? undefined : Math.min(...this.queue.map((p) => p.at));
  }

  /** Delivers everything due at `now` (set `now` first). */
  deliverDue(): void {
    const due = this.queue.filter((p) => p.at <= this.now).sort((a, b) => a.at - b.at || a.order - b.order);
    this.queue = this.queue.filter((p) => p.at > this.now);
    for (const p of due) {
      const pub = this.publicEndpoints.get(key(p.to));
      if (pub) {
        pub(p.from, p.data, this.now);
        continue;
      }
      for (const h of this.hosts) {
        if (h.nat.publicIp !== p.to.ip) continue;
        const reached = h.nat.inbound(p.to.port, p.from, this.now, h.local);
        if (reached && key(reached) === key(h.local)) h.receive(p.from, p.data, this.now);
      }
    }
  }
}
