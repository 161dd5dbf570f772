/**
 * node:crypto implementation of the STUN codec's injected crypto (shared/stun/crypto.ts). Returns
 * plain Uint8Array views (not Buffers) so that callers in shared/ see only standard types.
 */
import { createHash, createHmac } from 'node:crypto';
import type { StunCrypto } from '../shared/stun/crypto.js';

function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export const nodeStunCrypto: StunCrypto = {
  hmacSha1: (key, data) => plain(createHmac('sha1', key).update(data).digest()),
  hmacSha256: (key, data) => plain(createHmac('sha256', key).update(data).digest()),
  md5: (data) => plain(createHash('md5').update(data).digest()),
  sha256: (data) => plain(createHash('sha256').update(data).digest()),
};
