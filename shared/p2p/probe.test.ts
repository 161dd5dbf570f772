import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { encodeMessage } from '../protocol/messages.js';
import { encodeStun, isStunMessage } from '../stun/message.js';
import {
  decodeProbe,
  encodeProbe,
  looksLikeProbe,
  openProbe,
  PROBE_LENGTH,
  probeKey,
  ProbeError,
  type Probe,
  type ProbeContext,
  type ProbeRejectReason,
} from './probe.js';

const hmac = nodeStunCrypto.hmacSha256;
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff);
const sessionId = bytes(16, 1);

function context(secret = 'correct horse', session = sessionId): ProbeContext {
  return { hmac, key: probeKey(hmac, secret, session), sessionId: session, offerNonce: bytes(16, 2), answerNonce: bytes(16, 3) };
}

function rejection(fn: () => unknown): ProbeRejectReason {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProbeError);
    return (err as ProbeError).reason;
  }
  throw new Error('expected a ProbeError, nothing was thrown');
}

const request: Probe = { kind: 'request', direction: 'offerer-to-answerer', nominate: false, seq: 7 };

describe('probe codec', () => {
  it('round-trips every kind, direction, nominate flag and seq', () => {
    const ctx = context();
    const probeArb = fc
      .record({
        kind: fc.constantFrom('request' as const, 'response' as const),
        direction: fc.constantFrom('offerer-to-answerer' as const, 'answerer-to-offerer' as const),
        nominate: fc.boolean(),
        seq: fc.integer({ min: 0, max: 0xffffffff }),
      })
      .map((p) => ({ ...p, nominate: p.kind === 'request' && p.nominate }));
    fc.assert(
      fc.property(probeArb, (p) => {
        const wire = encodeProbe(ctx, p);
        expect(wire.length).toBe(PROBE_LENGTH);
        expect(looksLikeProbe(wire)).toBe(true);
        expect(openProbe(ctx, wire, p.direction)).toEqual(p);
        expect(decodeProbe(wire)).toEqual({ ...p, sessionId });
      }),
      { numRuns: 500 },
    );
  });

  it('is told apart from STUN, udx and control frames on the same socket', () => {
    const stun = encodeStun({ cls: 0, method: 0x001, transactionId: bytes(12, 9), attributes: [] });
    const udxData = Uint8Array.from([0xff, 0x01, 0x01, 0x00, 2, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x69]);
    for (const other of [stun, udxData, encodeMessage({ type: 'Ping', time: 1 }), new Uint8Array(0)]) {
      expect(looksLikeProbe(other)).toBe(false);
      expect(rejection(() => decodeProbe(other))).toBe('not-a-probe');
    }
    expect(isStunMessage(stun)).toBe(true);
    expect(isStunMessage(encodeProbe(context(), request))).toBe(false);
  });
});

describe('probe authentication', () => {
  const ctx = context();
  const wire = encodeProbe(ctx, request);

  it('a probe made with another secret is rejected: bad-mac', () => {
    const forged = encodeProbe(context('guessed secret'), request);
    expect(rejection(() => openProbe(ctx, forged, 'offerer-to-answerer'))).toBe('bad-mac');
  });

  it('a probe of another session is rejected: wrong-session (and its key fails there too)', () => {
    const other = bytes(16, 99);
    expect(rejection(() => openProbe(ctx, encodeProbe(context('correct horse', other), request), 'offerer-to-answerer'))).toBe('wrong-session');
    // the session id patched in does not help: the key and the MAC depend on it
    const patched = encodeProbe(context('correct horse', other), request);
    patched.set(sessionId, 8);
    expect(rejection(() => openProbe(ctx, patched, 'offerer-to-answerer'))).toBe('bad-mac');
  });

  it('a probe of an attempt with other nonces is rejected: bad-mac', () => {
    const old = encodeProbe({ ...ctx, answerNonce: bytes(16, 77) }, request);
    expect(rejection(() => openProbe(ctx, old, 'offerer-to-answerer'))).toBe('bad-mac');
  });

  it('our own probe reflected back is rejected: wrong-direction; with the direction byte flipped: bad-mac', () => {
    expect(rejection(() => openProbe(ctx, wire, 'answerer-to-offerer'))).toBe('wrong-direction');
    const flipped = wire.slice();
    flipped[5] = 2;
    expect(rejection(() => openProbe(ctx, flipped, 'answerer-to-offerer'))).toBe('bad-mac');
  });

  it('any single changed bit after the magic is rejected', () => {
    for (let bit = 3 * 8; bit < PROBE_LENGTH * 8; bit++) {
      const changed = wire.slice();
      changed[bit >> 3] = changed[bit >> 3]! ^ (1 << (bit & 7));
      expect(() => openProbe(ctx, changed, 'offerer-to-answerer'), `bit ${bit}`).toThrow(ProbeError);
    }
  });

  it('malformed probes are rejected with their reason', () => {
    const cases: [Uint8Array, ProbeRejectReason][] = [
      [wire.subarray(0, 3), 'bad-version'],
      [Uint8Array.from([...wire.subarray(0, 3), 2, ...wire.subarray(4)]), 'bad-version'],
      [wire.subarray(0, PROBE_LENGTH - 1), 'bad-length'],
      [Uint8Array.from([...wire, 0]), 'bad-length'],
    ];
    for (const [at, value] of [[4, 3], [5, 0], [6, 2], [7, 1]] as const) {
      const w = wire.slice();
      w[at] = value;
      cases.push([w, 'bad-field']);
    }
    const nominatingResponse = encodeProbe(ctx, { ...request, kind: 'response' });
    nominatingResponse[6] = 1;
    cases.push([nominatingResponse, 'bad-field']);
    for (const [w, reason] of cases) expect(rejection(() => openProbe(ctx, w, 'offerer-to-answerer'))).toBe(reason);
  });

  it('encode refuses what the layout cannot carry', () => {
    expect(() => encodeProbe(ctx, { ...request, seq: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeProbe(ctx, { ...request, kind: 'response', nominate: true })).toThrow(RangeError);
    expect(() => encodeProbe({ ...ctx, sessionId: bytes(8, 1) }, request)).toThrow(RangeError);
  });
});

describe('probe fuzz', () => {
  const ctx = context();
  const valid = encodeProbe(ctx, request);
  const datagramArb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ minLength: PROBE_LENGTH - 3, maxLength: PROBE_LENGTH - 3 }).map((b) => Uint8Array.from([0xc2, 0x42, 0x50, ...b])),
    fc.uint8Array({ maxLength: 48 }).map((b) => Uint8Array.from([0xc2, 0x42, 0x50, 1, ...b])),
    fc.tuple(fc.nat(PROBE_LENGTH - 1), fc.nat(255)).map(([at, v]) => {
      const w = valid.slice();
      w[at] = v;
      return w;
    }),
  );

  it('decode and open never throw anything but ProbeError, and accept only the untouched probe', () => {
    fc.assert(
      fc.property(datagramArb, (d) => {
        for (const fn of [() => decodeProbe(d), () => openProbe(ctx, d, 'offerer-to-answerer')]) {
          try {
            fn();
          } catch (err) {
            if (!(err instanceof ProbeError)) throw err;
          }
        }
        let opened = false;
        try {
          openProbe(ctx, d, 'offerer-to-answerer');
          opened = true;
        } catch {
          // rejected
        }
        expect(opened).toBe(d.length === valid.length && d.every((b, i) => b === valid[i]));
      }),
      { numRuns: 3000 },
    );
  });
});
