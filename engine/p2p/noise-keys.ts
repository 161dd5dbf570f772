/**
 * The Noise static key pairs of the direct path (issue 9), derived from the tunnel secret and the
 * punch session, so that both peers know both public keys in advance and a handshake with anyone
 * else fails: seed = HMAC-SHA256(secret, "burrow-p2p-noise-<role>" || session id), the key pair is
 * @hyperswarm/secret-stream's keyPair(seed) (ed25519). Pure; the HMAC is injected.
 *
 * The control stream's udx ids come from the secret too (HMAC-SHA256(secret,
 * "burrow-p2p-noise-control-ids" || session id), udx-ids.ts controlIds): libudx hands a datagram
 * to whichever stream its id names, whatever address it came from, so ids anyone could compute from
 * the session id (which the server and the signalling see) let a stranger push forged udx packets
 * into the control stream and stall it (NAT lab test 4 did, with the ids taken from the session id).
 */
import type { Hmac } from '../../shared/p2p/probe.js';

export interface NoiseSeeds {
  readonly offerer: Uint8Array;
  readonly answerer: Uint8Array;
  /** Seed of the control stream ids (udx-ids.ts controlIds). */
  readonly controlIds: Uint8Array;
}

const utf8 = new TextEncoder();

export function noiseSeeds(hmac: Hmac, secret: string | Uint8Array, sessionId: Uint8Array): NoiseSeeds {
  const key = typeof secret === 'string' ? utf8.encode(secret) : secret;
  const seed = (role: string) => {
    const label = utf8.encode(`burrow-p2p-noise-${role}`);
    const data = new Uint8Array(label.length + sessionId.length);
    data.set(label, 0);
    data.set(sessionId, label.length);
    return hmac(key, data);
  };
  return { offerer: seed('offerer'), answerer: seed('answerer'), controlIds: seed('control-ids') };
}
