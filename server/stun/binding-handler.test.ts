import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrType, StunClass, StunMethod } from '../../shared/stun/constants.js';
import {
  decodeStun,
  encodeStun,
  getAttribute,
  type DecodedStunMessage,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from '../../shared/stun/message.js';
import {
  MAX_RESPONSE_GROWTH,
  MAX_SOFTWARE_BYTES,
  errorResponse,
  handleBinding,
  responseLength,
  type BindingClient,
  type BindingContext,
  type BindingOutcome,
} from './binding-handler.js';

const TID = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

function message(attributes: StunAttribute[], cls: StunClass = StunClass.Request, method: number = StunMethod.Binding, fingerprint = true): DecodedStunMessage {
  return decodeStun(encodeStun({ method, cls, transactionId: TID, attributes }, { fingerprint }));
}

const v4 = (address: string, port: number): TransportAddress => ({ family: 'IPv4', address, port });
const v6 = (address: string, port: number): TransportAddress => ({ family: 'IPv6', address, port });

const CLIENT: BindingClient = { remote: v4('203.0.113.5', 40000), local: v4('198.51.100.1', 3478), protocol: 'udp' };
const PLAIN: BindingContext = { software: 'burrow test', canChange: { ip: false, port: false } };
/** Two IPs, two ports: the request arrived on A1:P1. */
const FULL: BindingContext = { software: 'burrow test', otherAddress: v4('198.51.100.2', 3479), canChange: { ip: true, port: true } };
/** One IP, two ports. */
const ONE_IP: BindingContext = { software: 'burrow test', otherAddress: v4('198.51.100.1', 3479), canChange: { ip: false, port: true } };

/** The response as a client would see it (encoded with FINGERPRINT, as the listener does, and decoded). */
function wire(outcome: BindingOutcome): DecodedStunMessage {
  if (outcome.kind !== 'respond') throw new Error(`expected a response, got drop (${outcome.reason})`);
  return decodeStun(encodeStun(outcome.response, { fingerprint: true }));
}

function respond(outcome: BindingOutcome): Extract<BindingOutcome, { kind: 'respond' }> {
  if (outcome.kind !== 'respond') throw new Error(`expected a response, got drop (${outcome.reason})`);
  return outcome;
}

function errorCode(m: StunMessage): number | undefined {
  return getAttribute(m, 'ERROR-CODE')?.code;
}

describe('handleBinding: RFC 8489', () => {
  it('answers with XOR-MAPPED-ADDRESS and MAPPED-ADDRESS of the client (IPv4), SOFTWARE, same transaction', () => {
    const out = respond(handleBinding(message([]), CLIENT, PLAIN));
    expect(out.from).toBe('same');
    expect(out.toPort).toBeUndefined();
    expect(out.errorCode).toBeUndefined();
    const r = wire(out);
    expect(r.cls).toBe(StunClass.SuccessResponse);
    expect(r.method).toBe(StunMethod.Binding);
    expect([...r.transactionId]).toEqual([...TID]);
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')?.address).toEqual(CLIENT.remote);
    expect(getAttribute(r, 'MAPPED-ADDRESS')?.address).toEqual(CLIENT.remote);
    expect(getAttribute(r, 'SOFTWARE')?.value).toBe('burrow test');
    expect(getAttribute(r, 'OTHER-ADDRESS')).toBeUndefined();
    expect(getAttribute(r, 'RESPONSE-ORIGIN')).toBeUndefined();
  });

  it('XOR-MAPPED-ADDRESS is correct for IPv6 (XOR with cookie and transaction id) and on the wire bytes', () => {
    const client: BindingClient = { remote: v6('2001:db8::1:2:3', 61000), local: v6('2001:db8::ff', 3478), protocol: 'udp' };
    const out = respond(handleBinding(message([]), client, PLAIN));
    const bytes = encodeStun(out.response, { fingerprint: true });
    const r = decodeStun(bytes);
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')?.address).toEqual(client.remote);
    // Independent check of the XOR encoding: find the attribute and undo the XOR by hand.
    let o = 20;
    while (((bytes[o]! << 8) | bytes[o + 1]!) !== AttrType.XOR_MAPPED_ADDRESS) o += 4 + ((((bytes[o + 2]! << 8) | bytes[o + 3]!) + 3) & ~3);
    expect(bytes[o + 5]).toBe(0x02);
    expect((((bytes[o + 6]! << 8) | bytes[o + 7]!) ^ 0x2112)).toBe(61000);
    const mask = [0x21, 0x12, 0xa4, 0x42, ...TID];
    const addr = Array.from({ length: 16 }, (_, i) => bytes[o + 8 + i]! ^ mask[i]!);
    expect(addr).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3]);
  });

  it('a request with unknown comprehension-required attributes gets 420 listing them (RFC 8489 §6.3.1.1)', () => {
    const req = message([
      { type: 'UNKNOWN', code: 0x7777, value: new Uint8Array(4) },
      { type: 'UNKNOWN', code: 0xc001, value: new Uint8Array(4) }, // comprehension-optional: ignored
      { type: 'UNKNOWN', code: 0x0031, value: new Uint8Array(0) },
    ]);
    const out = respond(handleBinding(req, CLIENT, FULL));
    expect(out.errorCode).toBe(420);
    expect(out.from).toBe('same');
    const r = wire(out);
    expect(r.cls).toBe(StunClass.ErrorResponse);
    expect(errorCode(r)).toBe(420);
    expect(getAttribute(r, 'UNKNOWN-ATTRIBUTES')?.types).toEqual([0x7777, 0x0031]);
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')).toBeUndefined();
  });

  it('comprehension-optional unknown attributes are ignored', () => {
    const r = wire(handleBinding(message([{ type: 'UNKNOWN', code: 0xc001, value: new Uint8Array(3) }]), CLIENT, PLAIN));
    expect(r.cls).toBe(StunClass.SuccessResponse);
  });

  it('Binding indications (keepalives), responses and other methods get no response', () => {
    expect(handleBinding(message([], StunClass.Indication), CLIENT, FULL).kind).toBe('drop');
    expect(handleBinding(message([], StunClass.SuccessResponse), CLIENT, FULL).kind).toBe('drop');
    expect(handleBinding(message([], StunClass.ErrorResponse), CLIENT, FULL).kind).toBe('drop');
    expect(handleBinding(message([], StunClass.Request, StunMethod.Allocate), CLIENT, FULL).kind).toBe('drop');
  });

  it('SOFTWARE is cut to 64 bytes without splitting a character, and left out when empty', () => {
    const long = 'é'.repeat(100); // 2 bytes each
    const r = wire(handleBinding(message([]), CLIENT, { ...PLAIN, software: long }));
    const sw = getAttribute(r, 'SOFTWARE')!.value;
    expect(new TextEncoder().encode(sw).length).toBeLessThanOrEqual(MAX_SOFTWARE_BYTES);
    expect(sw).toBe('é'.repeat(32));
    expect(getAttribute(wire(handleBinding(message([]), CLIENT, { ...PLAIN, software: '' })), 'SOFTWARE')).toBeUndefined();
  });
});

describe('handleBinding: RFC 5780', () => {
  it('adds RESPONSE-ORIGIN (the receiving address) and OTHER-ADDRESS when RFC 5780 is on', () => {
    const r = wire(handleBinding(message([]), CLIENT, FULL));
    expect(getAttribute(r, 'RESPONSE-ORIGIN')?.address).toEqual(CLIENT.local);
    expect(getAttribute(r, 'OTHER-ADDRESS')?.address).toEqual(FULL.otherAddress);
  });

  it.each([
    [true, false, 'change-ip', v4('198.51.100.2', 3478)],
    [false, true, 'change-port', v4('198.51.100.1', 3479)],
    [true, true, 'change-both', v4('198.51.100.2', 3479)],
  ] as const)('CHANGE-REQUEST ip=%s port=%s is answered from %s, and RESPONSE-ORIGIN says so', (changeIp, changePort, from, origin) => {
    const out = respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp, changePort }]), CLIENT, FULL));
    expect(out.from).toBe(from);
    const r = wire(out);
    expect(getAttribute(r, 'RESPONSE-ORIGIN')?.address).toEqual(origin);
    expect(getAttribute(r, 'OTHER-ADDRESS')?.address).toEqual(FULL.otherAddress);
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')?.address).toEqual(CLIENT.remote);
  });

  it('a CHANGE-REQUEST with no flag set is a plain Binding (jstun sends those), even without RFC 5780', () => {
    const out = respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: false }]), CLIENT, PLAIN));
    expect(out.from).toBe('same');
    expect(wire(out).cls).toBe(StunClass.SuccessResponse);
  });

  it('one IP: change-port works, change-IP (alone or with the port) is 420 with UNKNOWN-ATTRIBUTES [CHANGE-REQUEST]', () => {
    expect(respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: true }]), CLIENT, ONE_IP)).from).toBe('change-port');
    for (const changePort of [false, true]) {
      const out = respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp: true, changePort }]), CLIENT, ONE_IP));
      expect(out.errorCode).toBe(420);
      expect(out.from).toBe('same');
      expect(getAttribute(wire(out), 'UNKNOWN-ATTRIBUTES')?.types).toEqual([AttrType.CHANGE_REQUEST]);
    }
  });

  it('without RFC 5780 every CHANGE-REQUEST with a flag is 420', () => {
    for (const [changeIp, changePort] of [[true, false], [false, true], [true, true]] as const) {
      const out = respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp, changePort }]), CLIENT, PLAIN));
      expect(out.errorCode).toBe(420);
    }
  });

  it('over TCP/TLS, CHANGE-REQUEST with a flag and RESPONSE-PORT are 400; PADDING is ignored', () => {
    for (const protocol of ['tcp', 'tls'] as const) {
      const client = { ...CLIENT, protocol };
      expect(respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: true }]), client, FULL)).errorCode).toBe(400);
      expect(respond(handleBinding(message([{ type: 'RESPONSE-PORT', port: 5000 }]), client, FULL)).errorCode).toBe(400);
      const padded = wire(handleBinding(message([{ type: 'PADDING', length: 400 }]), client, FULL));
      expect(padded.cls).toBe(StunClass.SuccessResponse);
      expect(getAttribute(padded, 'PADDING')).toBeUndefined();
    }
  });

  it('RESPONSE-PORT (UDP) sends to that port; with PADDING, or port 0, it is 400', () => {
    const out = respond(handleBinding(message([{ type: 'RESPONSE-PORT', port: 5000 }]), CLIENT, FULL));
    expect(out.toPort).toBe(5000);
    expect(out.from).toBe('same');
    const both = respond(handleBinding(message([{ type: 'RESPONSE-PORT', port: 5000 }, { type: 'PADDING', length: 100 }]), CLIENT, FULL));
    expect(both.errorCode).toBe(400);
    expect(both.toPort).toBeUndefined();
    expect(respond(handleBinding(message([{ type: 'RESPONSE-PORT', port: 0 }]), CLIENT, FULL)).errorCode).toBe(400);
    // Combined with CHANGE-REQUEST: from the other port, to the response port.
    const combo = respond(handleBinding(message([{ type: 'RESPONSE-PORT', port: 5001 }, { type: 'CHANGE-REQUEST', changeIp: false, changePort: true }]), CLIENT, FULL));
    expect([combo.from, combo.toPort]).toEqual(['change-port', 5001]);
  });

  it('leaves out RESPONSE-ORIGIN and OTHER-ADDRESS whose IP is unspecified (wildcard-bound sockets)', () => {
    const client = { ...CLIENT, local: v4('0.0.0.0', 3478) };
    const ctx: BindingContext = { software: 'x', otherAddress: v4('0.0.0.0', 3479), canChange: { ip: false, port: true } };
    const out = respond(handleBinding(message([{ type: 'CHANGE-REQUEST', changeIp: false, changePort: true }]), client, ctx));
    expect(out.from).toBe('change-port');
    const r = wire(out);
    expect(getAttribute(r, 'RESPONSE-ORIGIN')).toBeUndefined();
    expect(getAttribute(r, 'OTHER-ADDRESS')).toBeUndefined();
    expect(getAttribute(r, 'XOR-MAPPED-ADDRESS')?.address).toEqual(CLIENT.remote);
  });
});

describe('handleBinding: amplification', () => {
  it('PADDING pads the response up to, never past, the request size (UDP)', () => {
    const req = message([{ type: 'PADDING', length: 1200 }]);
    const r = encodeStun(respond(handleBinding(req, CLIENT, FULL)).response, { fingerprint: true });
    expect(r.length).toBeLessThanOrEqual(req.raw.length);
    expect(r.length).toBeGreaterThan(req.raw.length - 8);
    expect(getAttribute(decodeStun(r), 'PADDING')!.length % 4).toBe(0);
  });

  it('a small PADDING in a small request adds no padding at all', () => {
    const req = message([{ type: 'PADDING', length: 8 }]);
    const r = wire(handleBinding(req, CLIENT, FULL));
    expect(getAttribute(r, 'PADDING')).toBeUndefined();
  });

  it('a PADDING asking for more than the request carries is capped at the request size', () => {
    // A 1200-byte request whose PADDING is only 4 bytes but that carries other (optional) bulk.
    const req = message([
      { type: 'PADDING', length: 4 },
      { type: 'UNKNOWN', code: 0xc0de, value: new Uint8Array(1000) },
    ]);
    const r = encodeStun(respond(handleBinding(req, CLIENT, FULL)).response, { fingerprint: true });
    expect(getAttribute(decodeStun(r), 'PADDING')?.length ?? 0).toBeLessThanOrEqual(4);
  });

  it('property: no response is larger than request + MAX_RESPONSE_GROWTH, padded ones never larger than the request, and responseLength() is exact', () => {
    const address = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 65535 })).map(([a, b, p]) => v4(`10.${a}.${b}.1`, p)),
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => v6(`2001:db8:${a.toString(16)}::1`, p)),
    );
    const attr: fc.Arbitrary<StunAttribute> = fc.oneof(
      fc.integer({ min: 0, max: 1500 }).map((length) => ({ type: 'PADDING', length }) as StunAttribute),
      fc.integer({ min: 0, max: 65535 }).map((port) => ({ type: 'RESPONSE-PORT', port }) as StunAttribute),
      fc.tuple(fc.boolean(), fc.boolean()).map(([changeIp, changePort]) => ({ type: 'CHANGE-REQUEST', changeIp, changePort }) as StunAttribute),
      fc.integer({ min: 0x0050, max: 0x7fff }).map((code) => ({ type: 'UNKNOWN', code, value: new Uint8Array(0) }) as StunAttribute),
      fc.string({ maxLength: 40 }).map((value) => ({ type: 'SOFTWARE', value }) as StunAttribute),
    );
    fc.assert(
      fc.property(
        fc.array(attr, { maxLength: 6 }),
        address,
        address,
        fc.option(address, { nil: undefined }),
        fc.constantFrom('udp', 'tcp', 'tls'),
        fc.string({ maxLength: 300 }),
        fc.boolean(),
        fc.boolean(),
        (attributes, remote, local, other, protocol, software, ip, port) => {
          const req = message(attributes, StunClass.Request, StunMethod.Binding, false);
          const ctx: BindingContext = other ? { software, otherAddress: other, canChange: { ip, port } } : { software, canChange: { ip, port } };
          const out = handleBinding(req, { remote, local, protocol: protocol as 'udp' }, ctx);
          if (out.kind === 'drop') return;
          const bytes = encodeStun(out.response, { fingerprint: true });
          expect(bytes.length).toBeLessThanOrEqual(req.raw.length + MAX_RESPONSE_GROWTH);
          if (getAttribute(out.response, 'PADDING')) expect(bytes.length).toBeLessThanOrEqual(req.raw.length);
          expect(responseLength(out.response.attributes)).toBe(bytes.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('errorResponse caps UNKNOWN-ATTRIBUTES', () => {
    const m = errorResponse(message([]), 420, 'Unknown Attribute', 'sw', Array.from({ length: 100 }, (_, i) => 0x100 + i));
    expect(getAttribute(m, 'UNKNOWN-ATTRIBUTES')?.types.length).toBe(16);
  });
});
