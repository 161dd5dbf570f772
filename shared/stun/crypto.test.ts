import { describe, expect, it } from 'vitest';
import { nodeStunCrypto as crypto } from '../../io/stun-crypto.js';
import { constantTimeEqual, longTermKey, opaqueString, saslprep, shortTermKey, userHash } from './crypto.js';
import { StunError } from './errors.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('credentials', () => {
  it('saslprep maps and normalises (RFC 4013 §3 examples)', () => {
    expect(saslprep('I\u00ADX')).toBe('IX');
    expect(saslprep('user')).toBe('user');
    expect(saslprep('USER')).toBe('USER');
    expect(saslprep('\u00AA')).toBe('a');
    expect(saslprep('\u2168')).toBe('IX');
    expect(saslprep('a\u00A0b')).toBe('a b');
  });

  it('saslprep throws StunError("bad-attribute") on prohibited input', () => {
    for (const bad of ['\u0007', 'a\u0000b', '\u0627\u0031']) {
      try {
        saslprep(bad);
        throw new Error(`accepted ${JSON.stringify(bad)}`);
      } catch (err) {
        expect(err).toBeInstanceOf(StunError);
        expect((err as StunError).code).toBe('bad-attribute');
      }
    }
    // Unassigned code points (Unicode 3.2) only pass in the query profile.
    expect(() => saslprep('\u0221')).toThrow(StunError);
    expect(saslprep('\u0221', { allowUnassigned: true })).toBe('\u0221');
  });

  it('opaqueString maps non-ASCII spaces and applies NFC', () => {
    expect(opaqueString('a\u00A0b\u3000c')).toBe('a b c');
    expect(opaqueString('e\u0301')).toBe('\u00E9');
    expect(opaqueString('\u2168')).toBe('\u2168'); // no compatibility mapping (unlike SASLprep)
  });

  it('shortTermKey is the UTF-8 of OpaqueString(password)', () => {
    expect(shortTermKey('VOkJxbRl1RmTxUk/WvJxBt')).toEqual(utf8('VOkJxbRl1RmTxUk/WvJxBt'));
    expect(shortTermKey('pa\u00A0ss')).toEqual(utf8('pa ss'));
  });

  it('longTermKey: MD5 and SHA-256 of username:realm:password', () => {
    expect(longTermKey(crypto, 'user', 'realm', 'pass')).toEqual(crypto.md5(utf8('user:realm:pass')));
    expect(longTermKey(crypto, 'user', 'realm', 'pass', 'md5')).toEqual(crypto.md5(utf8('user:realm:pass')));
    expect(longTermKey(crypto, 'user', 'realm', 'pass', 'sha256')).toEqual(crypto.sha256(utf8('user:realm:pass')));
    expect(longTermKey(crypto, 'user', 'realm', 'The\u00ADM\u00AAtr\u2168')).toEqual(crypto.md5(utf8('user:realm:TheMatrIX')));
    expect(() => longTermKey(crypto, 'us\u0007er', 'realm', 'pass')).toThrow(StunError);
  });

  it('userHash is SHA-256(username ":" realm)', () => {
    expect(userHash(crypto, 'user', 'example.org')).toEqual(crypto.sha256(utf8('user:example.org')));
  });

  it('constantTimeEqual', () => {
    expect(constantTimeEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 2]))).toBe(true);
    expect(constantTimeEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 3]))).toBe(false);
    expect(constantTimeEqual(Uint8Array.from([1, 2]), Uint8Array.from([1]))).toBe(false);
  });
});
