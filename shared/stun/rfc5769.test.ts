/**
 * RFC 5769 test vectors, byte for byte. The RFC's §2.1-§2.3 samples pad with 0x20 (RFC 5389 let
 * padding be any value), §2.4 with 0x00; `EncodeOptions.padding` reproduces both.
 */
import { describe, expect, it } from 'vitest';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { AttrType, StunClass, StunMethod } from './constants.js';
import { longTermKey, saslprep, shortTermKey, userHash } from './crypto.js';
import { decodeStun, encodeStun, getAttribute, verifyIntegrity, type StunMessage } from './message.js';

function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const SHORT_TERM_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

// RFC 5769 §2.1 Sample Request
const SAMPLE_REQUEST = bytes(`
  00 01 00 58  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 10  53 54 55 4e  20 74 65 73  74 20 63 6c  69 65 6e 74
  00 24 00 04  6e 00 01 ff
  80 29 00 08  93 2f f9 b1  51 26 3b 36
  00 06 00 09  65 76 74 6a  3a 68 36 76  59 20 20 20
  00 08 00 14  9a ea a7 0c  bf d8 cb 56  78 1e f2 b5  b2 d3 f2 49  c1 b5 71 a2
  80 28 00 04  e5 7a 3b cf
`);

// RFC 5769 §2.2 Sample IPv4 Response
const SAMPLE_IPV4_RESPONSE = bytes(`
  01 01 00 3c  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 08  00 01 a1 47  e1 12 a6 43
  00 08 00 14  2b 91 f5 99  fd 9e 90 c3  8c 74 89 f9  2a f9 ba 53  f0 6b e7 d7
  80 28 00 04  c0 7d 4c 96
`);

// RFC 5769 §2.3 Sample IPv6 Response
const SAMPLE_IPV6_RESPONSE = bytes(`
  01 01 00 48  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 14  00 02 a1 47  01 13 a9 fa  a5 d3 f1 79  bc 25 f4 b5  be d2 b9 d9
  00 08 00 14  a3 82 95 4e  4b e6 7b f1  17 84 c9 7c  82 92 c2 75  bf e3 ed 41
  80 28 00 04  c8 fb 0b 4c
`);

// RFC 5769 §2.4 Sample Request with Long-Term Authentication
const SAMPLE_LONG_TERM_REQUEST = bytes(`
  00 01 00 60  21 12 a4 42  78 ad 34 33  c6 ad 72 c0  29 da 41 2e
  00 06 00 12  e3 83 9e e3  83 88 e3 83  aa e3 83 83  e3 82 af e3  82 b9 00 00
  00 15 00 1c  66 2f 2f 34  39 39 6b 39  35 34 64 36  4f 4c 33 34  6f 4c 39 46  53 54 76 79  36 34 73 41
  00 14 00 0b  65 78 61 6d  70 6c 65 2e  6f 72 67 00
  00 08 00 14  f6 70 24 65  6d d6 4a 3e  02 b8 e0 71  2e 85 c9 a2  8c a8 96 66
`);

const crypto = nodeStunCrypto;

describe('RFC 5769 §2.1 sample request (short-term credentials)', () => {
  const m = decodeStun(SAMPLE_REQUEST);

  it('decodes the header and the attributes', () => {
    expect(m.method).toBe(StunMethod.Binding);
    expect(m.cls).toBe(StunClass.Request);
    expect(m.transactionId).toEqual(bytes('b7e7a701bc34d686fa87dfae'));
    expect(getAttribute(m, 'SOFTWARE')?.value).toBe('STUN test client');
    expect(getAttribute(m, 'USERNAME')?.value).toBe('evtj:h6vY');
    // PRIORITY (0x0024) and ICE-CONTROLLED (0x8029) are ICE attributes this codec does not know.
    expect(m.attributes.map((a) => (a.type === 'UNKNOWN' ? a.code : a.type))).toEqual([
      'SOFTWARE',
      0x0024,
      0x8029,
      'USERNAME',
      'MESSAGE-INTEGRITY',
      'FINGERPRINT',
    ]);
    expect(m.unknownRequired).toEqual([0x0024]);
    expect(m.integrityOffset).toBe(76);
    expect(m.fingerprintOffset).toBe(100);
    expect(getAttribute(m, 'FINGERPRINT')?.crc).toBe(0xe57a3bcf);
  });

  it('verifies MESSAGE-INTEGRITY with the short-term key, and not with another', () => {
    expect(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD), crypto, 'sha1')).toBe(true);
    expect(verifyIntegrity(m, shortTermKey('wrong'), crypto, 'sha1')).toBe(false);
    expect(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD), crypto, 'sha256')).toBe(false);
  });

  it('re-encodes to the same bytes', () => {
    const out = encodeStun(m, { integrity: { key: shortTermKey(SHORT_TERM_PASSWORD) }, fingerprint: true, crypto, padding: 0x20 });
    expect(out).toEqual(SAMPLE_REQUEST);
  });

  it('rejects the vector with any FINGERPRINT bit flipped', () => {
    for (let bit = 0; bit < 32; bit++) {
      const bad = SAMPLE_REQUEST.slice();
      bad[104 + (bit >> 3)]! ^= 1 << (bit & 7);
      expect(() => decodeStun(bad)).toThrowError(expect.objectContaining({ code: 'bad-fingerprint' }));
    }
  });
});

describe('RFC 5769 §2.2 sample IPv4 response', () => {
  const m = decodeStun(SAMPLE_IPV4_RESPONSE);

  it('decodes XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    expect(m.method).toBe(StunMethod.Binding);
    expect(m.cls).toBe(StunClass.SuccessResponse);
    expect(getAttribute(m, 'SOFTWARE')?.value).toBe('test vector');
    expect(getAttribute(m, 'XOR-MAPPED-ADDRESS')?.address).toEqual({ family: 'IPv4', address: '192.0.2.1', port: 32853 });
    expect(m.unknownRequired).toEqual([]);
  });

  it('verifies MESSAGE-INTEGRITY and FINGERPRINT and re-encodes to the same bytes', () => {
    const key = shortTermKey(SHORT_TERM_PASSWORD);
    expect(verifyIntegrity(m, key, crypto, 'sha1')).toBe(true);
    expect(encodeStun(m, { integrity: { key }, fingerprint: true, crypto, padding: 0x20 })).toEqual(SAMPLE_IPV4_RESPONSE);
  });
});

describe('RFC 5769 §2.3 sample IPv6 response', () => {
  const m = decodeStun(SAMPLE_IPV6_RESPONSE);

  it('decodes XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    expect(getAttribute(m, 'XOR-MAPPED-ADDRESS')?.address).toEqual({
      family: 'IPv6',
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
  });

  it('verifies MESSAGE-INTEGRITY and FINGERPRINT and re-encodes to the same bytes', () => {
    const key = shortTermKey(SHORT_TERM_PASSWORD);
    expect(verifyIntegrity(m, key, crypto, 'sha1')).toBe(true);
    expect(encodeStun(m, { integrity: { key }, fingerprint: true, crypto, padding: 0x20 })).toEqual(SAMPLE_IPV6_RESPONSE);
  });

  it('builds the same bytes from scratch', () => {
    const msg: StunMessage = {
      method: StunMethod.Binding,
      cls: StunClass.SuccessResponse,
      transactionId: bytes('b7e7a701bc34d686fa87dfae'),
      attributes: [
        { type: 'SOFTWARE', value: 'test vector' },
        { type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv6', address: '2001:DB8:1234:5678:0011:2233:4455:6677', port: 32853 } },
      ],
    };
    const key = shortTermKey(SHORT_TERM_PASSWORD);
    expect(encodeStun(msg, { integrity: { key }, fingerprint: true, crypto, padding: 0x20 })).toEqual(SAMPLE_IPV6_RESPONSE);
  });
});

describe('RFC 5769 §2.4 sample request with long-term authentication', () => {
  const m = decodeStun(SAMPLE_LONG_TERM_REQUEST);
  const username = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9'; // マトリックス
  const password = 'The\u00ADM\u00AAtr\u2168';

  it('decodes the UTF-8 katakana USERNAME, NONCE and REALM', () => {
    expect(m.transactionId).toEqual(bytes('78ad3433c6ad72c029da412e'));
    expect(getAttribute(m, 'USERNAME')?.value).toBe(username);
    expect(getAttribute(m, 'USERNAME')?.value).toBe('マトリックス');
    expect(getAttribute(m, 'NONCE')?.value).toBe('f//499k954d6OL34oL9FSTvy64sA');
    expect(getAttribute(m, 'REALM')?.value).toBe('example.org');
    expect(m.fingerprintOffset).toBeUndefined();
  });

  it('SASLprep turns the password into "TheMatrIX"', () => {
    expect(saslprep(password)).toBe('TheMatrIX');
    expect(saslprep(username)).toBe(username);
  });

  it('verifies MESSAGE-INTEGRITY with the MD5 long-term key', () => {
    const key = longTermKey(crypto, username, 'example.org', password, 'md5');
    const expected = crypto.md5(new TextEncoder().encode(`${username}:example.org:TheMatrIX`));
    expect(key).toEqual(expected);
    expect(verifyIntegrity(m, key, crypto, 'sha1')).toBe(true);
    expect(verifyIntegrity(m, longTermKey(crypto, username, 'example.org', 'TheMatrix'), crypto, 'sha1')).toBe(false);
  });

  it('re-encodes to the same bytes', () => {
    const key = longTermKey(crypto, username, 'example.org', password);
    expect(encodeStun(m, { integrity: { key }, crypto })).toEqual(SAMPLE_LONG_TERM_REQUEST);
  });

  it('has its attributes in the expected order', () => {
    expect(m.attributes.map((a) => a.type)).toEqual(['USERNAME', 'NONCE', 'REALM', 'MESSAGE-INTEGRITY']);
    expect(AttrType.MESSAGE_INTEGRITY).toBe(0x0008);
  });
});

// RFC 8489 Appendix B.1 (as corrected by the RFC 8489 errata): USERHASH, PASSWORD-ALGORITHM SHA-256
// and MESSAGE-INTEGRITY-SHA256 with the SHA-256 long-term key; same user, password and realm as
// RFC 5769 §2.4.
const RFC8489_B1_REQUEST = bytes(`
  00 01 00 90  21 12 a4 42  78 ad 34 33  c6 ad 72 c0  29 da 41 2e
  00 1e 00 20  4a 3c f3 8f  ef 69 92 bd  a9 52 c6 78  04 17 da 0f  24 81 94 15  56 9e 60 b2  05 c4 6e 41  40 7f 17 04
  00 15 00 29  6f 62 4d 61  74 4a 6f 73  32 41 41 41  43 66 2f 2f  34 39 39 6b  39 35 34 64  36 4f 4c 33  34 6f 4c 39
               46 53 54 76  79 36 34 73  41 00 00 00
  00 14 00 0b  65 78 61 6d  70 6c 65 2e  6f 72 67 00
  00 1d 00 04  00 02 00 00
  00 1c 00 20  b5 c7 bf 00  5b 6c 52 a2  1c 51 c5 e8  92 f8 19 24  13 62 96 cb  92 7c 43 14  93 09 27 8c  c6 51 8e 65
`);

describe('RFC 8489 Appendix B.1 sample request with SHA-256 long-term authentication', () => {
  const m = decodeStun(RFC8489_B1_REQUEST);
  const username = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9';

  it('decodes USERHASH, NONCE, REALM, PASSWORD-ALGORITHM', () => {
    expect(getAttribute(m, 'USERHASH')?.hash).toEqual(userHash(crypto, username, 'example.org'));
    expect(getAttribute(m, 'NONCE')?.value).toBe('obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA');
    expect(getAttribute(m, 'PASSWORD-ALGORITHM')).toEqual({ type: 'PASSWORD-ALGORITHM', algorithm: 2, params: new Uint8Array(0) });
    expect(m.integrityOffset).toBeUndefined();
    expect(m.integritySha256Offset).toBe(20 + 36 + 48 + 16 + 8);
  });

  it('verifies MESSAGE-INTEGRITY-SHA256 with the SHA-256 long-term key and re-encodes to the same bytes', () => {
    const key = longTermKey(crypto, username, 'example.org', 'The\u00ADM\u00AAtr\u2168', 'sha256');
    expect(verifyIntegrity(m, key, crypto, 'sha256')).toBe(true);
    expect(verifyIntegrity(m, key, crypto, 'sha1')).toBe(false);
    expect(verifyIntegrity(m, longTermKey(crypto, username, 'example.org', 'TheMatrIX', 'md5'), crypto, 'sha256')).toBe(false);
    expect(encodeStun(m, { integrity: { key, algorithm: 'sha256' }, crypto })).toEqual(RFC8489_B1_REQUEST);
  });
});
