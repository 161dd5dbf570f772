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
  strategies: z
    .array(
      z.object({
        local: z.string(),
        remote: z.string(),
        strategy: z.string(),
        direct: z.number().int().nonnegative(),
        failed: z.number().int().nonnegative(),
        relay: z.number().int().nonnegative(),
        lastOutcome: z.enum(['direct', 'failed', 'relay']),
        lastAt: z.number(),
        bestPunchMs: z.number().optional(),
      }),
    )
    .optional(),
  rejectedProbes: z.number().int().nonnegative(),
  direct: pathCounters,
  relay: pathCounters,
  datagramsDropped: z.number().int().nonnegative().optional(),
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
  /** The line's other fields as `key=value` text, secrets masked by the host. */
  detail: z.string().optional(),
});

export const NatProgressSchema = z.object({
  step: z.enum(['local-addresses', 'stun-mapping', 'mapping-behaviour', 'filtering-behaviour', 'hairpinning', 'binding-lifetime', 'port-mapping']),
  state: z.enum(['running', 'done', 'no-reply', 'failed', 'skipped']),
  detail: z.string().optional(),
});

const ok = z.object({ ok: z.literal(true) });
const nothing = z.object({}).strict();

// ---- console-only schemas (NAT wizard, logs, settings, first start); see docs/CONSOLE.md ----

/**
 * A tunnel as the user wrote it: checked with the config file's own schema, but passed on (and
 * written to the file) untransformed, so "10MB" stays "10MB" instead of becoming 10000000.
 */
export const TunnelAsWrittenSchema = z.custom<z.input<typeof TunnelSchema>>(() => true).superRefine((v, ctx) => {
  const r = TunnelSchema.safeParse(v);
  if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path as PropertyKey[] });
});

const natBehaviour = z.enum(['endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'unknown']);
const peerKind = z.enum(['open internet', 'full cone', 'restricted cone', 'port-restricted cone', 'symmetric']);

/** What `burrow nat --json` prints, plus the host's local addresses and the path with each kind of peer. */
export const NatWizardReportSchema = z.object({
  server: z.string(),
  localAddresses: z.array(z.string()),
  localAddress: z.string(),
  mappedAddress: z.string().nullable(),
  mapping: natBehaviour,
  filtering: natBehaviour,
  hairpinning: z.union([z.boolean(), z.literal('unknown')]),
  classicName: z.string(),
  partial: z.boolean(),
  verdict: z.string(),
  portPreservation: z.union([z.boolean(), z.literal('unknown')]),
  portDelta: z.number().nullable(),
  portAllocation: z.enum(['preserved', 'sequential', 'random', 'unknown']),
  bindingLifetime: z.object({ atLeastMs: z.number(), lessThanMs: z.number().optional() }).optional(),
  notes: z.array(z.string()),
  /** The kind of NAT that decides punching (nat-verdict.ts effectiveKind), and the path with each kind of peer. */
  ownKind: z.union([peerKind, z.literal('unknown')]),
  peers: z.array(z.object({ kind: peerKind, path: z.enum(['direct', 'relay', 'unknown']) })),
});

/** Whether something answers at a local service address (the host tries to connect). */
export const LocalCheckSchema = z.object({
  reachable: z.boolean(),
  /** Why not, in words ("connection refused", "timed out after 2 s"). */
  error: z.string().optional(),
  /** udp cannot be checked by connecting. */
  checked: z.boolean(),
});

export const LocalHealthSchema = z.object({
  tunnels: z.array(LocalCheckSchema.extend({ name: z.string(), local: z.string() })),
});

/** empty: no config file yet (first start); client: running the user's config; demo: "Try it locally". */
export const ConsoleModeSchema = z.object({
  mode: z.enum(['empty', 'client', 'demo']),
  configFile: z.string(),
  /** In demo mode: the demo page's public address, to open in the browser. */
  demoUrl: z.string().optional(),
});

export const SettingsSchema = z.object({
  configFile: z.string(),
  server: z.string(),
  tls: z.boolean(),
  /** The token with all but its last 4 characters hidden. The token itself: settings.revealToken. */
  tokenMasked: z.string(),
  /** The pinned fingerprint from the config file, if any. */
  configuredFingerprint: z.string().optional(),
  /** The fingerprint of the certificate the server showed on this connection. */
  seenFingerprint: z.string().optional(),
});

export const ConnectRequestSchema = z
  .object({
    server: z.string().min(1),
    token: z.string().min(8, 'expected a token of at least 8 characters'),
    tls: z.boolean().default(true),
    serverFingerprint: z.string().optional(),
  })
  .strict();

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
    /** Switch a visitor on or off (`enabled: false` in the config file): off closes its local port, on opens it again. */
    'visitors.setEnabled': { request: z.object({ name, enabled: z.boolean() }).strict(), response: ok },
    /** The tunnels exactly as written in the config file (bandwidth "10MB" stays a string), for the edit form. */
    'tunnels.listAsWritten': { request: nothing, response: z.object({ tunnels: z.array(TunnelAsWrittenSchema) }) },
    /** Add or replace a tunnel as the user typed it (validated with the config schema, written untransformed). */
    'tunnels.save': { request: z.object({ original: name.optional(), tunnel: TunnelAsWrittenSchema }).strict(), response: ok },
    /** Try to connect to a local service address (the form warns before saving an unreachable one). */
    'local.check': { request: z.object({ address: z.string().max(300), type: z.enum(TUNNEL_TYPES).optional() }).strict(), response: LocalCheckSchema },
    /** Run the NAT wizard against a STUN server; progress arrives as `nat.progress` events. */
    'nat.run': { request: z.object({ stun: z.string().min(1).max(300), lifetime: z.boolean().default(false) }).strict(), response: NatWizardReportSchema },
    /** The STUN server the wizard suggests (the configured server's host, port 3478). */
    'nat.defaults': { request: nothing, response: z.object({ stun: z.string() }) },
    /** The last log lines the host kept (masked), oldest first. */
    'logs.history': { request: nothing, response: z.object({ lines: z.array(LogLineSchema) }) },
    'console.mode': { request: nothing, response: ConsoleModeSchema },
    'settings.get': { request: nothing, response: SettingsSchema },
    /** The token itself, only when the user asks to see it. */
    'settings.revealToken': { request: nothing, response: z.object({ token: z.string() }) },
    /** First start: an embedded server on loopback, a demo web page and a tunnel to it. */
    'setup.tryLocally': { request: nothing, response: ConsoleModeSchema },
    /** Write server address and token to the config file (created if missing) and connect. */
    'setup.connect': { request: ConnectRequestSchema, response: ConsoleModeSchema },
  },
  events: {
    status: ClientStatusSchema,
    traffic: TrafficSampleSchema,
    log: LogLineSchema,
    'nat.progress': NatProgressSchema,
    /** Every few seconds: whether each tunnel's local service answers. */
    'local.health': LocalHealthSchema,
    /** The mode changed (Try it locally, Connect to my server). */
    mode: ConsoleModeSchema,
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
