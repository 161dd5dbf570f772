/**
 * RFC 5780 NAT behaviour discovery: the decisions, as pure functions of what was observed. The
 * adapter (nat-discovery.ts) runs the probes this file plans and hands the results back.
 *
 * Mapping (RFC 5780 §4.3): test I to the primary address gives X1; test II to the alternate IP
 * (primary port) gives X2: X1 == X2 means endpoint-independent mapping. Otherwise test III to the
 * alternate IP and alternate port gives X3: X2 == X3 means address-dependent, else
 * address-and-port-dependent.
 *
 * Filtering (§4.4): a request with CHANGE-REQUEST(ip, port) answered means endpoint-independent
 * filtering; else a request with CHANGE-REQUEST(port) answered means address-dependent; else
 * address-and-port-dependent.
 *
 * Classic names (SPEC §5): mapped == local is "open internet"; EI mapping with EI / AD / APD
 * filtering is full / restricted / port-restricted cone; any other mapping is symmetric.
 *
 * Port allocation (not in RFC 5780; what hole punching with a symmetric peer needs to know): whether
 * the NAT keeps the local port, and how the ports of the new mappings the mapping tests caused
 * (one per destination on an address[-and-port]-dependent NAT) follow each other.
 */
import type { TransportAddress } from '../../shared/stun/message.js';
import { coneByFiltering, p2pVerdict } from './nat-verdict.js';
import type { BindingLifetime, ClassicNatName, NatBehaviour, NatReport, PortBehaviour } from './nat-report.js';
import { formatHostPort, sameIp } from '../../shared/net/address.js';

export type { BindingLifetime, ClassicNatName, NatBehaviour, NatReport, PortAllocation, PortBehaviour } from './nat-report.js';

/** Consecutive mappings whose ports differ by at most this much (all in one direction) count as sequential. */
export const SEQUENTIAL_MAX_STEP = 32;

/** What one Binding transaction saw. */
export interface BindingObservation {
  mapped: TransportAddress;
  /** The UDP source address of the response. */
  source: TransportAddress;
  responseOrigin?: TransportAddress;
  otherAddress?: TransportAddress;
}

/** A probe's outcome: an answer, no answer within the schedule, or an error response / failure. */
export type ProbeOutcome = BindingObservation | 'no-response' | { error: string };

export interface LifetimeProbe {
  /** Idle time before the probe (ms). */
  afterMs: number;
  /** The response reached the original socket (alive), did not (gone), or the probe could not tell. */
  outcome: 'alive' | 'gone' | 'unknown';
}

export interface NatObservations {
  localAddress: TransportAddress;
  /** The primary server address the tests were sent to (resolved). */
  server: TransportAddress;
  test1: ProbeOutcome;
  /** Mapping test II (to the alternate IP, or alternate port when that is all there is). */
  mapping2?: ProbeOutcome;
  /** Mapping test III (alternate IP and port), run only when test II's mapping differed. */
  mapping3?: ProbeOutcome;
  /** Filtering test II: CHANGE-REQUEST ip+port. */
  filtering2?: ProbeOutcome;
  /** Filtering test III: CHANGE-REQUEST port. */
  filtering3?: ProbeOutcome;
  /** Hairpinning: a packet to our own mapped address from a second socket arrived. */
  hairpinning?: boolean;
  lifetime?: LifetimeProbe[];
}

export type AlternateKind = 'ip+port' | 'ip' | 'port' | 'none';

export interface NatTestPlan {
  alternate: AlternateKind;
  /** Destination of mapping test II. */
  mapping2?: TransportAddress;
  /** Destination of mapping test III (if test II disagrees with test I). */
  mapping3?: TransportAddress;
  /** Filtering test II (CHANGE-REQUEST ip, and port too when the alternate has both) is meaningful. */
  filteringChangeIp: boolean;
  /** Filtering test III (CHANGE-REQUEST port) is meaningful. */
  filteringChangePort: boolean;
}

export function isObservation(o: ProbeOutcome | undefined): o is BindingObservation {
  return typeof o === 'object' && o !== null && 'mapped' in o;
}

export function sameAddress(a: { address: string; port: number } | undefined, b: { address: string; port: number } | undefined): boolean {
  return !!a && !!b && sameIp(a.address, b.address) && a.port === b.port;
}

function formatAddress(a: { address: string; port: number }): string {
  return formatHostPort(a.address, a.port);
}

/** Which tests the server's OTHER-ADDRESS (from test I) makes possible, and where they go. */
export function planNatTests(server: TransportAddress, test1: ProbeOutcome): NatTestPlan {
  const none: NatTestPlan = { alternate: 'none', filteringChangeIp: false, filteringChangePort: false };
  if (!isObservation(test1) || !test1.otherAddress) return none;
  const other = test1.otherAddress;
  const ipDiffers = !sameIp(other.address, server.address);
  const portDiffers = other.port !== server.port;
  if (ipDiffers && portDiffers) {
    return {
      alternate: 'ip+port',
      mapping2: { family: other.family, address: other.address, port: server.port },
      mapping3: other,
      filteringChangeIp: true,
      filteringChangePort: true,
    };
  }
  if (ipDiffers) {
    return { alternate: 'ip', mapping2: { family: other.family, address: other.address, port: server.port }, filteringChangeIp: true, filteringChangePort: false };
  }
  if (portDiffers) {
    return { alternate: 'port', mapping2: { family: server.family, address: server.address, port: other.port }, filteringChangeIp: false, filteringChangePort: true };
  }
  return none;
}

/** RFC 5780 §4.3: test III is needed only when tests I and II saw different mappings. */
export function needsMappingTest3(plan: NatTestPlan, test1: ProbeOutcome, mapping2: ProbeOutcome | undefined): boolean {
  return plan.alternate === 'ip+port' && isObservation(test1) && isObservation(mapping2) && !sameAddress(test1.mapped, mapping2.mapped);
}

function describe(o: ProbeOutcome | undefined): string {
  if (o === undefined) return 'not run';
  if (o === 'no-response') return 'no response';
  if (isObservation(o)) return `mapped ${formatAddress(o.mapped)}`;
  return `error: ${o.error}`;
}

function mappingBehaviour(obs: NatObservations, plan: NatTestPlan, notes: string[]): { mapping: NatBehaviour; partial: boolean } {
  const t1 = obs.test1;
  if (!isObservation(t1)) return { mapping: 'unknown', partial: false };
  if (plan.alternate === 'none') {
    notes.push('the server sent no usable OTHER-ADDRESS (no RFC 5780 support): mapping and filtering behaviour cannot be tested');
    return { mapping: 'unknown', partial: false };
  }
  const t2 = obs.mapping2;
  if (!isObservation(t2)) {
    notes.push(`mapping test II (to ${plan.mapping2 ? formatAddress(plan.mapping2) : '?'}): ${describe(t2)}`);
    return { mapping: 'unknown', partial: false };
  }
  const same12 = sameAddress(t1.mapped, t2.mapped);
  if (plan.alternate === 'port') {
    // Only the port changed: a different mapping proves port dependence; the same mapping cannot
    // tell endpoint-independent from address-dependent.
    if (!same12) return { mapping: 'address-and-port-dependent', partial: false };
    notes.push('mapping inferred from the alternate port only (the server has one IP): address-dependent mapping would look endpoint-independent');
    return { mapping: 'endpoint-independent', partial: true };
  }
  if (same12) return { mapping: 'endpoint-independent', partial: false };
  if (plan.alternate === 'ip') {
    notes.push('the server has an alternate IP but no alternate port: address-dependent and address-and-port-dependent mapping cannot be told apart');
    return { mapping: 'address-dependent', partial: true };
  }
  const t3 = obs.mapping3;
  if (!isObservation(t3)) {
    notes.push(`mapping test III (to ${plan.mapping3 ? formatAddress(plan.mapping3) : '?'}): ${describe(t3)}`);
    return { mapping: 'unknown', partial: false };
  }
  return { mapping: sameAddress(t2.mapped, t3.mapped) ? 'address-dependent' : 'address-and-port-dependent', partial: false };
}

/**
 * A filtering answer counts only if it really came from where the CHANGE-REQUEST asked: a server
 * that ignores CHANGE-REQUEST answers from the primary address, which proves nothing.
 */
function changedAsAsked(obs: NatObservations, o: BindingObservation, expectIp: boolean, expectPort: boolean): boolean {
  const from = o.source;
  const ipChanged = !sameIp(from.address, obs.server.address);
  const portChanged = from.port !== obs.server.port;
  return ipChanged === expectIp && portChanged === expectPort;
}

function filteringBehaviour(obs: NatObservations, plan: NatTestPlan, notes: string[]): { filtering: NatBehaviour; partial: boolean } {
  if (!isObservation(obs.test1) || plan.alternate === 'none') return { filtering: 'unknown', partial: false };
  const f2 = obs.filtering2;
  const f3 = obs.filtering3;
  const bogus = (name: string, o: BindingObservation): void => {
    notes.push(`filtering test ${name}: the answer came from ${formatAddress(o.source)}, not from the changed address; the server ignores CHANGE-REQUEST`);
  };
  if (plan.filteringChangeIp) {
    if (isObservation(f2)) {
      if (!changedAsAsked(obs, f2, true, plan.alternate === 'ip+port')) {
        bogus('II', f2);
        return { filtering: 'unknown', partial: false };
      }
      return { filtering: 'endpoint-independent', partial: false };
    }
    if (f2 === undefined || (f2 !== 'no-response' && !isObservation(f2))) {
      notes.push(`filtering test II (CHANGE-REQUEST ip+port): ${describe(f2)}`);
      return { filtering: 'unknown', partial: false };
    }
  }
  if (!plan.filteringChangePort) {
    // alternate IP only: no answer to change-ip means the filter looks at the address at least
    notes.push('the server has no alternate port: address-dependent and address-and-port-dependent filtering cannot be told apart');
    return { filtering: 'address-dependent', partial: true };
  }
  if (isObservation(f3)) {
    if (!changedAsAsked(obs, f3, false, true)) {
      bogus('III', f3);
      return { filtering: 'unknown', partial: false };
    }
    if (!plan.filteringChangeIp) {
      notes.push('filtering inferred from the alternate port only (the server has one IP): endpoint-independent filtering would look address-dependent');
      return { filtering: 'address-dependent', partial: true };
    }
    return { filtering: 'address-dependent', partial: false };
  }
  if (f3 === 'no-response') return { filtering: 'address-and-port-dependent', partial: false };
  notes.push(`filtering test III (CHANGE-REQUEST port): ${describe(f3)}`);
  return { filtering: 'unknown', partial: false };
}

/**
 * Port preservation, the port delta between destinations and the allocation it suggests, from the
 * mappings tests I, II and III saw (in the order the NAT made them).
 */
export function portBehaviour(obs: NatObservations, notes: string[] = []): PortBehaviour {
  const t1 = obs.test1;
  if (!isObservation(t1)) return { portPreservation: 'unknown', portDelta: null, portAllocation: 'unknown' };
  const portPreservation = t1.mapped.port === obs.localAddress.port;
  const t2 = obs.mapping2;
  const portDelta = isObservation(t2) ? t2.mapped.port - t1.mapped.port : null;
  // the distinct mappings, in the order they were made (test II reusing test I's mapping adds none)
  const mappings: TransportAddress[] = [];
  for (const o of [t1, t2, obs.mapping3]) {
    if (!isObservation(o)) continue;
    if (!mappings.some((m) => sameAddress(m, o.mapped))) mappings.push(o.mapped);
  }
  if (mappings.every((m) => m.port === obs.localAddress.port)) return { portPreservation, portDelta, portAllocation: 'preserved' };
  if (mappings.length < 2) {
    notes.push('port allocation: one mapping for every destination, on a port other than the local one; how new mappings get their ports cannot be seen');
    return { portPreservation, portDelta, portAllocation: 'unknown' };
  }
  const steps = mappings.slice(1).map((m, i) => m.port - mappings[i]!.port);
  const sequential = steps.every((d) => d !== 0 && Math.abs(d) <= SEQUENTIAL_MAX_STEP && Math.sign(d) === Math.sign(steps[0]!));
  if (steps.some((d) => d === 0)) {
    notes.push('port allocation: new mappings kept the port but changed the address');
    return { portPreservation, portDelta, portAllocation: 'unknown' };
  }
  if (sequential && steps.length === 1) notes.push('port allocation: sequential judged from one step only');
  return { portPreservation, portDelta, portAllocation: sequential ? 'sequential' : 'random' };
}

/** Classic name from the RFC 5780 behaviours (SPEC §5). */
export function classicName(mapping: NatBehaviour, filtering: NatBehaviour, noNat: boolean): ClassicNatName {
  if (noNat) return 'open internet';
  if (mapping === 'unknown') return 'unknown';
  if (mapping !== 'endpoint-independent') return 'symmetric';
  return coneByFiltering(filtering);
}

/**
 * The binding lifetime from parallel probes, each on its own socket idle for `afterMs`: at least
 * the longest alive probe shorter than the first gone one; less than the first gone one.
 */
export function bindingLifetime(probes: LifetimeProbe[], notes: string[] = []): BindingLifetime | undefined {
  const known = probes.filter((p) => p.outcome !== 'unknown').sort((a, b) => a.afterMs - b.afterMs);
  if (known.length === 0) {
    if (probes.length > 0) notes.push('binding lifetime: no probe could tell (does the server support RESPONSE-PORT?)');
    return undefined;
  }
  const firstGone = known.find((p) => p.outcome === 'gone');
  const aliveBefore = known.filter((p) => p.outcome === 'alive' && (!firstGone || p.afterMs < firstGone.afterMs));
  const atLeastMs = aliveBefore.length > 0 ? aliveBefore[aliveBefore.length - 1]!.afterMs : 0;
  if (firstGone && known.some((p) => p.outcome === 'alive' && p.afterMs > firstGone.afterMs)) {
    notes.push('binding lifetime probes disagree (a longer idle time kept its mapping): packet loss or an irregular NAT');
  }
  return firstGone ? { atLeastMs, lessThanMs: firstGone.afterMs } : { atLeastMs };
}

/** The whole report from what was observed. */
export function classifyNat(obs: NatObservations): NatReport {
  const notes: string[] = [];
  const plan = planNatTests(obs.server, obs.test1);
  const t1 = obs.test1;
  const localAddress = formatAddress(obs.localAddress);
  if (!isObservation(t1)) {
    notes.push(`no answer from the STUN server ${formatAddress(obs.server)} (${describe(t1)})`);
    const report: NatReport = {
      mapping: 'unknown',
      filtering: 'unknown',
      hairpinning: 'unknown',
      mappedAddress: null,
      localAddress,
      classicName: 'unknown',
      partial: false,
      portPreservation: 'unknown',
      portDelta: null,
      portAllocation: 'unknown',
      verdict: '',
      notes,
    };
    report.verdict = p2pVerdict(report);
    return report;
  }
  const noNat = sameAddress(t1.mapped, obs.localAddress);
  const { mapping, partial: pm } = mappingBehaviour(obs, plan, notes);
  const { filtering, partial: pf } = filteringBehaviour(obs, plan, notes);
  if (noNat) {
    notes.push('the mapped address is the local address: no NAT on the path');
    if (filtering !== 'endpoint-independent' && filtering !== 'unknown') notes.push(`but a firewall filters inbound traffic (${filtering} filtering)`);
  }
  const hairpinning: boolean | 'unknown' = obs.hairpinning ?? 'unknown';
  const report: NatReport = {
    mapping,
    filtering,
    hairpinning,
    mappedAddress: formatAddress(t1.mapped),
    localAddress,
    classicName: classicName(mapping, filtering, noNat),
    partial: pm || pf,
    ...portBehaviour(obs, notes),
    verdict: '',
    notes,
  };
  report.verdict = p2pVerdict(report);
  if (obs.lifetime) {
    const lifetime = bindingLifetime(obs.lifetime, notes);
    if (lifetime) report.bindingLifetime = lifetime;
  }
  return report;
}
