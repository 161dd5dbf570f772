import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encodeFrame, FRAME_HEADER_LENGTH, MAX_FRAME_PAYLOAD, PROTOCOL_VERSION, ProtocolError, type ProtocolErrorCode } from './frame.js';
import {
  decodeMessage,
  encodeMessage,
  expectMessage,
  KNOWN_MESSAGE_TYPES,
  MessageDecoder,
  MessageType,
  schemas,
  startWorkConnFastPath,
  type Message,
  type MessageOf,
  type MessageTypeName,
} from './messages.js';
import { p2pArbitraries, p2pExamples } from './p2p-messages.fixtures.js';
import { concatBytes } from '../bytes.js';

// ---------------------------------------------------------------------------------------------
// helpers

const utf8 = new TextEncoder();


/** Datagram data as hex: vitest compares big Uint8Arrays element by element, which is slow. */
function norm(messages: readonly Message[]): unknown[] {
  return messages.map((m) => (m.type === 'UdpDatagram' ? { ...m, data: Buffer.from(m.data).toString('hex') } : m));
}

function decodeAll(bytes: Uint8Array): Message[] {
  return new MessageDecoder().push(bytes);
}

function roundTrip(m: Message): Message {
  const out = decodeAll(encodeMessage(m));
  expect(out).toHaveLength(1);
  return out[0]!;
}

function expectCode(fn: () => unknown, code: ProtocolErrorCode): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(code);
    return err as ProtocolError;
  }
  throw new Error(`expected ProtocolError ${code}, nothing was thrown`);
}

/** Pushes chunks; anything thrown must be a ProtocolError. Returns the messages decoded. */
function pushTolerant(decoder: MessageDecoder, chunks: Uint8Array[]): Message[] {
  const out: Message[] = [];
  for (const c of chunks) {
    try {
      out.push(...decoder.push(c));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
    }
  }
  return out;
}

const jsonFrame = (type: MessageTypeName, body: unknown) => encodeFrame(MessageType[type], utf8.encode(JSON.stringify(body)));

const HEX16 = '00112233445566778899aabbccddeeff';
const HEX32 = 'a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3';

// ---------------------------------------------------------------------------------------------
// one realistic example per message type

const examples: { [K in MessageTypeName]: MessageOf<K>[] } = {
  Challenge: [{ type: 'Challenge', nonce: HEX16, time: 1_718_000_000_000, server: 'burrow/0.1.0' }],
  Login: [{ type: 'Login', version: '0.1.0', clientId: 'laptop-01', timestamp: 1_718_000_000_123, nonce: HEX16, proof: HEX32 }],
  LoginResult: [
    { type: 'LoginResult', sessionId: 'ffeeddccbbaa99887766554433221100', proof: HEX32, server: 'burrow/0.1.0' },
    { type: 'LoginResult', sessionId: 'ffeeddccbbaa99887766554433221100', proof: HEX32, server: 'burrow/0.1.0', stunPort: 3478 },
  ],
  NewTunnel: [
    { type: 'NewTunnel', name: 'ssh', kind: 'tcp', remotePort: 6000, allow: ['203.0.113.0/24', '::1'], deny: [] },
    { type: 'NewTunnel', name: 'dns', kind: 'udp', remotePort: 0 },
    { type: 'NewTunnel', name: 'dns', kind: 'udp', remotePort: 0, idleTimeout: 0.5 },
    { type: 'NewTunnel', name: 'db.secret_1', kind: 'secret', secretKey: HEX32 },
  ],
  TunnelResult: [
    { type: 'TunnelResult', name: 'ssh', ok: true, remotePort: 6000 },
    { type: 'TunnelResult', name: 'web', ok: false, error: 'port 80 is not in allowPorts' },
  ],
  CloseTunnel: [{ type: 'CloseTunnel', name: 'ssh' }],
  ReqWorkConn: [{ type: 'ReqWorkConn' }],
  NewWorkConn: [{ type: 'NewWorkConn', sessionId: HEX16, proof: HEX32 }],
  NewMuxConn: [{ type: 'NewMuxConn', sessionId: HEX16, proof: HEX32 }],
  StartWorkConn: [
    { type: 'StartWorkConn', tunnel: 'ssh', connId: 42, srcAddr: '198.51.100.7', srcPort: 51234 },
    { type: 'StartWorkConn', tunnel: 'dns', connId: 0, srcAddr: '2001:db8::1', srcPort: 0 },
  ],
  NewVisitorConn: [{ type: 'NewVisitorConn', sessionId: HEX16, proof: HEX32, tunnel: 'db.secret_1', secretProof: HEX32 }],
  VisitorResult: [
    { type: 'VisitorResult', ok: true },
    { type: 'VisitorResult', ok: false, error: 'no such secret tunnel' },
  ],
  Ping: [{ type: 'Ping', time: 1_718_000_000_000 }],
  Pong: [{ type: 'Pong', time: 0 }],
  Error: [{ type: 'Error', code: 'auth-failed', message: 'bad token proof — check "token" in client.yaml' }],
  UdpDatagram: [
    { type: 'UdpDatagram', address: '198.51.100.7', port: 53, data: utf8.encode('\x12\x34 dns query') },
    { type: 'UdpDatagram', address: '10.0.0.1', port: 9999, data: new Uint8Array(0) },
    { type: 'UdpDatagram', address: '2001:db8:85a3::8a2e:370:7334', port: 65535, data: Uint8Array.from({ length: 65507 }, (_, i) => (i * 31) & 0xff) },
    { type: 'UdpDatagram', address: 'fe80::1%eth0', port: 0, data: new Uint8Array([0, 255]) },
  ],
  ...p2pExamples,
};

const allExamples: Message[] = Object.values(examples).flat();

describe('encodeMessage / MessageDecoder: one example per message type', () => {
  it('has an example for every MessageType', () => {
    expect(Object.keys(examples).sort()).toEqual(Object.keys(MessageType).sort());
    expect(KNOWN_MESSAGE_TYPES).toEqual(new Set(Object.values(MessageType)));
  });

  for (const [name, list] of Object.entries(examples)) {
    it(`${name} round-trips`, () => {
      for (const m of list) {
        const bytes = encodeMessage(m);
        expect(bytes[0]).toBe(PROTOCOL_VERSION);
        expect(bytes[1]).toBe(MessageType[name as MessageTypeName]);
        expect(norm([roundTrip(m)])).toEqual(norm([m]));
      }
    });
  }

  it('UdpDatagram is binary: [addr len][addr][port BE][data]', () => {
    const bytes = encodeMessage({ type: 'UdpDatagram', address: '1.2.3.4', port: 0x1234, data: new Uint8Array([9, 8]) });
    expect([...bytes.subarray(FRAME_HEADER_LENGTH)]).toEqual([7, ...utf8.encode('1.2.3.4'), 0x12, 0x34, 9, 8]);
  });

  it('UdpDatagram with a 65507-byte payload (largest UDP datagram) and an IPv6 address fits in a frame', () => {
    const m = examples.UdpDatagram[2]!;
    const out = roundTrip(m) as MessageOf<'UdpDatagram'>;
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(out.data.length).toBe(65507);
    expect(Buffer.from(out.data).equals(Buffer.from(m.data))).toBe(true);
    expect(out.address).toBe('2001:db8:85a3::8a2e:370:7334');
    expect(out.port).toBe(65535);
  });

  it('JSON messages drop unknown fields and keep only schema fields', () => {
    const [m] = decodeAll(jsonFrame('Ping', { time: 5, extra: 'ignored', type: 'Pong' }));
    expect(m).toEqual({ type: 'Ping', time: 5 });
  });
});

describe('encodeMessage errors', () => {
  it('refuses UdpDatagram fields the binary layout cannot carry', () => {
    expectCode(() => encodeMessage({ type: 'UdpDatagram', address: '', port: 1, data: new Uint8Array(0) }), 'bad-payload');
    expectCode(() => encodeMessage({ type: 'UdpDatagram', address: 'x'.repeat(65), port: 1, data: new Uint8Array(0) }), 'bad-payload');
    expectCode(() => encodeMessage({ type: 'UdpDatagram', address: '1.2.3.4', port: 70000, data: new Uint8Array(0) }), 'bad-payload');
    expectCode(() => encodeMessage({ type: 'UdpDatagram', address: '1.2.3.4', port: -1, data: new Uint8Array(0) }), 'bad-payload');
    expectCode(
      () => encodeMessage({ type: 'UdpDatagram', address: '1.2.3.4', port: 1, data: new Uint8Array(MAX_FRAME_PAYLOAD) }),
      'oversize',
    );
  });
});

describe('incremental decoding', () => {
  // Leave out the 64 KiB datagram so that trying every split point stays cheap.
  const small = allExamples.filter((m) => m.type !== 'UdpDatagram' || m.data.length < 1000);
  const stream = concatBytes(...small.map(encodeMessage));
  const tail = encodeMessage(examples.Login[0]!).subarray(0, 20);
  const withTail = concatBytes(stream, tail);

  it('a stream split at every byte boundary yields the same messages in order', () => {
    for (let cut = 0; cut <= withTail.length; cut++) {
      const d = new MessageDecoder();
      const got = [...d.push(withTail.subarray(0, cut)), ...d.push(withTail.subarray(cut))];
      expect(got).toEqual(small);
      expect(d.takeRemainder()).toEqual(tail);
    }
  });

  it('byte-at-a-time feeding yields the same messages', () => {
    const d = new MessageDecoder();
    const got: Message[] = [];
    for (let i = 0; i < withTail.length; i++) got.push(...d.push(withTail.subarray(i, i + 1)));
    expect(got).toEqual(small);
    expect(d.takeRemainder()).toEqual(tail);
  });

  it('random split points (including the 64 KiB datagram) yield the same messages; remainder is the tail', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(allExamples, { minLength: 1 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        fc.integer({ min: 0, max: FRAME_HEADER_LENGTH + 10 }),
        (messages, fractions, tailLength) => {
          const tailBytes = encodeMessage(examples.Error[0]!).subarray(0, tailLength);
          const bytes = concatBytes(...messages.map(encodeMessage), tailBytes);
          const cuts = [0, ...fractions.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b), bytes.length];
          const d = new MessageDecoder();
          const got: Message[] = [];
          for (let i = 0; i + 1 < cuts.length; i++) got.push(...d.push(bytes.subarray(cuts[i]!, cuts[i + 1]!)));
          expect(norm(got)).toEqual(norm(messages));
          expect(d.takeRemainder()).toEqual(tailBytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('StartWorkConn followed by raw piped bytes in one chunk: the message is delivered, the bytes are kept', () => {
    const start = examples.StartWorkConn[0]!;
    // Raw bytes that are themselves a valid Ping frame must still come back as raw bytes.
    for (const raw of [utf8.encode('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'), encodeMessage({ type: 'Ping', time: 1 })]) {
      const d = new MessageDecoder();
      expect(d.push(concatBytes(encodeMessage(start), raw), (m) => m.type === 'StartWorkConn')).toEqual([start]);
      expect(d.takeRemainder()).toEqual(raw);
    }
  });
});

describe('decode errors', () => {
  const hdr = (version: number, type: number, length: number) => {
    const h = new Uint8Array(FRAME_HEADER_LENGTH);
    h[0] = version;
    h[1] = type;
    new DataView(h.buffer).setUint32(2, length, false);
    return h;
  };

  it('wrong version byte -> bad-version', () => {
    const bytes = encodeMessage(examples.Ping[0]!);
    bytes[0] = 2;
    expectCode(() => new MessageDecoder().push(bytes), 'bad-version');
  });

  it('unknown type byte -> unknown-type, from the header alone', () => {
    expectCode(() => new MessageDecoder().push(hdr(PROTOCOL_VERSION, 0, 2)), 'unknown-type');
    expectCode(() => new MessageDecoder().push(hdr(PROTOCOL_VERSION, Math.max(...Object.values(MessageType)) + 1, 2)), 'unknown-type');
    expectCode(() => decodeMessage({ type: 99, payload: new Uint8Array(0) }), 'unknown-type');
  });

  it('length > MAX_FRAME_PAYLOAD -> oversize as soon as the 6 header bytes are pushed', () => {
    const d = new MessageDecoder();
    const h = hdr(PROTOCOL_VERSION, MessageType.UdpDatagram, MAX_FRAME_PAYLOAD + 1);
    expect(d.push(h.subarray(0, 3))).toEqual([]);
    expectCode(() => d.push(h.subarray(3)), 'oversize');
  });

  it('a custom maxPayload is honoured', () => {
    const d = new MessageDecoder(32);
    expectCode(() => d.push(encodeMessage({ type: 'Error', code: 'x', message: 'y'.repeat(40) })), 'oversize');
  });

  it('payload that is not JSON -> bad-payload naming the type', () => {
    const err = expectCode(() => decodeAll(encodeFrame(MessageType.Login, utf8.encode('{nope'))), 'bad-payload');
    expect(err.message).toContain('Login');
  });

  it('payload that is not UTF-8 -> bad-payload', () => {
    const err = expectCode(() => decodeAll(encodeFrame(MessageType.Ping, new Uint8Array([0x7b, 0xff, 0x7d]))), 'bad-payload');
    expect(err.message).toContain('Ping');
  });

  it('JSON that fails the schema -> bad-payload naming the type and the field', () => {
    const cases: [MessageTypeName, unknown, string][] = [
      ['Login', { ...examples.Login[0]!, type: undefined, clientId: 'bad name!' }, 'clientId'],
      ['Login', { version: '1', clientId: 'a', timestamp: 1, nonce: HEX16 }, 'proof'],
      ['Challenge', { nonce: HEX16.toUpperCase(), time: 1, server: 's' }, 'nonce'],
      ['NewTunnel', { name: 'ssh', kind: 'http' }, 'kind'],
      ['NewTunnel', { name: 'ssh', kind: 'tcp', remotePort: 70000 }, 'remotePort'],
      ['NewTunnel', { name: 'dns', kind: 'udp', idleTimeout: 0 }, 'idleTimeout'],
      ['NewTunnel', { name: 'ssh', kind: 'tcp', allow: ['ok', 7] }, 'allow.1'],
      ['StartWorkConn', { tunnel: 'ssh', connId: -1, srcAddr: 'x', srcPort: 1 }, 'connId'],
      ['Ping', { time: 1.5 }, 'time'],
      ['VisitorResult', { ok: 'yes' }, 'ok'],
    ];
    for (const [type, body, field] of cases) {
      const err = expectCode(() => decodeAll(jsonFrame(type, body)), 'bad-payload');
      expect(err.message).toContain(type);
      expect(err.message).toContain(field);
    }
  });

  it('JSON that is not an object -> bad-payload', () => {
    for (const body of [null, 42, 'str', [1, 2]]) {
      const err = expectCode(() => decodeAll(jsonFrame('Pong', body)), 'bad-payload');
      expect(err.message).toContain('Pong');
    }
  });

  it('truncated or malformed UdpDatagram -> bad-payload', () => {
    const frame = (payload: number[]) => encodeFrame(MessageType.UdpDatagram, new Uint8Array(payload));
    for (const p of [[], [0, 0, 0], [4, 49, 46, 49], [65, ...new Array<number>(70).fill(49)], [2, 0xc3, 0x28, 0, 1]]) {
      const err = expectCode(() => decodeAll(frame(p)), 'bad-payload');
      expect(err.message).toContain('UdpDatagram');
    }
  });

  it('a UdpDatagram address that is only a byte-order mark stays a BOM (never an empty address)', () => {
    const [m] = decodeAll(encodeFrame(MessageType.UdpDatagram, new Uint8Array([3, 0xef, 0xbb, 0xbf, 0, 7])));
    expect(m).toEqual({ type: 'UdpDatagram', address: '\ufeff', port: 7, data: new Uint8Array(0) });
  });
});

describe('expectMessage', () => {
  it('narrows the expected type', () => {
    const m: Message = examples.Pong[0]!;
    expect(expectMessage(m, 'Pong').time).toBe(0);
  });
  it('turns an Error message into an unexpected-message ProtocolError carrying its code', () => {
    const err = expectCode(() => expectMessage(examples.Error[0]!, 'LoginResult'), 'unexpected-message');
    expect(err.message).toContain('auth-failed');
  });
  it('refuses another type', () => {
    const err = expectCode(() => expectMessage(examples.Ping[0]!, 'Pong'), 'unexpected-message');
    expect(err.message).toContain('expected Pong, got Ping');
  });
});

// ---------------------------------------------------------------------------------------------
// property tests

const hexArb = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const nameArb = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 64 });
const portArb = fc.integer({ min: 0, max: 65535 });
const timeArb = fc.maxSafeNat();
/** Any UTF-16 text up to `max` code units, lone surrogates included (JSON.stringify escapes them). */
const textArb = (max: number) =>
  fc
    .string({
      unit: fc.oneof(
        { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
        { weight: 2, arbitrary: fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', '{', '}') },
      ),
      maxLength: max,
    })
    .filter((s) => s.length <= max);
const addrListArb = fc.array(textArb(64), { maxLength: 8 });

const arbitraries: { [K in MessageTypeName]: fc.Arbitrary<MessageOf<K>> } = {
  Challenge: fc.record({ type: fc.constant('Challenge' as const), nonce: hexArb(16), time: timeArb, server: textArb(64) }),
  Login: fc.record({
    type: fc.constant('Login' as const),
    version: textArb(32),
    clientId: nameArb,
    timestamp: timeArb,
    nonce: hexArb(16),
    proof: hexArb(32),
  }),
  LoginResult: fc.record(
    { type: fc.constant('LoginResult' as const), sessionId: hexArb(16), proof: hexArb(32), server: textArb(64), stunPort: fc.integer({ min: 0, max: 65535 }) },
    { requiredKeys: ['type', 'sessionId', 'proof', 'server'] },
  ),
  NewTunnel: fc.record(
    {
      type: fc.constant('NewTunnel' as const),
      name: nameArb,
      kind: fc.constantFrom('tcp' as const, 'udp' as const, 'secret' as const),
      remotePort: portArb,
      secretKey: hexArb(32),
      allow: addrListArb,
      deny: addrListArb,
    },
    { requiredKeys: ['type', 'name', 'kind'] },
  ),
  TunnelResult: fc.record(
    { type: fc.constant('TunnelResult' as const), name: nameArb, ok: fc.boolean(), remotePort: portArb, error: textArb(512) },
    { requiredKeys: ['type', 'name', 'ok'] },
  ),
  CloseTunnel: fc.record({ type: fc.constant('CloseTunnel' as const), name: nameArb }),
  ReqWorkConn: fc.constant({ type: 'ReqWorkConn' as const }),
  NewWorkConn: fc.record({ type: fc.constant('NewWorkConn' as const), sessionId: hexArb(16), proof: hexArb(32) }),
  NewMuxConn: fc.record({ type: fc.constant('NewMuxConn' as const), sessionId: hexArb(16), proof: hexArb(32) }),
  StartWorkConn: fc.record({
    type: fc.constant('StartWorkConn' as const),
    tunnel: nameArb,
    connId: fc.maxSafeNat(),
    srcAddr: fc.oneof(fc.ipV4(), fc.ipV6(), textArb(64)),
    srcPort: portArb,
  }),
  NewVisitorConn: fc.record({
    type: fc.constant('NewVisitorConn' as const),
    sessionId: hexArb(16),
    proof: hexArb(32),
    tunnel: nameArb,
    secretProof: hexArb(32),
  }),
  VisitorResult: fc.record(
    { type: fc.constant('VisitorResult' as const), ok: fc.boolean(), error: textArb(512) },
    { requiredKeys: ['type', 'ok'] },
  ),
  Ping: fc.record({ type: fc.constant('Ping' as const), time: timeArb }),
  Pong: fc.record({ type: fc.constant('Pong' as const), time: timeArb }),
  Error: fc.record({ type: fc.constant('Error' as const), code: textArb(64), message: textArb(1024) }),
  UdpDatagram: fc.record({
    type: fc.constant('UdpDatagram' as const),
    address: fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      // any text whose UTF-8 form is 1-64 bytes
      textArb(64).filter((s) => s.length > 0 && !/[\ud800-\udfff]/.test(s) && utf8.encode(s).length <= 64),
    ),
    port: portArb,
    data: fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ maxLength: 256 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }) }),
  }),
  ...p2pArbitraries,
};

const messageArb: fc.Arbitrary<Message> = fc.oneof(...(Object.values(arbitraries) as fc.Arbitrary<Message>[]));

/** A mutation applied to an encoded stream. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x22, 0x5c) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  if (input.length === 0) return input;
  const at = Math.floor(m.at * input.length);
  switch (m.kind) {
    case 'flip': {
      const out = input.slice();
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = input.slice();
      out[at] = m.value;
      return out;
    }
    case 'truncate':
      return input.slice(0, at);
    case 'insert':
      return concatBytes(input.subarray(0, at), m.bytes, input.subarray(at));
    case 'delete':
      return concatBytes(input.subarray(0, at), input.subarray(at + m.count));
  }
}

describe('properties', () => {
  it('encode -> decode is the identity for arbitrary valid messages', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(roundTrip(m)).toEqual(m);
      }),
      { numRuns: 3000 },
    );
  });

  it('a random sequence of valid messages decodes in order whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        (messages, fractions) => {
          const bytes = concatBytes(...messages.map(encodeMessage));
          const cuts = [0, ...fractions.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b), bytes.length];
          const d = new MessageDecoder();
          const got: Message[] = [];
          for (let i = 0; i + 1 < cuts.length; i++) got.push(...d.push(bytes.subarray(cuts[i]!, cuts[i + 1]!)));
          expect(got).toEqual(messages);
          expect(d.takeRemainder().length).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw anything but ProtocolError', () => {
    const chunkArb = fc.oneof(
      fc.uint8Array({ maxLength: 128 }),
      // a plausible header in front of random bytes gets past the header checks
      fc
        .tuple(
          fc.constantFrom(PROTOCOL_VERSION, PROTOCOL_VERSION, PROTOCOL_VERSION, 0, 2),
          fc.integer({ min: 0, max: 17 }),
          fc.oneof(fc.integer({ min: 0, max: 80 }), fc.nat()),
          fc.uint8Array({ maxLength: 96 }),
        )
        .map(([v, t, l, p]) => {
          const h = new Uint8Array(FRAME_HEADER_LENGTH);
          h[0] = v;
          h[1] = t;
          new DataView(h.buffer).setUint32(2, Math.min(l, p.length + 4), false);
          return concatBytes(h, p);
        }),
    );
    fc.assert(
      fc.property(fc.array(chunkArb, { maxLength: 8 }), (chunks) => {
        const d = new MessageDecoder();
        for (const m of pushTolerant(d, chunks)) expect(KNOWN_MESSAGE_TYPES.has(MessageType[m.type])).toBe(true);
        d.takeRemainder();
      }),
      { numRuns: 4000 },
    );
  });

  it('mutated valid streams never throw anything but ProtocolError, and what decodes re-encodes', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 4 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        (messages, mutations, fractions) => {
          let bytes = concatBytes(...messages.map(encodeMessage));
          for (const m of mutations) bytes = mutate(bytes, m);
          const cuts = [0, ...fractions.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b), bytes.length];
          const chunks: Uint8Array[] = [];
          for (let i = 0; i + 1 < cuts.length; i++) chunks.push(bytes.subarray(cuts[i]!, cuts[i + 1]!));
          for (const decoded of pushTolerant(new MessageDecoder(), chunks)) {
            // anything the decoder accepts is a valid message: it re-encodes and decodes to itself
            expect(roundTrip(decoded)).toEqual(decoded);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('StartWorkConn fast path', () => {
  const viaSchema = (json: unknown) => {
    const r = schemas.StartWorkConn.safeParse(json);
    return r.success ? { type: 'StartWorkConn', ...r.data } : undefined;
  };
  const value = fc.oneof(
    fc.string({ maxLength: 70 }),
    fc.stringMatching(/^[A-Za-z0-9._-]{0,66}$/),
    fc.integer({ min: -5, max: 70_000 }),
    fc.double(),
    fc.constantFrom(2 ** 53, -0, 1.5, 65535, 65536, null, true, [], {}),
  );
  const record = fc.record(
    { tunnel: value, connId: value, srcAddr: value, srcPort: value, extra: value },
    { requiredKeys: [] },
  );

  it('accepts only what the schema accepts, with the same message (unknown keys dropped)', () => {
    fc.assert(
      fc.property(fc.oneof(record, value), (json) => {
        const fast = startWorkConnFastPath(json);
        if (fast !== undefined) expect(fast).toEqual(viaSchema(json));
      }),
      { numRuns: 20_000 },
    );
  });

  it('takes the usual message, and decodeMessage gives the same for it as the schema', () => {
    const json = { tunnel: 'web-1', connId: 42, srcAddr: '203.0.113.7', srcPort: 51234, extra: 'x' };
    expect(startWorkConnFastPath(json)).toEqual({ type: 'StartWorkConn', tunnel: 'web-1', connId: 42, srcAddr: '203.0.113.7', srcPort: 51234 });
    const frame = { type: MessageType.StartWorkConn, payload: new TextEncoder().encode(JSON.stringify(json)) };
    expect(decodeMessage(frame)).toEqual(viaSchema(json));
  });

  it('a bad StartWorkConn still gets the schema\'s error', () => {
    const frame = { type: MessageType.StartWorkConn, payload: new TextEncoder().encode(JSON.stringify({ tunnel: 'web', connId: -1, srcAddr: '', srcPort: 1 })) };
    expect(() => decodeMessage(frame)).toThrow(/StartWorkConn: connId/);
  });
});
