/**
 * The long-term credential mechanism on the server side: RFC 8489 §9.2.4 "Receiving a Request",
 * as a pure decision (time comes in as `now`). The caller turns the outcome into a response.
 *
 * Checks, in the RFC's order:
 * 1. Neither MESSAGE-INTEGRITY nor MESSAGE-INTEGRITY-SHA256 → 401 with REALM, NONCE and
 *    PASSWORD-ALGORITHMS ("challenge"; not an authentication failure: every client starts so).
 * 2. Integrity present but USERNAME/USERHASH, REALM or NONCE missing → 400, unsigned.
 * 3. The NONCE has the nonce cookie with the "Password algorithms" bit (§9.2.4 bid-down rules):
 *    neither PASSWORD-ALGORITHMS nor PASSWORD-ALGORITHM → MD5; otherwise both must be present,
 *    PASSWORD-ALGORITHMS must equal the list we sent, and PASSWORD-ALGORITHM must be one of it,
 *    else 400.
 * 4. Unknown username/userhash, or expired TURN REST credentials → 401.
 * 5. MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY, must verify → else 401.
 * 6. The NONCE must be one of ours, for this client IP, not stale → else 438 with a fresh NONCE
 *    (signed: the credentials were right).
 * Responses to an authenticated request are signed with the kind of integrity the request used
 * (§9.2.4: MESSAGE-INTEGRITY-SHA256 when the request had it, MESSAGE-INTEGRITY otherwise).
 */
import { PasswordAlgorithm } from '../../shared/stun/constants.js';
import type { StunCrypto } from '../../shared/stun/crypto.js';
import { getAttribute, verifyIntegrity, type DecodedStunMessage, type StunAttribute } from '../../shared/stun/message.js';
import type { CredentialStore, PasswordAlgorithmName, TurnUser } from './credentials.js';
import { nonceFeatures, type NonceIssuer } from './nonce.js';

/** The PASSWORD-ALGORITHMS we offer, in order of preference (RFC 8489 §14.11). */
export const OFFERED_ALGORITHMS: ReadonlyArray<{ algorithm: number; params: Uint8Array }> = [
  { algorithm: PasswordAlgorithm.SHA256, params: new Uint8Array(0) },
  { algorithm: PasswordAlgorithm.MD5, params: new Uint8Array(0) },
];

export type IntegrityKind = 'sha1' | 'sha256';

export type AuthOutcome =
  /** Authenticated: answer signed with `key` / `integrity`. */
  | { kind: 'ok'; user: TurnUser; key: Uint8Array; integrity: IntegrityKind }
  /** No integrity at all: 401 with REALM, NONCE, PASSWORD-ALGORITHMS. */
  | { kind: 'challenge' }
  /** 400, unsigned (missing attributes, bid-down). */
  | { kind: 'bad-request'; reason: string }
  /**
   * 401 with REALM, NONCE, PASSWORD-ALGORITHMS: unknown user, expired REST credentials, bad integrity.
   * Always with a valid nonce (one this server sent to this IP): a failure no one can fake for
   * another address, so it is what the failure limiter counts.
   */
  | { kind: 'unauthenticated'; reason: string }
  /**
   * TURN REST credentials past their expiry, but with the right integrity and a valid nonce: only a
   * release (Refresh with LIFETIME 0) of an allocation made with them is accepted (signed with `key`).
   */
  | { kind: 'expired'; user: TurnUser; key: Uint8Array; integrity: IntegrityKind }
  /**
   * 438 with a fresh NONCE, unsigned: the nonce is stale or not ours. Checked before the password,
   * so a made-up nonce tells nothing about a guessed password (no oracle outside the limiter).
   */
  | { kind: 'stale' };

export interface LongTermAuthOptions {
  realm: string;
  store: CredentialStore;
  nonces: NonceIssuer;
  crypto: StunCrypto;
}

export class LongTermAuth {
  readonly realm: string;
  private readonly store: CredentialStore;
  private readonly nonces: NonceIssuer;
  private readonly crypto: StunCrypto;

  constructor(options: LongTermAuthOptions) {
    this.realm = options.realm;
    this.store = options.store;
    this.nonces = options.nonces;
    this.crypto = options.crypto;
  }

  /** REALM, a fresh NONCE and PASSWORD-ALGORITHMS: what 401 and 438 answers carry (RFC 8489 §9.2.4). */
  challengeAttributes(clientIp: string, now: number): StunAttribute[] {
    return [
      { type: 'REALM', value: this.realm },
      { type: 'NONCE', value: this.nonces.issue(clientIp, now) },
      { type: 'PASSWORD-ALGORITHMS', algorithms: OFFERED_ALGORITHMS.map((a) => ({ algorithm: a.algorithm, params: a.params.slice() })) },
    ];
  }

  check(message: DecodedStunMessage, clientIp: string, now: number): AuthOutcome {
    const hasSha1 = message.integrityOffset !== undefined;
    const hasSha256 = message.integritySha256Offset !== undefined;
    // RFC 8489 §9.2.4: "If the message does not contain a MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256
    // attribute, the server MUST generate an error response with an error code of 401 (Unauthenticated)."
    if (!hasSha1 && !hasSha256) return { kind: 'challenge' };

    const username = getAttribute(message, 'USERNAME');
    const userhash = getAttribute(message, 'USERHASH');
    const realm = getAttribute(message, 'REALM');
    const nonce = getAttribute(message, 'NONCE');
    // RFC 8489 §9.2.4: integrity "but is missing either the USERNAME or USERHASH, REALM, or NONCE
    // attribute, the server MUST generate an error response with an error code of 400 (Bad Request)."
    if ((!username && !userhash) || !realm || !nonce) return { kind: 'bad-request', reason: 'Missing USERNAME, REALM or NONCE' };

    // RFC 8489 §9.2.4 bid-down protection, when the nonce cookie has the "Password algorithms" bit.
    let algorithm: PasswordAlgorithmName = 'md5';
    if (nonceFeatures(nonce.value)?.passwordAlgorithms) {
      const chosen = getAttribute(message, 'PASSWORD-ALGORITHM');
      const offered = getAttribute(message, 'PASSWORD-ALGORITHMS');
      if (chosen || offered) {
        // "unless (1) PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS are both present, (2)
        // PASSWORD-ALGORITHMS matches the value sent in the response that sent this NONCE, and (3)
        // PASSWORD-ALGORITHM matches one of the entries in PASSWORD-ALGORITHMS, the server MUST
        // generate an error response with an error code of 400 (Bad Request)."
        if (!chosen || !offered) return { kind: 'bad-request', reason: 'PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS go together' };
        if (!sameAlgorithms(offered.algorithms, OFFERED_ALGORITHMS)) return { kind: 'bad-request', reason: 'PASSWORD-ALGORITHMS was altered' };
        if (!offered.algorithms.some((a) => a.algorithm === chosen.algorithm && sameBytes(a.params, chosen.params))) {
          return { kind: 'bad-request', reason: 'PASSWORD-ALGORITHM is not one of PASSWORD-ALGORITHMS' };
        }
        algorithm = chosen.algorithm === PasswordAlgorithm.SHA256 ? 'sha256' : 'md5';
      }
    }

    // RFC 8489 §9.2.4: "If the NONCE is no longer valid, the server MUST generate an error response
    // with an error code of 438 (Stale Nonce). This response MUST include NONCE, REALM, and
    // PASSWORD-ALGORITHMS attributes [...] The response MAY include a MESSAGE-INTEGRITY or
    // MESSAGE-INTEGRITY-SHA256 attribute, using the previous key to calculate it." We check the nonce
    // before the password and answer unsigned, so a made-up nonce is no password oracle.
    if (this.nonces.check(nonce.value, clientIp, now) !== 'valid') return { kind: 'stale' };

    // RFC 8489 §9.2.4: "If the value of the USERNAME or USERHASH attribute is not valid, the server
    // MUST generate an error response with an error code of 401 (Unauthenticated)."
    const found = username ? this.store.lookup(username.value, now) : this.store.lookupHash(userhash!.hash, now);
    if (found.kind === 'unknown') return { kind: 'unauthenticated', reason: 'unknown user' };
    const user = found.user;

    let key: Uint8Array;
    try {
      key = this.store.key(user, algorithm);
    } catch {
      return { kind: 'unauthenticated', reason: 'credentials cannot be prepared' };
    }
    // RFC 8489 §9.2.4: "If the MESSAGE-INTEGRITY-SHA256 attribute is present, compute the value for
    // the message integrity as described in Section 14.6 [...] Otherwise, [...] MESSAGE-INTEGRITY
    // [...] If the resulting value does not match [...] the server MUST reject the request with an
    // error response. This response MUST use an error code of 401 (Unauthenticated)."
    const integrity: IntegrityKind = hasSha256 ? 'sha256' : 'sha1';
    if (!verifyIntegrity(message, key, this.crypto, integrity)) return { kind: 'unauthenticated', reason: 'bad MESSAGE-INTEGRITY' };
    if (found.kind === 'expired') return { kind: 'expired', user, key, integrity };
    return { kind: 'ok', user, key, integrity };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameAlgorithms(
  a: ReadonlyArray<{ algorithm: number; params: Uint8Array }>,
  b: ReadonlyArray<{ algorithm: number; params: Uint8Array }>,
): boolean {
  return a.length === b.length && a.every((x, i) => x.algorithm === b[i]!.algorithm && sameBytes(x.params, b[i]!.params));
}
