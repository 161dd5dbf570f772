/**
 * One check of a peer transport address named in a request (XOR-PEER-ADDRESS of CreatePermission,
 * ChannelBind, Connect, Send): well formed, of a family the allocation relays, and allowed by the
 * peer policy. Pure; the caller turns the verdict into 400 / 443 / 403 or a silent discard.
 */
import type { TransportAddress } from '../../shared/stun/message.js';
import type { Allocation, PeerAddress } from './allocation.js';
import { canonicalIp, ipFamily } from '../../shared/net/address.js';
import type { PeerPolicy } from './peer-policy.js';

export type PeerCheck =
  /** Usable: `peer.address` is the canonical IP. */
  | { kind: 'ok'; peer: PeerAddress }
  /** Missing, not an IP of its family, or port 0 where a port matters: 400 (Bad Request). */
  | { kind: 'bad' }
  /** The allocation has no relayed address of this family: 443 (Peer Address Family Mismatch). */
  | { kind: 'family-mismatch' }
  /** Refused by the peer policy: 403 (Forbidden). */
  | { kind: 'forbidden'; ip: string; refusal: string };

export interface PeerCheckOptions {
  /**
   * Whether the port is part of what is checked. CreatePermission ignores it (RFC 8656 §9.2: the
   * port "may be any arbitrary value"); ChannelBind, Connect and Send need a real port.
   */
  port: boolean;
}

export function checkPeer(attr: TransportAddress | undefined, allocation: Allocation, policy: PeerPolicy, options: PeerCheckOptions): PeerCheck {
  if (!attr) return { kind: 'bad' };
  const ip = canonicalIp(attr.address);
  if (ip === undefined || ipFamily(ip) !== attr.family || (options.port && attr.port === 0)) return { kind: 'bad' };
  // RFC 8656 §9.2, §11.2: a peer address family other than the relayed address's "MUST" get 443.
  if (!allocation.hasFamily(attr.family)) return { kind: 'family-mismatch' };
  // A CreatePermission's port is otherwise ignored, but when it names one (as browsers do, with the
  // peer's relayed address) the policy sees it: only an exact live relayed address of this server
  // passes on the server's own IPs. Port 0 (the IP alone) may name any live relayed address's IP.
  const refusal = options.port || attr.port !== 0 ? policy.refusal(ip, attr.port) : policy.refusal(ip);
  if (refusal !== undefined) return { kind: 'forbidden', ip, refusal };
  return { kind: 'ok', peer: { family: attr.family, address: ip, port: attr.port } };
}
