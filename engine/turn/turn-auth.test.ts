import { describe, expect, it } from 'vitest';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { PasswordAlgorithm, StunClass, StunMethod } from '../../shared/stun/constants.js';
import { longTermKey } from '../../shared/stun/crypto.js';
import { decodeStun, encodeStun, getAttribute, verifyIntegrity, type StunAttribute } from '../../shared/stun/message.js';
import { LongTermCredentials } from './turn-auth.js';
import { allocateRequest } from './turn-messages.js';

const TXID = new Uint8Array(12).fill(1);

function errorResponse(code: number, attrs: StunAttribute[]) {
  return decodeStun(
    encodeStun({
      method: StunMethod.Allocate,
      cls: StunClass.ErrorResponse,
      transactionId: TXID,
      attributes: [{ type: 'ERROR-CODE', code, reason: code === 401 ? 'Unauthorized' : 'Stale Nonce' }, ...attrs],
    }),
  );
}

const REALM = { type: 'REALM', value: 'burrow.test' } as const;
const NONCE = (v = 'n1') => ({ type: 'NONCE', value: v }) as const;
const ALGS = (...algorithms: number[]): StunAttribute => ({
  type: 'PASSWORD-ALGORITHMS',
  algorithms: algorithms.map((algorithm) => ({ algorithm, params: new Uint8Array(0) })),
});

describe('LongTermCredentials', () => {
  it('sends the first request bare', () => {
    const c = new LongTermCredentials('alice', 'secret', nodeStunCrypto);
    expect(c.ready).toBe(false);
    const m = decodeStun(c.encode(allocateRequest(TXID)));
    expect(getAttribute(m, 'USERNAME')).toBeUndefined();
    expect(m.integrityOffset).toBeUndefined();
  });

  it('after a 401 without PASSWORD-ALGORITHMS: MD5 key, MESSAGE-INTEGRITY (RFC 5389/5766 servers)', () => {
    const c = new LongTermCredentials('alice', 'secret', nodeStunCrypto);
    expect(c.challenge(errorResponse(401, [REALM, NONCE()]), false)).toEqual({ retry: true });
    const m = decodeStun(c.encode(allocateRequest(TXID), true));
    expect(getAttribute(m, 'USERNAME')?.value).toBe('alice');
    expect(getAttribute(m, 'REALM')?.value).toBe('burrow.test');
    expect(getAttribute(m, 'NONCE')?.value).toBe('n1');
    expect(getAttribute(m, 'PASSWORD-ALGORITHM')).toBeUndefined();
    expect(m.integritySha256Offset).toBeUndefined();
    const key = longTermKey(nodeStunCrypto, 'alice', 'burrow.test', 'secret', 'md5');
    expect(verifyIntegrity(m, key, nodeStunCrypto, 'sha1')).toBe(true);
    expect(m.fingerprintOffset).toBeDefined();
  });

  it('prefers SHA-256 when offered, echoes PASSWORD-ALGORITHMS and signs with MESSAGE-INTEGRITY-SHA256', () => {
    const c = new LongTermCredentials('alice', 'secret', nodeStunCrypto);
    c.challenge(errorResponse(401, [REALM, NONCE(), ALGS(PasswordAlgorithm.MD5, PasswordAlgorithm.SHA256)]), false);
    expect(c.passwordAlgorithm).toBe('sha256');
    const m = decodeStun(c.encode(allocateRequest(TXID)));
    expect(getAttribute(m, 'PASSWORD-ALGORITHM')?.algorithm).toBe(PasswordAlgorithm.SHA256);
    expect(getAttribute(m, 'PASSWORD-ALGORITHMS')?.algorithms.map((a) => a.algorithm)).toEqual([PasswordAlgorithm.MD5, PasswordAlgorithm.SHA256]);
    const key = longTermKey(nodeStunCrypto, 'alice', 'burrow.test', 'secret', 'sha256');
    expect(verifyIntegrity(m, key, nodeStunCrypto, 'sha256')).toBe(true);
  });

  it('uses MD5 when that is all that is offered', () => {
    const c = new LongTermCredentials('alice', 'secret', nodeStunCrypto);
    c.challenge(errorResponse(401, [REALM, NONCE(), ALGS(PasswordAlgorithm.MD5)]), false);
    expect(c.passwordAlgorithm).toBe('md5');
    const m = decodeStun(c.encode(allocateRequest(TXID)));
    expect(getAttribute(m, 'PASSWORD-ALGORITHM')?.algorithm).toBe(PasswordAlgorithm.MD5);
    const key = longTermKey(nodeStunCrypto, 'alice', 'burrow.test', 'secret', 'md5');
    expect(verifyIntegrity(m, key, nodeStunCrypto, 'sha256')).toBe(true);
  });

  it('438 Stale Nonce: retry with the new NONCE', () => {
    const c = new LongTermCredentials('alice', 'secret', nodeStunCrypto);
    c.challenge(errorResponse(401, [REALM, NONCE('old')]), false);
    expect(c.challenge(errorResponse(438, [REALM, NONCE('new')]), true)).toEqual({ retry: true });
    expect(getAttribute(decodeStun(c.encode(allocateRequest(TXID))), 'NONCE')?.value).toBe('new');
    expect(c.challenge(errorResponse(438, [REALM]), true).retry).toBe(false);
  });

  it('a 401 to a signed request means wrong credentials', () => {
    const c = new LongTermCredentials('alice', 'wrong', nodeStunCrypto);
    c.challenge(errorResponse(401, [REALM, NONCE()]), false);
    const v = c.challenge(errorResponse(401, [REALM, NONCE('n2')]), true);
    expect(v.retry).toBe(false);
    expect(v.retry === false && v.reason).toMatch(/wrong username or password/);
    // a 401 without REALM/NONCE cannot be answered
    expect(new LongTermCredentials('a', 'b', nodeStunCrypto).challenge(errorResponse(401, []), false).retry).toBe(false);
  });

  it('verifies responses: ok, bad, absent', () => {
    const c = new LongTermCredentials('alice', 'secret', nodeStunCrypto);
    c.challenge(errorResponse(401, [REALM, NONCE()]), false);
    const key = longTermKey(nodeStunCrypto, 'alice', 'burrow.test', 'secret', 'md5');
    const msg = { method: StunMethod.Allocate, cls: StunClass.SuccessResponse, transactionId: TXID, attributes: [] };
    expect(c.verify(decodeStun(encodeStun(msg, { integrity: { key }, crypto: nodeStunCrypto })))).toBe('ok');
    expect(c.verify(decodeStun(encodeStun(msg, { integrity: { key: new Uint8Array(16) }, crypto: nodeStunCrypto })))).toBe('bad');
    expect(c.verify(decodeStun(encodeStun(msg)))).toBe('absent');
    expect(c.verify(decodeStun(encodeStun(msg, { integrity: { key, algorithm: 'sha256' }, crypto: nodeStunCrypto })))).toBe('ok');
  });
});
