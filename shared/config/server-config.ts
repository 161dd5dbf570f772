/** Schema of server.yaml (public interface: see README "Server config"). */
import { z } from 'zod';
import { formatHostPort, parseHostPort } from '../net/address.js';
import { byteRate, cidr, hostPort, ipAddress, logConfig, portRange, seconds } from './common.js';

/** STUN service (RFC 8489; RFC 5780 behaviour discovery when `alternate` is set). Off unless present. */
export const StunConfigSchema = z
  .object({
    /** Primary address: UDP and TCP. */
    listen: hostPort.default('0.0.0.0:3478'),
    /**
     * STUN/TURN over TLS, with the server's certificate. Default: the `listen` host on port 5349
     * (RFC 8489 §6.2.3; port 0 when `listen` has port 0); `false` turns it off. See stunTlsListen().
     */
    tlsListen: z.union([hostPort, z.literal(false)]).optional(),
    /**
     * RFC 5780: a second IP and/or port. `ip` omitted means the same IP as `listen` (a second port
     * only, so CHANGE-REQUEST can change the port but not the IP); `port` defaults to listen port + 1.
     */
    alternate: z
      .object({ ip: z.string().optional(), port: z.number().int().min(1).max(65535).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** TURN relay (RFC 8656, RFC 6062) on the STUN ports. Off unless present; needs `stun`. */
export const TurnConfigSchema = z
  .object({
    realm: z.string().min(1).max(127).default('burrow'),
    /** Long-term credentials: username -> password. */
    users: z.record(z.string().min(1).max(508), z.string().min(1)).default({}),
    /** TURN REST API shared secret: username "expiry:user", password base64(HMAC-SHA1(secret, username)). */
    restSecret: z.string().min(8).optional(),
    /** Addresses relayed transport addresses are allocated on (one IPv4 and/or one IPv6). */
    relayIps: z.array(ipAddress).min(1).default(['0.0.0.0']),
    /** Address to advertise in XOR-RELAYED-ADDRESS when the relay IP is behind a 1:1 NAT. */
    externalIp: ipAddress.optional(),
    relayPorts: portRange.prefault('49152-65535'),
    /** RFC 8656 §3.2 default 600 s; the server caps requested lifetimes at `maxLifetime`. */
    defaultLifetime: seconds.default(600),
    maxLifetime: seconds.default(3600),
    /** Allocations per user and in total (486 / 508 past these). */
    userQuota: z.number().int().positive().default(10),
    totalQuota: z.number().int().positive().default(1000),
    /** Per-allocation relayed bandwidth, bytes per second, each direction. */
    bandwidth: byteRate.optional(),
    /** Peers otherwise refused (loopback, RFC 1918, CGNAT, link-local, multicast, own addresses) allowed here. */
    allowPeers: z.array(cidr).default([]),
    /** Extra peers to refuse. */
    denyPeers: z.array(cidr).default([]),
    /** 401 answers per source address per minute before requests from it are dropped. */
    unauthorizedPerMinute: z.number().int().positive().default(60),
  })
  .strict();

export type StunConfig = z.output<typeof StunConfigSchema>;

/** RFC 8489 §6.2.3: the default port for STUN over TLS. */
export const STUN_TLS_PORT = 5349;

/** Where `burrow server` listens for STUN/TURN over TLS (undefined: not at all). */
export function stunTlsListen(stun: StunConfig): string | undefined {
  if (stun.tlsListen === false) return undefined;
  if (stun.tlsListen !== undefined) return stun.tlsListen;
  const at = parseHostPort(stun.listen)!;
  return formatHostPort(at.host, at.port === 0 ? 0 : STUN_TLS_PORT);
}
export type TurnConfig = z.output<typeof TurnConfigSchema>;

export const ServerConfigSchema = z
  .object({
    /** Control (and work-connection) listener. */
    listen: hostPort.default('0.0.0.0:7000'),
    /** Shared token; clients prove they hold it with HMAC, it never travels. */
    token: z.string().min(8, 'expected a token of at least 8 characters'),
    /** TLS on the control and data connections. `false` only for benchmarks and tests. */
    tls: z.boolean().default(true),
    tlsCert: z.string().optional(),
    tlsKey: z.string().optional(),
    /** Where the self-signed certificate lives. Default: $XDG_STATE_HOME/burrow/server. */
    stateDir: z.string().optional(),
    /** Address public tunnel ports bind to. */
    proxyBind: z.string().default('0.0.0.0'),
    /** Reserved: accepted, but nothing uses it yet (clients print public addresses with their own `server` host). */
    publicHost: z.string().optional(),
    /** Remote ports clients may ask for. */
    allowPorts: z.array(portRange).min(1).prefault(['1024-65535']),
    heartbeatTimeout: seconds.default(90),
    /** How long a user connection waits for a work connection. */
    workConnTimeout: seconds.default(10),
    /** A TLS handshake or first frame not finished in this time closes the connection. */
    handshakeTimeout: seconds.default(10),
    /**
     * Failed logins per source address per window (and 20x that from all addresses) before further
     * failures are answered late as rate-limited with a retry-after. A correct proof is never refused.
     */
    authFailureLimit: z
      .object({ failures: z.number().int().positive().default(5), windowSeconds: seconds.default(60) })
      .strict()
      .default({ failures: 5, windowSeconds: 60 }),
    admin: z
      .object({
        listen: hostPort.default('127.0.0.1:7500'),
        token: z.string().min(8, 'expected an admin token of at least 8 characters'),
      })
      .strict()
      .optional(),
    stun: StunConfigSchema.optional(),
    turn: TurnConfigSchema.optional(),
    log: logConfig,
  })
  .strict()
  .refine((c) => c.turn === undefined || c.stun !== undefined, { message: 'turn needs a stun section (TURN runs on the STUN ports)', path: ['turn'] })
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    message: 'tlsCert and tlsKey go together',
    path: ['tlsCert'],
  });

export type ServerConfig = z.output<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
