/**
 * The console contract: every channel between a host (the `burrow console` WebSocket, later the
 * Electron main process) and the renderer, declared once. Pure: imports only shared/ and zod.
 *
 * A channel is a request/response pair, both zod schemas. An event stream is one schema for what the
 * host pushes. The typed client (./client.ts) and the host router (./router.ts) are built from this
 * object, so nothing can be called or handled that is not declared here.
 */
import { z } from 'zod';
import { TUNNEL_TYPES, TunnelSchema } from '../config/client-config.js';
import { name } from '../config/common.js';
import type { ClientStatus, TunnelStatus, VisitorStatus } from '../types/status.js';

const connectionState = z.enum(['connecting', 'online', 'error', 'stopped']);

const counters = {
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
  activeConnections: z.number().int().nonnegative(),
  totalConnections: z.number().int().nonnegative(),
};

const behaviour = z.enum(['endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'unknown']);
const natReport = z.object({ mapping: behaviour, filtering: behaviour, portAllocation: z.enum(['preserved', 'sequential', 'random', 'unknown']) });
const pathCounters = z.object({ bytesIn: z.number().nonnegative(), bytesOut: z.number().nonnegative(), connections: z.number().int().nonnegative() });

export const P2pStatusSchema = z.object({
  path: z.enum(['direct', 'relay', 'connecting']),
  pair: z.object({ local: z.string(), remote: z.string() }).optional(),
  rttMs: z.number().optional(),
  nat: z.object({ local: natReport, remote: natReport }).optional(),
  attempts: z.array(
    z.object({
      sessionId: z.string(),
      startedAt: z.number(),
      outcome: z.enum(['connecting', 'direct', 'relay', 'failed', 'lost']),
      reason: z.string().optional(),
      durationMs: z.number().optional(),
      rttMs: z.number().optional(),
    }),
  ),
  direct: pathCounters,
  relay: pathCounters,
});

export const TunnelStatusSchema = z.object({
  name: z.string(),
  type: z.enum(TUNNEL_TYPES),
  local: z.string(),
  state: connectionState,
  error: z.string().optional(),
  remoteAddress: z.string().optional(),
  p2p: P2pStatusSchema.optional(),
  ...counters,
});

export const VisitorStatusSchema = z.object({
  name: z.string(),
  tunnel: z.string(),
  bind: z.string(),
  type: z.enum(['secret', 'p2p']),
  state: connectionState,
  error: z.string().optional(),
  p2p: P2pStatusSchema.optional(),
  ...counters,
});

export const ClientStatusSchema = z.object({
  server: z.string(),
  clientId: z.string(),
  state: connectionState,
  error: z.string().optional(),
  serverFingerprint: z.string().optional(),
  uptimeMs: z.number().optional(),
  reconnects: z.number().int().nonnegative(),
  lastDisconnect: z.object({ reason: z.string(), at: z.string() }).optional(),
  tunnels: z.array(TunnelStatusSchema),
  visitors: z.array(VisitorStatusSchema),
});

// The schema and the engine's ClientStatus type describe the same thing: this fails to compile
// when one changes without the other (same keys, optional ones included, and assignable both ways;
// a key missing from the schema would be stripped from every status the console sends).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
const statusSchemaMatchesType: Same<z.output<typeof ClientStatusSchema>, ClientStatus> = true;
const tunnelSchemaMatchesType: Same<z.output<typeof TunnelStatusSchema>, TunnelStatus> = true;
const visitorSchemaMatchesType: Same<z.output<typeof VisitorStatusSchema>, VisitorStatus> = true;
void statusSchemaMatchesType;
void tunnelSchemaMatchesType;
void visitorSchemaMatchesType;

/** Rates over the last sampling interval, from this machine's point of view. */
export const RateSchema = z.object({
  /** Bytes per second received from remote users (towards the local service). */
  inPerSec: z.number().nonnegative(),
  /** Bytes per second sent back to remote users (from the local service). */
  outPerSec: z.number().nonnegative(),
  activeConnections: z.number().int().nonnegative(),
});

export const TrafficSampleSchema = z.object({
  /** Wall-clock time of the sample, ms since the epoch (for the chart's x axis). */
  at: z.number(),
  total: RateSchema,
  tunnels: z.array(RateSchema.extend({ name: z.string() })),
});

export const LogLineSchema = z.object({
  at: z.number(),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
  message: z.string(),
  tunnel: z.string().optional(),
});

export const NatProgressSchema = z.object({
  step: z.enum(['local-addresses', 'stun-mapping', 'mapping-behaviour', 'filtering-behaviour', 'hairpinning', 'binding-lifetime', 'port-mapping']),
  state: z.enum(['running', 'done', 'no-reply', 'failed', 'skipped']),
  detail: z.string().optional(),
});

const ok = z.object({ ok: z.literal(true) });
const nothing = z.object({}).strict();

export const contract = {
  channels: {
    /** The engine's status now (the same object `burrow status --json` prints). */
    'status.get': { request: nothing, response: ClientStatusSchema },
    /** The traffic samples of the last 10 minutes, oldest first (a page opened late still has a full chart). */
    'traffic.history': { request: nothing, response: z.object({ samples: z.array(TrafficSampleSchema) }) },
    /** The tunnels as the config file has them (for the edit form). */
    'tunnels.list': { request: nothing, response: z.object({ tunnels: z.array(TunnelSchema) }) },
    /** Add a tunnel; written to the config file, which the engine reloads. */
    'tunnels.add': { request: z.object({ tunnel: TunnelSchema }).strict(), response: ok },
    /** Replace tunnel `name` (the new one may have another name). */
    'tunnels.update': { request: z.object({ name, tunnel: TunnelSchema }).strict(), response: ok },
    'tunnels.remove': { request: z.object({ name }).strict(), response: ok },
    /** Switch a tunnel on or off (`enabled: false` in the config file). */
    'tunnels.setEnabled': { request: z.object({ name, enabled: z.boolean() }).strict(), response: ok },
  },
  events: {
    status: ClientStatusSchema,
    traffic: TrafficSampleSchema,
    log: LogLineSchema,
    'nat.progress': NatProgressSchema,
  },
} as const;

export type Contract = typeof contract;
export type ChannelName = keyof Contract['channels'];
export type EventName = keyof Contract['events'];
export type RequestOf<C extends ChannelName> = z.input<Contract['channels'][C]['request']>;
export type ParsedRequestOf<C extends ChannelName> = z.output<Contract['channels'][C]['request']>;
export type ResponseOf<C extends ChannelName> = z.output<Contract['channels'][C]['response']>;
export type EventOf<E extends EventName> = z.output<Contract['events'][E]>;
export type TrafficSample = EventOf<'traffic'>;

// ---- the wire: what either transport carries (plain objects; JSON on the WebSocket) ----

export type ErrorCode = 'bad-message' | 'unknown-channel' | 'bad-request' | 'failed';

export interface RequestMessage {
  kind: 'request';
  id: number;
  channel: string;
  payload: unknown;
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number | null; ok: false; error: { code: ErrorCode; message: string } };

export interface EventMessage {
  kind: 'event';
  stream: string;
  payload: unknown;
}

export type HostMessage = ResponseMessage | EventMessage;

export const RequestMessageSchema = z
  .object({ kind: z.literal('request'), id: z.number().int().nonnegative(), channel: z.string().max(100), payload: z.unknown() })
  .strict();
