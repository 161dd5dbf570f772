/** `burrow stun HOST:PORT [--json] [--tcp] [--timeout SECONDS]`: one STUN Binding, mapped address and RTT. */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  StunClientError,
  formatTransportAddress,
  localAddressToward,
  stunBinding,
  stunBindingTcp,
  type StunBindingResult,
} from '../engine/stun/stun-client.js';
import { parseHostPort, type HostPort } from '../shared/net/address.js';
import { UsageError, withExitCode } from './args.js';

/** Flags plus positionals (parseFlags in args.ts allows none); unknown flags are errors. */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A HOST:PORT argument, or a UsageError naming what was expected. */
export function serverArg(text: string | undefined, what: string): HostPort {
  if (!text) throw new UsageError(`${what}: expected HOST:PORT`);
  const hp = parseHostPort(text);
  if (!hp) throw new UsageError(`${what}: expected HOST:PORT, got "${text}"`);
  return hp;
}

/** A positive number of seconds from a flag. */
export function secondsArg(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} expects a positive number of seconds, got "${text}"`);
  return n;
}

export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export interface StunJson {
  server: string;
  mappedAddress: string;
  localAddress: string;
  rttMs: number;
  software?: string;
  otherAddress?: string;
}

export function stunJson(server: string, r: StunBindingResult, local: { address: string; port: number }): StunJson {
  const out: StunJson = {
    server,
    mappedAddress: formatTransportAddress(r.mapped),
    localAddress: formatTransportAddress(local),
    rttMs: roundMs(r.rttMs),
  };
  if (r.software !== undefined) out.software = r.software;
  if (r.otherAddress) out.otherAddress = formatTransportAddress(r.otherAddress);
  return out;
}

export function formatStun(j: StunJson, transport: string): string {
  const rows: Array<[string, string]> = [
    ['mapped address', j.mappedAddress],
    ['local address', j.localAddress],
    ['rtt', `${j.rttMs} ms`],
    ['server', `${j.server} (${transport})${j.software ? `, ${j.software}` : ''}`],
  ];
  if (j.otherAddress) rows.push(['other address', `${j.otherAddress} (RFC 5780)`]);
  return rows.map(([k, v]) => `${k.padEnd(15)} ${v}`).join('\n');
}

export function runStun(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const { values: flags, positionals } = parseCommand(argv, {
      json: { type: 'boolean' },
      tcp: { type: 'boolean' },
      timeout: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('usage: burrow stun HOST:PORT [--json] [--tcp] [--timeout SECONDS]');
    const text = positionals[0]!;
    const server = serverArg(text, 'burrow stun');
    const timeoutS = secondsArg(flags.timeout, '--timeout', 10);
    const fail = (message: string): number => {
      if (flags.json) console.log(JSON.stringify({ server: text, error: message }, null, 2));
      else console.error(`burrow: ${message}`);
      return 1;
    };
    try {
      let json: StunJson;
      if (flags.tcp) {
        const r = await stunBindingTcp(server.host, server.port, { timeoutMs: timeoutS * 1000 });
        json = stunJson(text, r, r.localAddress);
      } else {
        const localIp = await localAddressToward(server.host, server.port);
        const socket = createSocket(isIPv6(localIp) ? 'udp6' : 'udp4');
        try {
          await new Promise<void>((resolve, reject) => {
            socket.once('error', reject);
            socket.bind(0, localIp, () => {
              socket.off('error', reject);
              resolve();
            });
          });
          socket.on('error', () => {});
          const r = await stunBinding(socket, server, { signal: AbortSignal.timeout(timeoutS * 1000) });
          json = stunJson(text, r, socket.address());
        } finally {
          socket.close();
        }
      }
      console.log(flags.json ? JSON.stringify(json, null, 2) : formatStun(json, flags.tcp ? 'tcp' : 'udp'));
      return 0;
    } catch (err) {
      if (err instanceof StunClientError && err.code === 'timeout') return fail(`no STUN response from ${text} within ${timeoutS} s`);
      return fail(`STUN to ${text} failed: ${(err as Error).message}`);
    }
  }, argv);
}
