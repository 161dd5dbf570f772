/** Building blocks shared by the server and client config schemas. */
import { z } from 'zod';
import { parseHostPort, parseIp } from '../net/address.js';
import { parseByteRate, parsePortRange } from './units.js';

export const hostPort = z
  .string()
  .refine((s) => parseHostPort(s) !== undefined, { message: 'expected "host:port" (IPv6 as "[addr]:port"), port 0-65535' });

/** One IPv4 or IPv6 address (no port, no CIDR). */
export const ipAddress = z.string().refine((s) => parseIp(s) !== undefined, { message: 'expected an IP address like "198.51.100.1" or "2001:db8::1"' });

export const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'expected a name of letters, digits, ".", "_" or "-" (at most 64)');

export const seconds = z.number().positive('expected a positive number of seconds');

export const byteRate = z
  .union([z.number(), z.string()])
  .refine((v) => parseByteRate(v) !== undefined, { message: 'expected bytes per second, e.g. 1048576, "10MB" or "512KiB"' })
  .transform((v) => parseByteRate(v)!);

export const portRange = z
  .union([z.string(), z.number()])
  .refine((v) => parsePortRange(v) !== undefined, { message: 'expected a port or range like "6000-6100" (1-65535)' })
  .transform((v) => parsePortRange(v)!);

/** IPv4/IPv6 address or CIDR block, checked by io/access-list.ts (shared/net/cidr-set.ts) when the tunnel is opened. */
export const cidr = z
  .string()
  .regex(/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/, 'expected an IP address or CIDR block like "203.0.113.0/24"');

export const logConfig = z
  .object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict()
  .default({ level: 'info' });
