/**
 * STUN credentials: key derivation and string preparation. The hash primitives are injected
 * (`StunCrypto`) so that this file stays free of Node APIs; io/stun-crypto.ts supplies the
 * node:crypto implementation.
 */
import saslprepLib from '@mongodb-js/saslprep';
import { StunError } from './errors.js';
import { utf8Encoder } from '../utf8.js';

export interface StunCrypto {
  hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  md5(data: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
}

/**
 * SASLprep (RFC 4013) via @mongodb-js/saslprep. Throws StunError('bad-attribute') on prohibited
 * input (e.g. control characters, bidi violations). `allowUnassigned` selects the "query" profile
 * (RFC 3454 §7), in which code points unassigned in Unicode 3.2 are let through; the default is the
 * "stored string" profile, which rejects them.
 */
export function saslprep(text: string, options?: { allowUnassigned?: boolean }): string {
  try {
    return saslprepLib(text, { allowUnassigned: options?.allowUnassigned ?? false });
  } catch (err) {
    throw new StunError('bad-attribute', `SASLprep rejected the string: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The enforcement of the PRECIS OpaqueString profile (RFC 8265 §4.2) that changes bytes:
 * "Additional Mapping Rule: Any instances of non-ASCII space MUST be mapped to SPACE (U+0020)"
 * and "Normalization Rule: Unicode Normalization Form C (NFC) MUST be applied to all strings."
 * Lenient: the FreeformClass validity checks (which only reject) are not applied.
 */
export function opaqueString(text: string): string {
  return text.replace(/(?! )\p{Zs}/gu, ' ').normalize('NFC');
}

/**
 * RFC 8489 §9.2.2: "key = MD5(username ":" OpaqueString(realm) ":" OpaqueString(password))" or, for
 * the SHA-256 password algorithm, "key = SHA-256(username ":" OpaqueString(realm) ":"
 * OpaqueString(password))". Username and password are prepared with SASLprep as RFC 5389 §15.4 did
 * (the RFC 5769 §2.4 vector relies on it: "The\u00ADM\u00AAtr\u2168" -> "TheMatrIX"); for ASCII and
 * already-prepared input both preparations give the same bytes. SASLprep runs with unassigned code
 * points allowed so that newer Unicode in credentials is not refused.
 */
export function longTermKey(
  crypto: StunCrypto,
  username: string,
  realm: string,
  password: string,
  algorithm: 'md5' | 'sha256' = 'md5',
): Uint8Array {
  const q = { allowUnassigned: true };
  const input = utf8Encoder.encode(`${saslprep(username, q)}:${opaqueString(realm)}:${saslprep(password, q)}`);
  return algorithm === 'sha256' ? crypto.sha256(input) : crypto.md5(input);
}

/** RFC 8489 §14.4: "userhash = SHA-256(OpaqueString(username) ":" OpaqueString(realm))". */
export function userHash(crypto: StunCrypto, username: string, realm: string): Uint8Array {
  return crypto.sha256(utf8Encoder.encode(`${opaqueString(username)}:${opaqueString(realm)}`));
}

/** RFC 8489 §9.1.1: short-term credentials, "key = OpaqueString(password)", as UTF-8. */
export function shortTermKey(password: string): Uint8Array {
  return utf8Encoder.encode(opaqueString(password));
}

/** Constant-time comparison of two byte strings (the length is not secret). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
