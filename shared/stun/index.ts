/** STUN/TURN codec: pure functions over bytes (RFC 8489, RFC 8656, RFC 5780, RFC 6062). */
export * from './constants.js';
export * from './errors.js';
export * from './bytes.js';
export * from './crc32.js';
export * from './address.js';
export * from './crypto.js';
export * from './attributes.js';
export * from './message.js';
export * from './channel-data.js';
export * from './stream.js';
