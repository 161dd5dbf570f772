/**
 * Peer-to-peer signalling over the control connection (issue 9): the schemas of the P2P control
 * messages. messages.ts gives them their type numbers and does the framing and decoding.
 *
 * One punch attempt, between a visitor (the offerer) and the client serving the tunnel (the answerer):
 *
 *   visitor ──P2pOffer──▶ server ──P2pOffer──▶ serving client
 *   visitor ◀─P2pAnswer── server ◀─P2pAnswer── serving client
 *   visitor ◀─P2pStart─── server ───P2pStart─▶ serving client     (the same startAt to both)
 *   (or: visitor ◀─P2pRefused── server, when the tunnel, the proof or the owner is missing)
 *   both probe each other (shared/p2p/probe.ts, engine/p2p/punch-session.ts), then
 *   visitor ──P2pResult─▶ server ◀─P2pResult── serving client     (what happened, for status)
 *
 * The session id is chosen by the offerer; each side adds a fresh nonce, and the punch probes
 * authenticate over both nonces, so a probe of an earlier attempt is worthless in this one.
 */
import { z } from 'zod';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes}-byte lowercase hex`);
const name = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"');
const time = z.number().int().nonnegative();

/** Most candidates one side may offer (host addresses of every interface plus server-reflexive ones). */
export const MAX_CANDIDATES = 16;

/**
 * A transport address a peer may be reached at: `host` (a local interface address of the punching
 * socket) or `srflx` (server-reflexive: the socket's mapped address as a STUN server saw it).
 */
export const P2pCandidate = z.object({
  type: z.enum(['host', 'srflx']),
  ip: z.union([z.ipv4(), z.ipv6()]),
  port: z.number().int().min(1).max(65535),
});
export type P2pCandidate = z.infer<typeof P2pCandidate>;

const natBehaviour = z.enum(['endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'unknown']);

/** The parts of a side's NAT report (engine/stun/nat-classify.ts) that decide the strategy. */
export const P2pNatReport = z.object({
  mapping: natBehaviour,
  filtering: natBehaviour,
  portAllocation: z.enum(['preserved', 'sequential', 'random', 'unknown']),
});
export type P2pNatReport = z.infer<typeof P2pNatReport>;

const candidates = z.array(P2pCandidate).max(MAX_CANDIDATES);

export const p2pSchemas = {
  /**
   * Visitor -> server -> serving client: "let us punch for this tunnel". `secretProof` (visitor ->
   * server only; the server drops it when forwarding) shows the visitor holds the tunnel's secret, as
   * NewVisitorConn's does.
   */
  P2pOffer: z.object({
    tunnel: name,
    sessionId: hex(16),
    nonce: hex(16),
    secretProof: hex(32).optional(),
    candidates,
    nat: P2pNatReport,
  }),
  /** Serving client -> server -> visitor: the answerer's candidates, NAT report and nonce. */
  P2pAnswer: z.object({ sessionId: hex(16), nonce: hex(16), candidates, nat: P2pNatReport }),
  /**
   * Server -> both sides: probe at `startAt` (server clock, ms since the epoch). `serverTime` is the
   * server clock when the message was sent, so a side starts at its own now + (startAt - serverTime)
   * whatever its clock says: the two starts differ by the difference of the one-way delays.
   */
  P2pStart: z.object({ sessionId: hex(16), startAt: time, serverTime: time }),
  /**
   * Server -> visitor: the offer was not forwarded (no such p2p tunnel, wrong secret, too many
   * attempts at once) or the owner went away; the visitor uses the relay.
   */
  P2pRefused: z.object({ sessionId: hex(16), reason: z.string().max(256) }),
  /** Either side -> server: how the attempt ended (for `burrow status`). */
  P2pResult: z.object({
    sessionId: hex(16),
    path: z.enum(['direct', 'relay']),
    reason: z.string().max(256).optional(),
    rttMs: time.optional(),
    durationMs: time.optional(),
  }),
} as const;
