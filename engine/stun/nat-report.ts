/**
 * The NAT report `burrow nat` prints: the shapes only. In their own file so that the classifier
 * (nat-classify.ts, which re-exports them) and the verdict (nat-verdict.ts) both take them from
 * here instead of from each other.
 */

export type NatBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
export type ClassicNatName = 'open internet' | 'full cone' | 'restricted cone' | 'port-restricted cone' | 'symmetric' | 'unknown';

export interface BindingLifetime {
  /** The mapping was still there after this long idle (ms); 0 if no probe succeeded. */
  atLeastMs: number;
  /** The first idle time after which the mapping was gone (ms), if any probe found it gone. */
  lessThanMs?: number;
}

/**
 * How the NAT picks the public port: `preserved` (every mapping kept the local port), `sequential`
 * (each new mapping's port a small step from the previous one: predictable), `random`, or `unknown`
 * (no answer, or only one mapping seen on a port other than the local one: nothing to compare).
 */
export type PortAllocation = 'preserved' | 'sequential' | 'random' | 'unknown';

export interface PortBehaviour {
  /** Test I's mapped port is the local port. */
  portPreservation: boolean | 'unknown';
  /** Mapped port of mapping test II minus test I's (0: the same port towards both destinations); null if not both answered. */
  portDelta: number | null;
  portAllocation: PortAllocation;
}

export interface NatReport extends PortBehaviour {
  mapping: NatBehaviour;
  filtering: NatBehaviour;
  hairpinning: boolean | 'unknown';
  /** "ip:port" of test I's mapped address, null if the server did not answer. */
  mappedAddress: string | null;
  /** "ip:port" of the socket the tests ran from. */
  localAddress: string;
  classicName: ClassicNatName;
  /** True when a verdict rests on a server with only an alternate port (or only an alternate IP). */
  partial: boolean;
  /** What this NAT means for peer-to-peer paths with each kind of peer, in plain words (nat-verdict.ts). */
  verdict: string;
  /** Only with the lifetime probes (`--lifetime`). */
  bindingLifetime?: BindingLifetime;
  notes: string[];
}
