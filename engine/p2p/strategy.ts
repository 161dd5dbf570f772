/**
 * Which way two peers try to connect, from both sides' NAT reports (issue 9), as a pure function.
 * The pair rule is nat-verdict.ts's p2pPath; this adds what each side does about it.
 *
 * - cone × cone (or no NAT): `simultaneous`: both probe every candidate of the other at the start
 *   time; each side's first probe opens its own filter for the other's.
 * - symmetric × full or restricted cone: the symmetric side (`symmetric-to-cone`) probes the cone's
 *   candidates from a port its NAT makes up for that destination; the cone side (`learn-peer-port`)
 *   probes the symmetric side's candidates (which opens its filter for the symmetric side's address)
 *   and learns the new port from the first valid probe that arrives (a peer-reflexive candidate).
 * - symmetric × port-restricted cone, symmetric × symmetric: `relay` at once: the port the symmetric
 *   NAT picks is unknown in advance and the other side's filter wants exactly it.
 * - a report that cannot be classified: `simultaneous`, with the relay when it fails.
 *
 * The punch session runs the same checks in every direct mode (probe all candidates, answer valid
 * probes, learn peer-reflexive addresses); the mode records why direct was tried and what to expect.
 */
import type { P2pNatReport } from '../../shared/protocol/p2p-messages.js';
import { classicName, type ClassicNatName } from '../stun/nat-classify.js';
import { p2pPath } from '../stun/nat-verdict.js';

export type DirectMode = 'simultaneous' | 'learn-peer-port' | 'symmetric-to-cone';

export type PunchStrategy =
  | { readonly path: 'direct'; readonly mode: DirectMode; readonly reason: string }
  | { readonly path: 'relay'; readonly reason: string };

/**
 * The classic kind of a reported NAT. Open internet and full cone punch alike (neither filters),
 * so the report does not need to say which it is.
 */
export function natKind(report: P2pNatReport): ClassicNatName {
  return classicName(report.mapping, report.filtering, false);
}

export function chooseStrategy(local: P2pNatReport, remote: P2pNatReport): PunchStrategy {
  const mine = natKind(local);
  const theirs = natKind(remote);
  const pair = `${mine} × ${theirs}`;
  const path = p2pPath(mine, theirs);
  if (path === 'unknown') return { path: 'direct', mode: 'simultaneous', reason: `${pair}: a NAT could not be classified; trying simultaneous probes` };
  if (path === 'relay') {
    return { path: 'relay', reason: `${pair}: the symmetric NAT's port for the peer cannot be known in advance and the peer's filter wants exactly it; relay at once` };
  }
  if (mine === 'symmetric') return { path: 'direct', mode: 'symmetric-to-cone', reason: `${pair}: the cone peer learns our new port from our first probe` };
  if (theirs === 'symmetric') return { path: 'direct', mode: 'learn-peer-port', reason: `${pair}: we learn the symmetric peer's new port from its first probe` };
  return { path: 'direct', mode: 'simultaneous', reason: `${pair}: simultaneous probes open both filters` };
}
