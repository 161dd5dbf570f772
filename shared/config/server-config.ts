/** Schema of server.yaml (public interface: see README "Server config"). */
import { z } from 'zod';
import { hostPort, logConfig, portRange, seconds } from './common.js';

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
    /** Host name printed in public addresses (default: the listen host, or this machine's name). */
    publicHost: z.string().optional(),
    /** Remote ports clients may ask for. */
    allowPorts: z.array(portRange).min(1).prefault(['1024-65535']),
    heartbeatTimeout: seconds.default(90),
    /** How long a user connection waits for a work connection. */
    workConnTimeout: seconds.default(10),
    /** A TLS handshake or first frame not finished in this time closes the connection. */
    handshakeTimeout: seconds.default(10),
    /** Failed logins allowed per source address per window before it is refused outright. */
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
    log: logConfig,
  })
  .strict()
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    message: 'tlsCert and tlsKey go together',
    path: ['tlsCert'],
  });

export type ServerConfig = z.output<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
