/**
 * How the TURN core answers: error reasons, unsigned refusals (401/400 before authentication),
 * signed answers (after it: SOFTWARE, integrity of the request's kind, FINGERPRINT), the response
 * cache that replays them to retransmissions over UDP, and random transaction ids for the
 * indications the server originates (Data, ConnectionAttempt).
 */
import { randomBytes } from 'node:crypto';
import { StunClass } from '../../shared/stun/constants.js';
import type { StunCrypto } from '../../shared/stun/crypto.js';
import { encodeStun, responseTo, type DecodedStunMessage, type StunAttribute } from '../../shared/stun/message.js';
import type { ClientTransport } from '../stun/client-transport.js';
import type { IntegrityKind } from './auth.js';
import type { TurnUser } from './credentials.js';
import { ResponseCache } from './response-cache.js';

export const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  446: 'Connection Already Exists',
  447: 'Connection Timeout or Failure',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** What an authenticated request is answered with. */
export interface Authed {
  readonly user: TurnUser;
  readonly key: Uint8Array;
  readonly integrity: IntegrityKind;
}

export interface TurnResponderOptions {
  /** SOFTWARE attribute of every response (cut to 64 characters). */
  software: string;
  crypto: StunCrypto;
  now: () => number;
  cache?: ResponseCache;
}

export class TurnResponder {
  private readonly software: string;
  private readonly crypto: StunCrypto;
  private readonly now: () => number;
  private readonly cache: ResponseCache;
  private txPool = new Uint8Array(0);
  private txPoolOffset = 0;

  constructor(options: TurnResponderOptions) {
    this.software = options.software.slice(0, 64);
    this.crypto = options.crypto;
    this.now = options.now;
    this.cache = options.cache ?? new ResponseCache();
  }

  /**
   * Replays the answer already given to this byte-identical request from this UDP 5-tuple
   * (RFC 8489 §6.3.1, RFC 8656 §7.2); true when it did.
   */
  replay(message: DecodedStunMessage, client: ClientTransport, now: number): boolean {
    if (client.protocol !== 'udp') return false;
    const cached = this.cache.get(client.key, message.transactionId, message.raw, now);
    if (!cached) return false;
    client.send(cached);
    return true;
  }

  /** An error response without integrity (before authentication): ERROR-CODE, `extra`, SOFTWARE. */
  unsigned(message: DecodedStunMessage, client: ClientTransport, code: number, reason?: string, extra: StunAttribute[] = []): void {
    const attributes: StunAttribute[] = [{ type: 'ERROR-CODE', code, reason: reason ?? REASONS[code] ?? 'Error' }, ...extra, { type: 'SOFTWARE', value: this.software }];
    client.send(encodeStun(responseTo(message, StunClass.ErrorResponse, attributes), { fingerprint: true }));
  }

  error(message: DecodedStunMessage, client: ClientTransport, code: number, authed: Authed, reason?: string, extra: StunAttribute[] = []): void {
    this.signed(message, client, StunClass.ErrorResponse, authed, [{ type: 'ERROR-CODE', code, reason: (reason ?? REASONS[code] ?? 'Error').slice(0, 127) }, ...extra]);
  }

  success(message: DecodedStunMessage, client: ClientTransport, authed: Authed, attributes: StunAttribute[]): void {
    this.signed(message, client, StunClass.SuccessResponse, authed, attributes);
  }

  /** Responses after authentication carry SOFTWARE, integrity of the request's kind, and FINGERPRINT. */
  private signed(message: DecodedStunMessage, client: ClientTransport, cls: StunClass, authed: Authed, attributes: StunAttribute[]): void {
    const bytes = encodeStun(responseTo(message, cls, [...attributes, { type: 'SOFTWARE', value: this.software }]), {
      integrity: { key: authed.key, algorithm: authed.integrity },
      fingerprint: true,
      crypto: this.crypto,
    });
    if (client.protocol === 'udp') this.cache.put(client.key, message.transactionId, message.raw, bytes, this.now());
    client.send(bytes);
  }

  /** An indication the server originates (RFC 8656 §10.3 Data, RFC 6062 §5.3 ConnectionAttempt), with FINGERPRINT. */
  indication(method: number, attributes: StunAttribute[]): Uint8Array {
    return encodeStun({ method, cls: StunClass.Indication, transactionId: this.transactionId(), attributes }, { fingerprint: true });
  }

  /** A cryptographically random transaction id (RFC 8489 §6), from a pooled buffer. */
  private transactionId(): Uint8Array {
    if (this.txPoolOffset + 12 > this.txPool.length) {
      this.txPool = new Uint8Array(randomBytes(12 * 256));
      this.txPoolOffset = 0;
    }
    const id = this.txPool.slice(this.txPoolOffset, this.txPoolOffset + 12);
    this.txPoolOffset += 12;
    return id;
  }
}
