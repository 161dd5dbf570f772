import { describe, expect, it } from 'vitest';
import { NONCE_COOKIE, NonceIssuer, nonceFeatures } from './nonce.js';

const T0 = 1_700_000_000_000;

describe('NonceIssuer', () => {
  it('issues nonces with the RFC 8489 §9.2 nonce cookie announcing both security features', () => {
    const nonce = new NonceIssuer().issue('203.0.113.5', T0);
    expect(nonce.startsWith(`${NONCE_COOKIE}wAAD`)).toBe(true);
    expect(nonce.length).toBeLessThan(128); // RFC 8489 §14.10: fewer than 128 characters
    expect(/^[\x21-\x7e]+$/.test(nonce)).toBe(true); // qdtext, no quotes or spaces
    expect(nonceFeatures(nonce)).toEqual({ passwordAlgorithms: true, usernameAnonymity: true });
  });

  it('reads the feature bits in either bit order and nothing from other nonces', () => {
    expect(nonceFeatures('obMatJos2AAAB')).toEqual({ passwordAlgorithms: true, usernameAnonymity: false });
    expect(nonceFeatures('obMatJos2gAAA')).toEqual({ passwordAlgorithms: true, usernameAnonymity: false });
    expect(nonceFeatures('obMatJos2AAACxyz')).toEqual({ passwordAlgorithms: false, usernameAnonymity: true });
    expect(nonceFeatures('f00dcafe')).toBeUndefined();
    expect(nonceFeatures('obMatJos2')).toBeUndefined();
  });

  it('is valid for its lifetime, then stale (438)', () => {
    const issuer = new NonceIssuer({ lifetimeMs: 600_000 });
    const nonce = issuer.issue('203.0.113.5', T0);
    expect(issuer.check(nonce, '203.0.113.5', T0)).toBe('valid');
    expect(issuer.check(nonce, '203.0.113.5', T0 + 599_999)).toBe('valid');
    expect(issuer.check(nonce, '203.0.113.5', T0 + 600_000)).toBe('stale');
  });

  it('binds the nonce to the client IP and to its secret', () => {
    const issuer = new NonceIssuer();
    const nonce = issuer.issue('203.0.113.5', T0);
    expect(issuer.check(nonce, '203.0.113.6', T0)).toBe('invalid');
    expect(new NonceIssuer().check(nonce, '203.0.113.5', T0)).toBe('invalid');
    const tampered = nonce.slice(0, 13) + (nonce[13] === '1' ? '2' : '1') + nonce.slice(14);
    expect(issuer.check(tampered, '203.0.113.5', T0)).toBe('invalid');
    expect(issuer.check('garbage', '203.0.113.5', T0)).toBe('invalid');
    // Issued "in the future": forged or a clock jump.
    expect(issuer.check(issuer.issue('203.0.113.5', T0 + 60_000), '203.0.113.5', T0)).toBe('invalid');
  });

  it('is stateless: the same secret validates across instances', () => {
    const secret = new Uint8Array(32).fill(7);
    const nonce = new NonceIssuer({ secret }).issue('2001:db8::1', T0);
    expect(new NonceIssuer({ secret }).check(nonce, '2001:db8::1', T0 + 1000)).toBe('valid');
  });
});
