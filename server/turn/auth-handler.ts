/**
 * What the TURN core asks about authentication (RFC 8656 §5: every request is authenticated with
 * the long-term credential mechanism): the verdict on a request, the attributes of a 401/438
 * challenge, and the per-source-IP budget for 401/400 answers. The core takes one of these instead
 * of building credentials, nonces and the limiter itself; `LimitedLongTermAuth` is the real one.
 */
import type { DecodedStunMessage, StunAttribute } from '../../shared/stun/message.js';
import type { AuthFailureLimiter } from '../auth-failure-limiter.js';
import type { AuthOutcome, LongTermAuth } from './auth.js';

export interface TurnAuthHandler {
  /** The verdict on a request from `clientIp` (RFC 8489 §9.2.4). */
  check(message: DecodedStunMessage, clientIp: string, now: number): AuthOutcome;
  /** REALM, a fresh NONCE and PASSWORD-ALGORITHMS for a 401 or 438. */
  challengeAttributes(clientIp: string, now: number): StunAttribute[];
  /** Whether `clientIp` used up its budget of refusals: its requests then get no answer. */
  isBlocked(clientIp: string, now: number): boolean;
  /** Counts one refusal (401/400) answered to `clientIp`. */
  recordFailure(clientIp: string, now: number): void;
}

/** The long-term credential check (auth.ts) with the refusal budget of an AuthFailureLimiter. */
export class LimitedLongTermAuth implements TurnAuthHandler {
  constructor(
    private readonly auth: LongTermAuth,
    private readonly limiter: AuthFailureLimiter,
  ) {}

  check(message: DecodedStunMessage, clientIp: string, now: number): AuthOutcome {
    return this.auth.check(message, clientIp, now);
  }

  challengeAttributes(clientIp: string, now: number): StunAttribute[] {
    return this.auth.challengeAttributes(clientIp, now);
  }

  isBlocked(clientIp: string, now: number): boolean {
    return this.limiter.isBlocked(clientIp, now);
  }

  recordFailure(clientIp: string, now: number): void {
    this.limiter.recordFailure(clientIp, now);
  }
}
