/**
 * Address text for the STUN codec: the parsing and RFC 5952 formatting live in shared/net/address.ts
 * (re-exported here as part of the codec's surface); this file adds the codec's error for bad input.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../net/address.js';
import { StunError } from './errors.js';

export { formatIPv4, formatIPv6, parseIPv4, parseIPv6 };

/** Address bytes (4 or 16) for a family and text, or StunError('bad-attribute'). */
export function addressToBytes(family: 'IPv4' | 'IPv6', address: string): Uint8Array {
  const bytes = family === 'IPv4' ? parseIPv4(address) : family === 'IPv6' ? parseIPv6(address) : undefined;
  if (!bytes) throw new StunError('bad-attribute', `invalid ${String(family)} address: ${JSON.stringify(address)}`);
  return bytes;
}

/** Canonical text form of an address (throws StunError('bad-attribute') if it does not parse). */
export function canonicalAddress(family: 'IPv4' | 'IPv6', address: string): string {
  const bytes = addressToBytes(family, address);
  return family === 'IPv4' ? formatIPv4(bytes) : formatIPv6(bytes);
}
