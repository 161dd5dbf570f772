/** Schema of client.yaml (public interface: see README "Client config"). */
import { z } from 'zod';
import { byteRate, cidr, hostPort, logConfig, name, seconds } from './common.js';

const port = z.number().int().min(0).max(65535);

/** Fields every tunnel has, whatever its type. */
const tunnelCommon = {
  name,
  /** The local service, e.g. "127.0.0.1:22". */
  local: hostPort,
  /** Per-tunnel bandwidth limit, each direction. */
  bandwidth: byteRate.optional(),
  /** `false`: kept in the file but not registered with the server (the console's on/off switch). */
  enabled: z.boolean().optional(),
};

/** One tunnel type's schema entry: the common fields, `type: <its name>`, and its own fields. */
function tunnelEntry<T extends string, F extends z.ZodRawShape>(type: T, fields: F) {
  return z.object({ ...tunnelCommon, type: z.literal(type), ...fields }).strict();
}

export const TcpTunnelSchema = tunnelEntry('tcp', {
  /** Public port on the server; 0 lets the server choose. */
  remotePort: port,
  allow: z.array(cidr).optional(),
  deny: z.array(cidr).optional(),
});

export const UdpTunnelSchema = tunnelEntry('udp', {
  remotePort: port,
  allow: z.array(cidr).optional(),
  deny: z.array(cidr).optional(),
  /** A remote sender's session is dropped after this long without traffic. */
  idleTimeout: seconds.default(60),
});

export const SecretTunnelSchema = tunnelEntry('secret', {
  secret: z.string().min(8, 'expected a secret of at least 8 characters'),
});

/**
 * Every tunnel type's schema entry. Adding a type is adding its entry here (plus its modules in
 * server/tunnels/ and engine/tunnels/): the config union, the type names, the wire's `kind`
 * values and the registries' required keys all follow from this list.
 */
/**
 * p2p: like secret (no public port; visitors prove the secret), but visitors of type p2p try a
 * direct, hole-punched path first and use the relay while there is none (issue 9). `protocol` is
 * what the local service speaks: tcp (one stream per connection) or udp (datagrams, boundaries kept).
 */
export const P2pTunnelSchema = tunnelEntry('p2p', {
  secret: z.string().min(8, 'expected a secret of at least 8 characters'),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** protocol udp only: a visitor's session (one user address) is dropped after this long without traffic (seconds; default 60). */
  idleTimeout: seconds.optional(),
}).superRefine((t, ctx) => {
  if (t.protocol !== 'udp' && t.idleTimeout !== undefined) ctx.addIssue({ code: 'custom', message: 'idleTimeout applies to p2p tunnels with protocol udp only', path: ['idleTimeout'] });
});

const tunnelEntries = [TcpTunnelSchema, UdpTunnelSchema, SecretTunnelSchema, P2pTunnelSchema] as const;

export const TunnelSchema = z.discriminatedUnion('type', tunnelEntries);

/** A tunnel type's name ("tcp", "udp", "secret", "p2p"). */
export type TunnelType = z.output<typeof TunnelSchema>['type'];
/** The names of all tunnel types, in entry order. */
export const TUNNEL_TYPES = tunnelEntries.map((entry) => entry.shape.type.value) as [TunnelType, ...TunnelType[]];

export const VisitorSchema = z
  .object({
    name,
    /**
     * secret (default): every connection goes through the server's relay. p2p: to a p2p tunnel;
     * connections take a direct, hole-punched path when there is one, the relay otherwise.
     */
    type: z.enum(['secret', 'p2p']).default('secret'),
    /** Name of the secret or p2p tunnel to reach (registered by another client). */
    tunnel: name,
    secret: z.string().min(8, 'expected a secret of at least 8 characters'),
    /** Local address the visitor listens on. */
    bind: hostPort,
    /** p2p only: what a connection does when there is no direct path: `relay` (default) or `none` (refused). */
    fallback: z.enum(['relay', 'none']).optional(),
    /** p2p only: how long a connection waits for a direct path before it falls back (seconds; default 1). */
    fallbackTimeout: z.number().positive('expected a positive number of seconds').max(60, 'expected at most 60 seconds').optional(),
    /** `false`: kept in the file but its local port is not opened (the console's and the tray's on/off switch). */
    enabled: z.boolean().optional(),
    /**
     * p2p only: what the tunnel's service speaks, as the tunnel says: `tcp` (default; `bind` is a
     * TCP port) or `udp` (`bind` is a UDP port; each user address is one session).
     */
    protocol: z.enum(['tcp', 'udp']).optional(),
    /** p2p udp only: a user address's session is dropped after this long without traffic (seconds; default 60). */
    idleTimeout: seconds.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.type === 'p2p') {
      if (v.idleTimeout !== undefined && v.protocol !== 'udp') ctx.addIssue({ code: 'custom', message: 'idleTimeout applies to visitors with protocol udp only', path: ['idleTimeout'] });
      return;
    }
    for (const key of ['fallback', 'fallbackTimeout', 'protocol', 'idleTimeout'] as const) {
      if (v[key] !== undefined) ctx.addIssue({ code: 'custom', message: `${key} applies to visitors of type p2p only`, path: [key] });
    }
  });

export const ClientConfigSchema = z
  .object({
    server: hostPort,
    token: z.string().min(8, 'expected a token of at least 8 characters'),
    tls: z.boolean().default(true),
    /** SHA-256 fingerprint of the server certificate ("AB:CD:…" or plain hex). Unset: trust on first use. */
    serverFingerprint: z
      .string()
      .regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'expected a SHA-256 fingerprint (64 hex digits, colons allowed)')
      .optional(),
    clientId: name.optional(),
    /** Where remembered server fingerprints live. Default: $XDG_STATE_HOME/burrow/client. */
    stateDir: z.string().optional(),
    /**
     * Carry user connections as streams over one multiplexed connection to the server (yamux), so a
     * new user connection costs no TCP or TLS handshake. `false`: one work connection each (the pool).
     */
    mux: z.boolean().default(true),
    /** Work connections opened ahead of demand with `mux: false` (with mux, only on request while it is down). */
    poolSize: z.number().int().min(0).max(64).default(4),
    heartbeat: z
      .object({ interval: seconds.default(10), timeout: seconds.default(30) })
      .strict()
      .default({ interval: 10, timeout: 30 }),
    /** Local status endpoint read by `burrow status`; `false` disables it. */
    admin: z
      .union([z.literal(false), z.object({ listen: hostPort.default('127.0.0.1:7400') }).strict()])
      .default({ listen: '127.0.0.1:7400' }),
    log: logConfig,
    tunnels: z.array(TunnelSchema).default([]),
    visitors: z.array(VisitorSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.tunnels.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', message: `duplicate tunnel name "${t.name}"`, path: ['tunnels', i, 'name'] });
      seen.add(t.name);
    });
    const seenV = new Set<string>();
    c.visitors.forEach((v, i) => {
      if (seenV.has(v.name)) ctx.addIssue({ code: 'custom', message: `duplicate visitor name "${v.name}"`, path: ['visitors', i, 'name'] });
      seenV.add(v.name);
    });
  });

export type ClientConfig = z.output<typeof ClientConfigSchema>;
export type ClientConfigInput = z.input<typeof ClientConfigSchema>;
export type TunnelConfig = z.output<typeof TunnelSchema>;
/** The config of one tunnel type. */
export type TunnelConfigOf<T extends TunnelType> = Extract<TunnelConfig, { type: T }>;
export type VisitorConfig = z.output<typeof VisitorSchema>;
