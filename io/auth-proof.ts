/**
 * HMAC-SHA256 proofs for the control protocol. The token and tunnel secrets never travel:
 * each side proves it holds them by signing the server's fresh per-connection challenge nonce.
 * Every proof is domain-separated by a label so one can never be replayed as another.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function hmacHex(key: string | Buffer, label: string, ...parts: Array<string | number>): string {
  const mac = createHmac('sha256', key);
  mac.update(`burrow/v1/${label}`);
  for (const part of parts) mac.update(`\0${part}`);
  return mac.digest('hex');
}

/** Client -> server: "I hold the token", bound to this connection's challenge. */
export function loginProof(token: string, challengeNonce: string, clientNonce: string, timestamp: number, clientId: string): string {
  return hmacHex(token, 'login', challengeNonce, clientNonce, timestamp, clientId);
}

/** Server -> client: "I hold the token too", bound to the client's nonce. */
export function loginResultProof(token: string, clientNonce: string, sessionId: string): string {
  return hmacHex(token, 'login-result', clientNonce, sessionId);
}

/** First frame of a work connection: belongs to this session, fresh for this connection. */
export function workConnProof(token: string, challengeNonce: string, sessionId: string): string {
  return hmacHex(token, 'work-conn', challengeNonce, sessionId);
}

/** Key a secret tunnel registers with the server instead of the secret itself. */
export function secretTunnelKey(secret: string, tunnelName: string): string {
  return hmacHex(secret, 'secret-tunnel-key', tunnelName);
}

/** Visitor -> server: "I know the tunnel's secret", fresh for this connection. */
export function visitorProof(secretKeyHex: string, challengeNonce: string, sessionId: string): string {
  return hmacHex(Buffer.from(secretKeyHex, 'hex'), 'visitor', challengeNonce, sessionId);
}

/** Constant-time comparison of two hex proofs (different lengths compare unequal). */
export function proofsEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * Visitor -> server in a P2pOffer: "I know the p2p tunnel's secret", bound to the visitor's control
 * session and to this attempt (its session id and nonce), so it cannot be replayed elsewhere.
 */
export function p2pOfferProof(secretKeyHex: string, controlSessionId: string, p2pSessionId: string, nonce: string): string {
  return hmacHex(Buffer.from(secretKeyHex, 'hex'), 'p2p-offer', controlSessionId, p2pSessionId, nonce);
}
