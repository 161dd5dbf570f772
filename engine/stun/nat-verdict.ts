/**
 * What a NAT report means for peer-to-peer paths, as pure functions: the path Burrow's strategy
 * (issue 9) gets with each kind of peer, and a verdict in plain words for `burrow nat`.
 *
 * Strategy by NAT pair: cone × cone (and no NAT): simultaneous probes open both filters; symmetric on
 * one side with a full-cone or restricted-cone peer (or no NAT): the cone side learns the symmetric
 * side's new port from its first probe; symmetric × port-restricted and symmetric × symmetric: the
 * port the symmetric NAT picks for the peer is unknown in advance and the peer's filter wants exactly
 * it, so the relay is used.
 */
import type { ClassicNatName, NatBehaviour, NatReport } from './nat-report.js';

/** The kinds a peer can be, by the classic name of its NAT (open internet: no NAT, no filter). */
export type PeerKind = Exclude<ClassicNatName, 'unknown'>;
export const PEER_KINDS: readonly PeerKind[] = ['open internet', 'full cone', 'restricted cone', 'port-restricted cone', 'symmetric'];

export type P2pPath = 'direct' | 'relay' | 'unknown';

/**
 * The kind that decides punching: a host without NAT behind a filtering firewall behaves like the
 * cone with that filtering.
 */
export function effectiveKind(r: Pick<NatReport, 'classicName' | 'filtering'>): PeerKind | 'unknown' {
  if (r.classicName !== 'open internet') return r.classicName;
  const cone = coneByFiltering(r.filtering);
  return cone === 'full cone' ? 'open internet' : cone; // no filter at all: still no NAT
}

/** The cone a NAT with endpoint-independent mapping is, named by its filtering behaviour. */
export function coneByFiltering(filtering: NatBehaviour): 'full cone' | 'restricted cone' | 'port-restricted cone' | 'unknown' {
  switch (filtering) {
    case 'endpoint-independent':
      return 'full cone';
    case 'address-dependent':
      return 'restricted cone';
    case 'address-and-port-dependent':
      return 'port-restricted cone';
    default:
      return 'unknown';
  }
}

/** The path two peers of these kinds get (symmetric in its arguments). */
export function p2pPath(a: PeerKind | 'unknown', b: PeerKind | 'unknown'): P2pPath {
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  const hard = (k: PeerKind): boolean => k === 'symmetric' || k === 'port-restricted cone';
  if ((a === 'symmetric' && hard(b)) || (b === 'symmetric' && hard(a))) return 'relay';
  return 'direct';
}

function list(kinds: PeerKind[]): string {
  const names = kinds.map((k) => (k === 'open internet' ? 'no-NAT' : k));
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** One or two sentences: who this NAT gets direct paths with, who needs the relay, and why. */
export function p2pVerdict(r: Pick<NatReport, 'classicName' | 'filtering' | 'portAllocation' | 'portDelta'>): string {
  const own = effectiveKind(r);
  if (own === 'unknown') {
    return 'The NAT could not be classified (see the notes): peer-to-peer paths will be tried and the relay used when they fail.';
  }
  const direct = PEER_KINDS.filter((k) => p2pPath(own, k) === 'direct');
  const relay = PEER_KINDS.filter((k) => p2pPath(own, k) === 'relay');
  const label = r.classicName === 'open internet' ? (own === 'open internet' ? 'No NAT' : `No NAT but a filtering firewall (like a ${own})`) : `A ${own} NAT`;
  let s = relay.length === 0 ? `${label}: direct peer-to-peer paths work with every kind of peer.` : `${label}: direct peer-to-peer paths work with ${list(direct)} peers; with ${list(relay)} peers traffic goes through the relay.`;
  if (own === 'symmetric') {
    s += ' The NAT gives every destination a new port, which full-cone and restricted-cone peers learn from its first probe but a port-restricted or symmetric peer cannot know in advance';
    if (r.portAllocation === 'random') s += ' (ports are random here, so they cannot be predicted either).';
    else if (r.portAllocation === 'sequential') s += ` (ports are allocated sequentially here, step ${r.portDelta ?? '?'}, so they could be predicted).`;
    else s += '.';
  } else if (own === 'port-restricted cone') {
    s += ' Its filter lets in only the exact address and port it sent to, which a symmetric peer changes for every destination.';
  }
  return s;
}
