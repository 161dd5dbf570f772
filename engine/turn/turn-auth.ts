/**
 * The long-term credential mechanism on the client side (RFC 8489 §9.2, as TURN uses it: RFC 8656
 * §7.1). Pure: crypto is injected, no I/O, no clock.
 *
 * The first request goes out without credentials; the server answers 401 with REALM and NONCE (and,
 * from an RFC 8489 server, PASSWORD-ALGORITHMS). From then on every request carries USERNAME, REALM,
 * NONCE and MESSAGE-INTEGRITY (MESSAGE-INTEGRITY-SHA256 with a server that offered
 * PASSWORD-ALGORITHMS). SHA-256 is preferred when offered, MD5 otherwise (RFC 8489 §9.2.4: the client
 * echoes PASSWORD-ALGORITHMS as received and names its choice in PASSWORD-ALGORITHM). 438 (Stale Nonce)
 * brings a new NONCE: retry with it. A 401 to a request that carried credentials means they are wrong.
 */
import { PasswordAlgorithm } from '../../shared/stun/constants.js';
import { longTermKey, type StunCrypto } from '../../shared/stun/crypto.js';
import {
  encodeStun,
  getAttribute,
  verifyIntegrity,
  type DecodedStunMessage,
  type StunAttribute,
  type StunMessage,
} from '../../shared/stun/message.js';

export type ChallengeVerdict = { retry: true } | { retry: false; reason: string };

interface Algorithm {
  algorithm: number;
  params: Uint8Array;
}

export class LongTermCredentials {
  realm: string | undefined;
  nonce: string | undefined;
  /** The password algorithm in use ('md5' until a server offers SHA-256). */
  passwordAlgorithm: 'md5' | 'sha256' = 'md5';
  /** The integrity attribute requests carry. */
  integrity: 'sha1' | 'sha256' = 'sha1';
  private offered: Algorithm[] | undefined;
  private chosen: Algorithm | undefined;
  private keyCache: { realm: string; algorithm: 'md5' | 'sha256'; key: Uint8Array } | undefined;

  constructor(
    readonly username: string,
    private readonly password: string,
    private readonly crypto: StunCrypto,
  ) {}

  /** True once a challenge gave us REALM and NONCE: requests can be signed. */
  get ready(): boolean {
    return this.realm !== undefined && this.nonce !== undefined;
  }

  /** The long-term key for the current realm and password algorithm. */
  get key(): Uint8Array {
    if (this.realm === undefined) throw new Error('no REALM yet');
    const c = this.keyCache;
    if (c && c.realm === this.realm && c.algorithm === this.passwordAlgorithm) return c.key;
    const key = longTermKey(this.crypto, this.username, this.realm, this.password, this.passwordAlgorithm);
    this.keyCache = { realm: this.realm, algorithm: this.passwordAlgorithm, key };
    return key;
  }

  /** The credential attributes a signed request carries (before the integrity attribute). */
  attributes(): StunAttribute[] {
    if (!this.ready) return [];
    const attrs: StunAttribute[] = [
      { type: 'USERNAME', value: this.username },
      { type: 'REALM', value: this.realm! },
      { type: 'NONCE', value: this.nonce! },
    ];
    if (this.offered && this.chosen) {
      attrs.push({ type: 'PASSWORD-ALGORITHMS', algorithms: this.offered.map((a) => ({ algorithm: a.algorithm, params: a.params.slice() })) });
      attrs.push({ type: 'PASSWORD-ALGORITHM', algorithm: this.chosen.algorithm, params: this.chosen.params.slice() });
    }
    return attrs;
  }

  /** Encodes `message` with the credential attributes and integrity when ready, bare otherwise. */
  encode(message: StunMessage, fingerprint = false): Uint8Array {
    if (!this.ready) return encodeStun(message, { fingerprint });
    return encodeStun(
      { ...message, attributes: [...message.attributes, ...this.attributes()] },
      { integrity: { key: this.key, algorithm: this.integrity }, crypto: this.crypto, fingerprint },
    );
  }

  /**
   * A 401 or 438 arrived for a request. Takes REALM, NONCE and PASSWORD-ALGORITHMS from it and says
   * whether to send the request again. `requestWasSigned`: the request carried credentials.
   */
  challenge(response: DecodedStunMessage, requestWasSigned: boolean): ChallengeVerdict {
    const code = getAttribute(response, 'ERROR-CODE')?.code;
    const realm = getAttribute(response, 'REALM')?.value;
    const nonce = getAttribute(response, 'NONCE')?.value;
    if (code === 438) {
      // RFC 8489 §9.2.5: "If the response is an error response with an error code of 438 (Stale
      // Nonce), the client MUST retry the request, using the new NONCE attribute supplied in the
      // 438 (Stale Nonce) response."
      if (nonce === undefined) return { retry: false, reason: '438 Stale Nonce without a NONCE' };
      this.nonce = nonce;
      if (realm !== undefined) this.realm = realm;
      this.takeAlgorithms(response);
      return { retry: true };
    }
    if (code === 401) {
      if (realm === undefined || nonce === undefined) return { retry: false, reason: '401 Unauthenticated without REALM and NONCE' };
      // RFC 8489 §9.2.5: a 401 to a request that carried credentials means they were refused
      // (unless the realm changed, which asks for new ones).
      if (requestWasSigned && realm === this.realm) {
        const reason = getAttribute(response, 'ERROR-CODE')?.reason;
        return { retry: false, reason: `401 Unauthenticated: wrong username or password${reason ? ` (${reason})` : ''}` };
      }
      this.realm = realm;
      this.nonce = nonce;
      this.takeAlgorithms(response);
      return { retry: true };
    }
    return { retry: false, reason: `error ${String(code)} is not a challenge` };
  }

  private takeAlgorithms(response: DecodedStunMessage): void {
    const offered = getAttribute(response, 'PASSWORD-ALGORITHMS')?.algorithms;
    if (!offered || offered.length === 0) {
      if (!this.offered) {
        this.passwordAlgorithm = 'md5';
        this.integrity = 'sha1';
      }
      return;
    }
    const sha256 = offered.find((a) => a.algorithm === PasswordAlgorithm.SHA256);
    const md5 = offered.find((a) => a.algorithm === PasswordAlgorithm.MD5);
    const pick = sha256 ?? md5;
    if (!pick) {
      // nothing we know: stay with MD5 and do not echo a list we cannot honour
      this.offered = undefined;
      this.chosen = undefined;
      this.passwordAlgorithm = 'md5';
      this.integrity = 'sha1';
      return;
    }
    this.offered = offered.map((a) => ({ algorithm: a.algorithm, params: a.params.slice() }));
    this.chosen = { algorithm: pick.algorithm, params: pick.params.slice() };
    this.passwordAlgorithm = pick === sha256 ? 'sha256' : 'md5';
    // an RFC 8489 server (it sent PASSWORD-ALGORITHMS) knows MESSAGE-INTEGRITY-SHA256
    this.integrity = 'sha256';
  }

  /**
   * Checks the integrity of a response to a signed request: MESSAGE-INTEGRITY-SHA256 if present,
   * else MESSAGE-INTEGRITY. 'absent' when the response carries neither.
   */
  verify(response: DecodedStunMessage): 'ok' | 'bad' | 'absent' {
    if (!this.ready) return 'absent';
    if (response.integritySha256Offset !== undefined) return verifyIntegrity(response, this.key, this.crypto, 'sha256') ? 'ok' : 'bad';
    if (response.integrityOffset !== undefined) return verifyIntegrity(response, this.key, this.crypto, 'sha1') ? 'ok' : 'bad';
    return 'absent';
  }
}
