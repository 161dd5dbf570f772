/**
 * Stateless NONCEs for the long-term credential mechanism (RFC 8489 §9.2). Pure apart from the
 * HMAC: time comes in as `now` (ms), and nothing is stored per client before it authenticates,
 * so a flood of unauthenticated requests costs no memory.
 *
 *   NONCE = "obMatJos2" | base64(24-bit security features) | issued (12 hex digits, ms)
 *         | base64url(HMAC-SHA256(secret, features | issued | client IP))[0..16 bytes]
 *
 * RFC 8489 §9.2: the nonce starts with the "nonce cookie" — "obMatJos2" followed by the 4-character
 * base64 of the 24-bit STUN Security Feature set — so the features the server offered are
 * tamper-evident (bid-down protection, §9.2.1). We set "Password algorithms" and "Username
 * anonymity". RFC 8489 §18.1 numbers bits from the most significant side, but its verified
 * erratum (and libjuice, and the RFC's own test vector in Appendix B.1) number them from the least
 * significant side; we set both spellings (0xC00003 → "wAAD") so a client reading either finds
 * both features; the bits left over are unassigned in either reading and ignored by clients.
 *
 * The tag binds the nonce to the client's IP address; a nonce older than `lifetimeMs` is stale
 * (438, RFC 8489 §9.2.4), as is one whose tag does not verify (so the client simply retries with
 * the fresh nonce in the 438 answer).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_COOKIE = 'obMatJos2';

/** RFC 8489 §18.1 "Password algorithms" (bit 0), set in both bit orders (see above). */
export const FEATURE_PASSWORD_ALGORITHMS = 0x800001;
/** RFC 8489 §18.1 "Username anonymity" (bit 1), set in both bit orders. */
export const FEATURE_USERNAME_ANONYMITY = 0x400002;

const FEATURES = FEATURE_PASSWORD_ALGORITHMS | FEATURE_USERNAME_ANONYMITY;
const TAG_BYTES = 16;
const ISSUED_HEX = 12;
/** A nonce "issued" further than this in the future is forged or from a clock that jumped. */
const FUTURE_SKEW_MS = 5_000;

export interface NonceOptions {
  /** HMAC key; a fresh random one per process when omitted (nonces then die with the process). */
  secret?: Uint8Array;
  /** How long a nonce stays valid. Default 10 minutes. */
  lifetimeMs?: number;
}

export type NonceCheck = 'valid' | 'stale' | 'invalid';

/** The security features a nonce announces, or undefined when it has no nonce cookie. */
export function nonceFeatures(nonce: string): { passwordAlgorithms: boolean; usernameAnonymity: boolean } | undefined {
  if (!nonce.startsWith(NONCE_COOKIE) || nonce.length < NONCE_COOKIE.length + 4) return undefined;
  const text = nonce.slice(NONCE_COOKIE.length, NONCE_COOKIE.length + 4);
  if (!/^[A-Za-z0-9+/]{4}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 3) return undefined;
  const value = (bytes[0]! << 16) | (bytes[1]! << 8) | bytes[2]!;
  return {
    passwordAlgorithms: (value & FEATURE_PASSWORD_ALGORITHMS) !== 0,
    usernameAnonymity: (value & FEATURE_USERNAME_ANONYMITY) !== 0,
  };
}

function featureText(features: number): string {
  return Buffer.from([(features >> 16) & 0xff, (features >> 8) & 0xff, features & 0xff]).toString('base64');
}

/** Issues and checks nonces; holds only its secret. */
export class NonceIssuer {
  readonly lifetimeMs: number;
  private readonly secret: Uint8Array;
  private readonly prefix = NONCE_COOKIE + featureText(FEATURES);

  constructor(options: NonceOptions = {}) {
    this.secret = options.secret ?? randomBytes(32);
    this.lifetimeMs = options.lifetimeMs ?? 10 * 60_000;
    if (!(this.lifetimeMs > 0)) throw new RangeError(`nonce lifetime must be > 0, got ${this.lifetimeMs}`);
  }

  /** A fresh nonce for a client at `clientIp`. */
  issue(clientIp: string, now: number): string {
    const issued = Math.max(0, Math.floor(now)).toString(16).padStart(ISSUED_HEX, '0').slice(-ISSUED_HEX);
    return this.prefix + issued + this.tag(issued, clientIp);
  }

  /** 'valid', 'stale' (was ours, now too old) or 'invalid' (not ours, other IP, from the future). */
  check(nonce: string, clientIp: string, now: number): NonceCheck {
    if (nonce.length !== this.prefix.length + ISSUED_HEX + 22 || !nonce.startsWith(this.prefix)) return 'invalid';
    const issued = nonce.slice(this.prefix.length, this.prefix.length + ISSUED_HEX);
    if (!/^[0-9a-f]+$/.test(issued)) return 'invalid';
    const given = Buffer.from(nonce.slice(this.prefix.length + ISSUED_HEX), 'base64url');
    const expected = Buffer.from(this.tag(issued, clientIp), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    const at = parseInt(issued, 16);
    if (at > now + FUTURE_SKEW_MS) return 'invalid';
    return now - at >= this.lifetimeMs ? 'stale' : 'valid';
  }

  private tag(issued: string, clientIp: string): string {
    return createHmac('sha256', this.secret)
      .update(`${this.prefix}|${issued}|${clientIp}`)
      .digest()
      .subarray(0, TAG_BYTES)
      .toString('base64url');
  }
}
