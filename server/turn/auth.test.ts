import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { StunMethod } from '../../shared/stun/constants.js';
import { userHash } from '../../shared/stun/crypto.js';
import { LongTermAuth } from './auth.js';
import { CredentialStore } from './credentials.js';
import { NonceIssuer } from './nonce.js';
import { build, type Credentials } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const IP = '192.0.2.10';
const ALICE: Credentials = { username: 'alice', password: 'pw', realm: 'burrow' };
const SECRET = 'rest-secret';

function setup() {
  const store = new CredentialStore({ realm: 'burrow', users: { alice: 'pw' }, restSecret: SECRET, crypto: nodeStunCrypto });
  const nonces = new NonceIssuer();
  const auth = new LongTermAuth({ realm: 'burrow', store, nonces, crypto: nodeStunCrypto });
  return { store, nonces, auth, nonce: nonces.issue(IP, T0) };
}

const allocate = [{ type: 'REQUESTED-TRANSPORT' as const, protocol: 17 }];

describe('CredentialStore', () => {
  it('resolves static users, then TURN REST usernames, refusing expired ones', () => {
    const { store } = setup();
    expect(store.lookup('alice', T0)).toEqual({ kind: 'ok', user: { username: 'alice', password: 'pw', quotaKey: 'alice' } });
    expect(store.lookup('mallory', T0)).toEqual({ kind: 'unknown' });
    const username = `${T0 / 1000 + 10}:carol`;
    const found = store.lookup(username, T0);
    expect(found).toMatchObject({ kind: 'ok', user: { username, quotaKey: 'carol', password: createHmac('sha1', SECRET).update(username).digest('base64') } });
    expect(store.lookup(`${T0 / 1000 + 10}`, T0)).toMatchObject({ kind: 'ok' });
    expect(store.lookup(username, T0 + 10_000)).toMatchObject({ kind: 'expired', user: { username, quotaKey: 'carol' } });
    expect(new CredentialStore({ realm: 'burrow', users: {}, crypto: nodeStunCrypto }).lookup(username, T0)).toEqual({ kind: 'unknown' });
  });

  it('finds a static user by USERHASH (RFC 8489 §14.4)', () => {
    const { store } = setup();
    expect(store.lookupHash(userHash(nodeStunCrypto, 'alice', 'burrow'), T0)).toMatchObject({ kind: 'ok', user: { username: 'alice' } });
    expect(store.lookupHash(userHash(nodeStunCrypto, 'alice', 'other'), T0)).toEqual({ kind: 'unknown' });
  });
});

describe('LongTermAuth (RFC 8489 §9.2.4)', () => {
  it('challenges a request without integrity', () => {
    const { auth } = setup();
    expect(auth.check(build(StunMethod.Allocate, allocate), IP, T0)).toEqual({ kind: 'challenge' });
  });

  it('accepts MD5 keys with MESSAGE-INTEGRITY and SHA-256 keys with MESSAGE-INTEGRITY-SHA256', () => {
    const { auth, nonce } = setup();
    expect(auth.check(build(StunMethod.Allocate, allocate, { auth: { credentials: ALICE, nonce } }), IP, T0)).toMatchObject({ kind: 'ok', integrity: 'sha1' });
    const sha = build(StunMethod.Allocate, allocate, { auth: { credentials: ALICE, nonce, integrity: 'sha256', passwordAlgorithm: 'sha256' } });
    expect(auth.check(sha, IP, T0)).toMatchObject({ kind: 'ok', integrity: 'sha256' });
    const both = build(StunMethod.Allocate, allocate, { auth: { credentials: ALICE, nonce, integrity: 'both' } });
    expect(auth.check(both, IP, T0)).toMatchObject({ kind: 'ok', integrity: 'sha256' });
    expect(auth.check(build(StunMethod.Allocate, allocate, { auth: { credentials: ALICE, nonce, useUserhash: true } }), IP, T0)).toMatchObject({
      kind: 'ok',
      user: { username: 'alice' },
    });
  });

  it('refuses bid-downs with 400', () => {
    const { auth, nonce } = setup();
    const altered = build(StunMethod.Allocate, allocate, {
      auth: { credentials: ALICE, nonce, passwordAlgorithm: 'md5', passwordAlgorithms: [{ algorithm: 1, params: new Uint8Array(0) }] },
    });
    expect(auth.check(altered, IP, T0)).toMatchObject({ kind: 'bad-request' });
    const reordered = build(StunMethod.Allocate, allocate, {
      auth: {
        credentials: ALICE,
        nonce,
        passwordAlgorithm: 'md5',
        passwordAlgorithms: [
          { algorithm: 1, params: new Uint8Array(0) },
          { algorithm: 2, params: new Uint8Array(0) },
        ],
      },
    });
    expect(auth.check(reordered, IP, T0)).toMatchObject({ kind: 'bad-request' });
    const notListed = build(StunMethod.Allocate, allocate, {
      auth: { credentials: ALICE, nonce, passwordAlgorithm: 'sha256', passwordAlgorithms: [{ algorithm: 2, params: new Uint8Array(1) }, { algorithm: 1, params: new Uint8Array(0) }] },
    });
    expect(auth.check(notListed, IP, T0)).toMatchObject({ kind: 'bad-request' });
    // PASSWORD-ALGORITHMS alone (no PASSWORD-ALGORITHM): 400 as well.
    const alone = build(
      StunMethod.Allocate,
      [...allocate, { type: 'PASSWORD-ALGORITHMS', algorithms: [{ algorithm: 2, params: new Uint8Array(0) }, { algorithm: 1, params: new Uint8Array(0) }] }],
      { auth: { credentials: ALICE, nonce } },
    );
    expect(auth.check(alone, IP, T0)).toMatchObject({ kind: 'bad-request' });
  });

  it('refuses unknown users and bad integrity with 401; expired REST credentials with the right key are told apart (release only)', () => {
    const { auth, nonce } = setup();
    expect(auth.check(build(StunMethod.Allocate, allocate, { auth: { credentials: { ...ALICE, username: 'eve' }, nonce } }), IP, T0)).toMatchObject({ kind: 'unauthenticated' });
    expect(auth.check(build(StunMethod.Allocate, allocate, { auth: { credentials: ALICE, nonce, wrongPassword: 'x' } }), IP, T0)).toMatchObject({ kind: 'unauthenticated' });
    const username = `${T0 / 1000 - 1}:carol`;
    const password = createHmac('sha1', SECRET).update(username).digest('base64');
    expect(auth.check(build(StunMethod.Allocate, allocate, { auth: { credentials: { username, password, realm: 'burrow' }, nonce } }), IP, T0)).toMatchObject({
      kind: 'expired',
      user: { username },
    });
    expect(auth.check(build(StunMethod.Allocate, allocate, { auth: { credentials: { username, password: 'guess', realm: 'burrow' }, nonce } }), IP, T0)).toMatchObject({
      kind: 'unauthenticated',
    });
  });

  it('answers 438 for stale, foreign or other-IP nonces whatever the password, so a made-up nonce is no password oracle', () => {
    const { auth, nonce } = setup();
    expect(auth.check(build(StunMethod.Refresh, [], { auth: { credentials: ALICE, nonce } }), IP, T0 + 600_000)).toMatchObject({ kind: 'stale' });
    expect(auth.check(build(StunMethod.Refresh, [], { auth: { credentials: ALICE, nonce } }), '192.0.2.11', T0)).toMatchObject({ kind: 'stale' });
    expect(auth.check(build(StunMethod.Refresh, [], { auth: { credentials: ALICE, nonce: 'made-up' } }), IP, T0)).toMatchObject({ kind: 'stale' });
    expect(auth.check(build(StunMethod.Refresh, [], { auth: { credentials: ALICE, nonce: 'made-up', wrongPassword: 'x' } }), IP, T0)).toEqual({ kind: 'stale' });
    expect(auth.check(build(StunMethod.Refresh, [], { auth: { credentials: ALICE, nonce, wrongPassword: 'x' } }), '192.0.2.11', T0)).toEqual({ kind: 'stale' });
  });

  it('challenge attributes carry REALM, NONCE and PASSWORD-ALGORITHMS (SHA-256 first)', () => {
    const { auth } = setup();
    const attrs = auth.challengeAttributes(IP, T0);
    expect(attrs.map((a) => a.type)).toEqual(['REALM', 'NONCE', 'PASSWORD-ALGORITHMS']);
  });
});
