import { describe, expect, it } from 'vitest';
import type { TransportAddress } from '../../shared/stun/message.js';
import {
  bindingLifetime,
  classicName,
  classifyNat,
  needsMappingTest3,
  planNatTests,
  portBehaviour,
  SEQUENTIAL_MAX_STEP,
  type BindingObservation,
  type NatBehaviour,
  type NatObservations,
  type ProbeOutcome,
} from './nat-classify.js';

const a = (address: string, port: number): TransportAddress => ({ family: 'IPv4', address, port });

const LOCAL = a('192.168.1.10', 5000);
const PRIMARY = a('198.51.100.1', 3478);
const ALT = a('198.51.100.2', 3479);

function obs(mapped: TransportAddress, source: TransportAddress = PRIMARY, other: TransportAddress | null = ALT): BindingObservation {
  const o: BindingObservation = { mapped, source, responseOrigin: source };
  if (other) o.otherAddress = other;
  return o;
}

type Beh = Exclude<NatBehaviour, 'unknown'>;

/**
 * Simulates what a NAT with the given behaviours shows the RFC 5780 tests: the mapped port changes
 * with the destination IP (address-dependent) or IP and port (address-and-port-dependent); filtering
 * drops answers from a changed IP (AD) or a changed IP or port (APD).
 */
function simulate(mapping: Beh, filtering: Beh, opts: { local?: TransportAddress } = {}): NatObservations {
  const pub = '203.0.113.7';
  const mappedFor = (dest: TransportAddress): TransportAddress => {
    if (opts.local) return opts.local;
    if (mapping === 'endpoint-independent') return a(pub, 40000);
    if (mapping === 'address-dependent') return a(pub, dest.address === PRIMARY.address ? 40000 : 40001);
    return a(pub, 40000 + (dest.address === PRIMARY.address ? 0 : 10) + (dest.port === PRIMARY.port ? 0 : 1));
  };
  const answer = (changeIp: boolean, changePort: boolean): ProbeOutcome => {
    const from = a(changeIp ? ALT.address : PRIMARY.address, changePort ? ALT.port : PRIMARY.port);
    const passes = filtering === 'endpoint-independent' || (filtering === 'address-dependent' && !changeIp) || (!changeIp && !changePort);
    return passes ? obs(mappedFor(PRIMARY), from) : 'no-response';
  };
  const test1 = obs(mappedFor(PRIMARY));
  const o: NatObservations = { localAddress: opts.local ?? LOCAL, server: PRIMARY, test1 };
  const plan = planNatTests(PRIMARY, test1);
  o.mapping2 = obs(mappedFor(plan.mapping2!), plan.mapping2!);
  if (needsMappingTest3(plan, test1, o.mapping2)) o.mapping3 = obs(mappedFor(plan.mapping3!), plan.mapping3!);
  o.filtering2 = answer(true, true);
  o.filtering3 = answer(false, true);
  o.hairpinning = true;
  return o;
}

describe('classifyNat: the RFC 5780 matrix', () => {
  const behaviours: Beh[] = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'];
  const expectedName: Record<Beh, string> = {
    'endpoint-independent': 'full cone',
    'address-dependent': 'restricted cone',
    'address-and-port-dependent': 'port-restricted cone',
  };
  for (const mapping of behaviours) {
    for (const filtering of behaviours) {
      it(`${mapping} mapping + ${filtering} filtering`, () => {
        const r = classifyNat(simulate(mapping, filtering));
        expect(r.mapping).toBe(mapping);
        expect(r.filtering).toBe(filtering);
        expect(r.classicName).toBe(mapping === 'endpoint-independent' ? expectedName[filtering] : 'symmetric');
        expect(r.partial).toBe(false);
        expect(r.mappedAddress).toBe('203.0.113.7:40000');
        expect(r.localAddress).toBe('192.168.1.10:5000');
        expect(r.hairpinning).toBe(true);
      });
    }
  }

  it('mapped == local is open internet', () => {
    const r = classifyNat(simulate('endpoint-independent', 'endpoint-independent', { local: LOCAL }));
    expect(r.classicName).toBe('open internet');
    expect(r.mapping).toBe('endpoint-independent');
    expect(r.notes.join(' ')).toMatch(/no NAT/);
  });

  it('open internet behind a filtering firewall says so in the notes', () => {
    const r = classifyNat(simulate('endpoint-independent', 'address-and-port-dependent', { local: LOCAL }));
    expect(r.classicName).toBe('open internet');
    expect(r.filtering).toBe('address-and-port-dependent');
    expect(r.notes.join(' ')).toMatch(/firewall/);
  });

  it('no answer to test I: everything unknown', () => {
    const r = classifyNat({ localAddress: LOCAL, server: PRIMARY, test1: 'no-response' });
    expect(r).toMatchObject({ mapping: 'unknown', filtering: 'unknown', hairpinning: 'unknown', mappedAddress: null, classicName: 'unknown' });
    expect(r.notes[0]).toMatch(/no answer/);
  });

  it('a server without OTHER-ADDRESS: mapping and filtering unknown', () => {
    const r = classifyNat({ localAddress: LOCAL, server: PRIMARY, test1: obs(a('203.0.113.7', 40000), PRIMARY, null), hairpinning: false });
    expect(r.mapping).toBe('unknown');
    expect(r.filtering).toBe('unknown');
    expect(r.classicName).toBe('unknown');
    expect(r.hairpinning).toBe(false);
    expect(r.notes.join(' ')).toMatch(/OTHER-ADDRESS/);
  });

  it('a server without OTHER-ADDRESS still recognises no NAT', () => {
    const r = classifyNat({ localAddress: LOCAL, server: PRIMARY, test1: obs(LOCAL, PRIMARY, null) });
    expect(r.classicName).toBe('open internet');
  });

  it('mapping test II unanswered: mapping unknown, classic name unknown', () => {
    const o = simulate('endpoint-independent', 'endpoint-independent');
    o.mapping2 = 'no-response';
    const r = classifyNat(o);
    expect(r.mapping).toBe('unknown');
    expect(r.classicName).toBe('unknown');
  });

  it('filtering answers from the primary address (CHANGE-REQUEST ignored) prove nothing', () => {
    const o = simulate('endpoint-independent', 'endpoint-independent');
    o.filtering2 = obs(a('203.0.113.7', 40000), PRIMARY);
    const r = classifyNat(o);
    expect(r.filtering).toBe('unknown');
    expect(r.notes.join(' ')).toMatch(/ignores CHANGE-REQUEST/);
  });

  it('a filtering test that errored is unknown, not a verdict', () => {
    const o = simulate('endpoint-independent', 'endpoint-independent');
    o.filtering2 = { error: 'STUN error 420' };
    expect(classifyNat(o).filtering).toBe('unknown');
  });

  describe('a server with only a second port', () => {
    const PORT_ONLY = a(PRIMARY.address, 3479);
    const base = (mapped2: TransportAddress, f3: ProbeOutcome): NatObservations => ({
      localAddress: LOCAL,
      server: PRIMARY,
      test1: obs(a('203.0.113.7', 40000), PRIMARY, PORT_ONLY),
      mapping2: obs(mapped2, PORT_ONLY),
      filtering3: f3,
      hairpinning: false,
    });

    it('plans the tests against the alternate port', () => {
      const plan = planNatTests(PRIMARY, obs(a('203.0.113.7', 40000), PRIMARY, PORT_ONLY));
      expect(plan.alternate).toBe('port');
      expect(plan.mapping2).toEqual(PORT_ONLY);
      expect(plan.mapping3).toBeUndefined();
      expect(plan.filteringChangeIp).toBe(false);
      expect(plan.filteringChangePort).toBe(true);
    });

    it('same mapping: endpoint-independent, marked partial', () => {
      const r = classifyNat(base(a('203.0.113.7', 40000), 'no-response'));
      expect(r.mapping).toBe('endpoint-independent');
      expect(r.filtering).toBe('address-and-port-dependent');
      expect(r.classicName).toBe('port-restricted cone');
      expect(r.partial).toBe(true);
      expect(r.notes.join(' ')).toMatch(/alternate port only/);
    });

    it('another mapping: address-and-port-dependent (symmetric), not partial on that account', () => {
      const r = classifyNat(base(a('203.0.113.7', 40001), 'no-response'));
      expect(r.mapping).toBe('address-and-port-dependent');
      expect(r.classicName).toBe('symmetric');
    });

    it('an answer from the other port: address-dependent filtering at most, partial', () => {
      const r = classifyNat(base(a('203.0.113.7', 40000), obs(a('203.0.113.7', 40000), PORT_ONLY)));
      expect(r.filtering).toBe('address-dependent');
      expect(r.classicName).toBe('restricted cone');
      expect(r.partial).toBe(true);
    });
  });

  it('a server with only a second IP: address-dependent at most, partial', () => {
    const IP_ONLY = a('198.51.100.2', PRIMARY.port);
    const test1 = obs(a('203.0.113.7', 40000), PRIMARY, IP_ONLY);
    const plan = planNatTests(PRIMARY, test1);
    expect(plan.alternate).toBe('ip');
    const r = classifyNat({
      localAddress: LOCAL,
      server: PRIMARY,
      test1,
      mapping2: obs(a('203.0.113.7', 40001), IP_ONLY),
      filtering2: 'no-response',
    });
    expect(r.mapping).toBe('address-dependent');
    expect(r.filtering).toBe('address-dependent');
    expect(r.partial).toBe(true);
  });

  it('mapping test III is run only when test II differs from test I', () => {
    const t1 = obs(a('203.0.113.7', 40000));
    const plan = planNatTests(PRIMARY, t1);
    expect(plan.alternate).toBe('ip+port');
    expect(plan.mapping2).toEqual(a(ALT.address, PRIMARY.port));
    expect(plan.mapping3).toEqual(ALT);
    expect(needsMappingTest3(plan, t1, obs(a('203.0.113.7', 40000)))).toBe(false);
    expect(needsMappingTest3(plan, t1, obs(a('203.0.113.7', 40001)))).toBe(true);
    expect(needsMappingTest3(plan, t1, 'no-response')).toBe(false);
  });

  it('IPv4-mapped IPv6 text compares equal to the IPv4 address', () => {
    const local = { family: 'IPv6' as const, address: '::ffff:192.168.1.10', port: 5000 };
    const r = classifyNat({ localAddress: local, server: PRIMARY, test1: obs(LOCAL, PRIMARY, null) });
    expect(r.classicName).toBe('open internet');
  });
});

describe('classicName (SPEC §5)', () => {
  it('maps behaviours to names', () => {
    expect(classicName('endpoint-independent', 'endpoint-independent', false)).toBe('full cone');
    expect(classicName('endpoint-independent', 'address-dependent', false)).toBe('restricted cone');
    expect(classicName('endpoint-independent', 'address-and-port-dependent', false)).toBe('port-restricted cone');
    expect(classicName('endpoint-independent', 'unknown', false)).toBe('unknown');
    expect(classicName('address-dependent', 'endpoint-independent', false)).toBe('symmetric');
    expect(classicName('address-and-port-dependent', 'unknown', false)).toBe('symmetric');
    expect(classicName('unknown', 'endpoint-independent', false)).toBe('unknown');
    expect(classicName('unknown', 'unknown', true)).toBe('open internet');
  });
});

describe('bindingLifetime', () => {
  it('all alive: at least the longest probe', () => {
    expect(
      bindingLifetime([
        { afterMs: 5000, outcome: 'alive' },
        { afterMs: 60000, outcome: 'alive' },
        { afterMs: 20000, outcome: 'alive' },
      ]),
    ).toEqual({ atLeastMs: 60000 });
  });

  it('brackets the lifetime between the last alive and the first gone probe', () => {
    expect(
      bindingLifetime([
        { afterMs: 5000, outcome: 'alive' },
        { afterMs: 20000, outcome: 'alive' },
        { afterMs: 30000, outcome: 'gone' },
        { afterMs: 60000, outcome: 'gone' },
      ]),
    ).toEqual({ atLeastMs: 20000, lessThanMs: 30000 });
  });

  it('ignores unknown probes and notes disagreement', () => {
    const notes: string[] = [];
    expect(
      bindingLifetime(
        [
          { afterMs: 5000, outcome: 'unknown' },
          { afterMs: 10000, outcome: 'gone' },
          { afterMs: 20000, outcome: 'alive' },
        ],
        notes,
      ),
    ).toEqual({ atLeastMs: 0, lessThanMs: 10000 });
    expect(notes.join(' ')).toMatch(/disagree/);
  });

  it('undefined when no probe could tell', () => {
    const notes: string[] = [];
    expect(bindingLifetime([{ afterMs: 5000, outcome: 'unknown' }], notes)).toBeUndefined();
    expect(notes.join(' ')).toMatch(/RESPONSE-PORT/);
  });

  it('is part of the report when probed', () => {
    const o = simulate('endpoint-independent', 'endpoint-independent');
    o.lifetime = [
      { afterMs: 1000, outcome: 'alive' },
      { afterMs: 2000, outcome: 'gone' },
    ];
    expect(classifyNat(o).bindingLifetime).toEqual({ atLeastMs: 1000, lessThanMs: 2000 });
  });
});

describe('portBehaviour: port preservation and allocation across destinations', () => {
  const PUB = '203.0.113.7';
  /** What tests I, II (alternate IP) and III (alternate IP and port) saw, as mapped ports in that order. */
  function seen(ports: [number, number, number?], local: TransportAddress = LOCAL): NatObservations {
    const [p1, p2, p3] = ports;
    const o: NatObservations = { localAddress: local, server: PRIMARY, test1: obs(a(PUB, p1)), mapping2: obs(a(PUB, p2), a(ALT.address, PRIMARY.port)) };
    if (p3 !== undefined) o.mapping3 = obs(a(PUB, p3), ALT);
    return o;
  }

  it('keeps the local port for every destination: preserved (the Linux SNAT/masquerade default)', () => {
    expect(portBehaviour(seen([LOCAL.port, LOCAL.port]))).toEqual({ portPreservation: true, portDelta: 0, portAllocation: 'preserved' });
  });

  it('one mapping for every destination on another port: nothing to compare, unknown, with a note', () => {
    const notes: string[] = [];
    expect(portBehaviour(seen([40000, 40000]), notes)).toEqual({ portPreservation: false, portDelta: 0, portAllocation: 'unknown' });
    expect(notes.join()).toMatch(/one mapping for every destination/);
  });

  it('new mappings a small step apart (up or down): sequential, with the delta of test II', () => {
    expect(portBehaviour(seen([40000, 40001, 40002]))).toEqual({ portPreservation: false, portDelta: 1, portAllocation: 'sequential' });
    expect(portBehaviour(seen([40000, 39998, 39996]))).toMatchObject({ portDelta: -2, portAllocation: 'sequential' });
    // address-dependent mapping: test III reuses test II's mapping, one step only
    const notes: string[] = [];
    expect(portBehaviour(seen([40000, 40003, 40003]), notes)).toMatchObject({ portDelta: 3, portAllocation: 'sequential' });
    expect(notes.join()).toMatch(/one step only/);
  });

  it('ports far apart or changing direction: random (a fully-random masquerade)', () => {
    expect(portBehaviour(seen([40000, 51234, 12001]))).toEqual({ portPreservation: false, portDelta: 11234, portAllocation: 'random' });
    expect(portBehaviour(seen([40000, 40001, 39990]))).toMatchObject({ portAllocation: 'random' });
    expect(portBehaviour(seen([40000, 40000 + SEQUENTIAL_MAX_STEP + 1, 40000 + 2 * SEQUENTIAL_MAX_STEP + 2]))).toMatchObject({ portAllocation: 'random' });
    // the first mapping happened to keep the local port, the next ones did not
    expect(portBehaviour(seen([LOCAL.port, 23456, 61000]))).toEqual({ portPreservation: true, portDelta: 23456 - LOCAL.port, portAllocation: 'random' });
  });

  it('no answer to test I: unknown; no answer to test II: no delta', () => {
    expect(portBehaviour({ localAddress: LOCAL, server: PRIMARY, test1: 'no-response' })).toEqual({ portPreservation: 'unknown', portDelta: null, portAllocation: 'unknown' });
    expect(portBehaviour({ localAddress: LOCAL, server: PRIMARY, test1: obs(a(PUB, LOCAL.port)), mapping2: 'no-response' })).toEqual({
      portPreservation: true,
      portDelta: null,
      portAllocation: 'preserved',
    });
  });

  it('classifyNat carries the port behaviour and a verdict into the report', () => {
    const r = classifyNat(simulate('address-and-port-dependent', 'address-and-port-dependent'));
    // simulate() maps to 40000, then 40010 (other IP), then 40011 (other IP and port)
    expect(r).toMatchObject({ classicName: 'symmetric', portPreservation: false, portDelta: 10, portAllocation: 'sequential' });
    expect(r.verdict).toMatch(/^A symmetric NAT: .*relay/);
    const open = classifyNat(simulate('endpoint-independent', 'endpoint-independent', { local: a('203.0.113.9', 5000) }));
    expect(open).toMatchObject({ classicName: 'open internet', portPreservation: true, portDelta: 0, portAllocation: 'preserved' });
    expect(open.verdict).toMatch(/^No NAT: direct peer-to-peer paths work with every kind of peer/);
    expect(classifyNat({ localAddress: LOCAL, server: PRIMARY, test1: 'no-response' }).verdict).toMatch(/could not be classified/);
  });
});
