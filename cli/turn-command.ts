/**
 * `burrow turn HOST:PORT --user U --password P [--json] [--tcp] [--channel] [--count N] [--timeout SECONDS]`
 *
 * Allocates a relay, reports it, then echoes through it: a local UDP "peer" socket (on the address
 * used to reach the server) gets a permission; each probe goes client → server → relay → peer (Send
 * indication, or ChannelData with --channel), the peer sends it back to the relayed address, and it
 * returns to the client as a Data indication (or ChannelData). Round trips are timed per probe.
 * Finally the allocation is deleted (Refresh with LIFETIME 0).
 */
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { bindUdp } from '../engine/stun/nat-discovery.js';
import { formatTransportAddress, localAddressToward, stunBinding } from '../engine/stun/stun-client.js';
import { monotonicClock } from '../io/clock.js';
import { TurnClient, TurnError, type TransportAddress } from '../engine/turn/turn-client.js';
import { UsageError, withExitCode } from './args.js';
import { parseCommand, roundMs, secondsArg, serverArg } from './stun-command.js';

export interface TurnJson {
  server: string;
  relayedAddress: string;
  mappedAddress: string | null;
  lifetime: number;
  echo: {
    sent: number;
    received: number;
    rttMs: { min: number | null; avg: number | null; max: number | null };
  };
}

const USAGE = 'usage: burrow turn HOST:PORT --user U --password P [--json] [--tcp] [--channel] [--count N] [--timeout SECONDS]';
const PROBE_PREFIX = 'burrow-turn-echo ';

/**
 * An RFC 8489 retransmission schedule (RTO 500 ms, doubling) cut to end after `totalMs`: as many
 * of the 7 sends as start before it, then Rm stretched or shrunk to land on it.
 */
export function udpScheduleWithin(totalMs: number, rtoMs = 500): { rtoMs: number; maxSends: number; lastWaitFactor: number } {
  let maxSends = 1;
  while (maxSends < 7 && rtoMs * (2 ** maxSends - 1) < totalMs) maxSends++;
  const lastSendAt = rtoMs * (2 ** (maxSends - 1) - 1);
  return { rtoMs, maxSends, lastWaitFactor: Math.max(0.5, (totalMs - lastSendAt) / rtoMs) };
}

export function formatTurn(j: TurnJson, transport: string, peer: string): string {
  const r = j.echo.rttMs;
  const rtt = r.min === null ? 'no echo came back' : `rtt min/avg/max ${r.min}/${r.avg}/${r.max} ms`;
  return [
    ['relayed address', j.relayedAddress],
    ['mapped address', j.mappedAddress ?? '-'],
    ['lifetime', `${j.lifetime} s`],
    ['server', `${j.server} (${transport})`],
    ['echo', `${j.echo.received}/${j.echo.sent} via peer ${peer}, ${rtt}`],
  ]
    .map(([k, v]) => `${k!.padEnd(16)} ${v}`)
    .join('\n');
}

export function runTurn(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const { values: flags, positionals } = parseCommand(argv, {
      user: { type: 'string', short: 'u' },
      password: { type: 'string', short: 'p' },
      json: { type: 'boolean' },
      tcp: { type: 'boolean' },
      channel: { type: 'boolean' },
      count: { type: 'string' },
      timeout: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError(USAGE);
    const text = positionals[0]!;
    const server = serverArg(text, 'burrow turn');
    const user = flags.user;
    const password = flags.password ?? process.env.BURROW_TURN_PASSWORD;
    if (!user || password === undefined) throw new UsageError(`--user and --password (or BURROW_TURN_PASSWORD) are required\n${USAGE}`);
    const count = flags.count === undefined ? 5 : Number(flags.count);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new UsageError(`--count expects 1-1000, got "${flags.count}"`);
    const timeoutS = secondsArg(flags.timeout, '--timeout', 10);
    const transport = flags.tcp ? 'tcp' : 'udp';

    const fail = (message: string): number => {
      if (flags.json) console.log(JSON.stringify({ server: text, error: message }, null, 2));
      else console.error(`burrow: ${message}`);
      return 1;
    };

    const localIp = await localAddressToward(server.host, server.port).catch(() => undefined);
    if (!localIp) return fail(`cannot reach ${text}: no route or the name does not resolve`);
    const client = new TurnClient({
      server,
      username: user,
      password,
      transport,
      localIp,
      // a CLI should not wait the full RFC schedule (39.5 s)
      ...udpScheduleWithin(timeoutS * 1000),
      timeoutMs: timeoutS * 1000,
      autoRefresh: false,
    });
    let peer: UdpSocket | undefined;
    try {
      let allocation;
      try {
        allocation = await client.allocate();
      } catch (err) {
        if (err instanceof TurnError && err.kind === 'timeout') return fail(`no TURN response from ${text} within ${timeoutS} s`);
        return fail(`TURN allocation at ${text} failed: ${(err as Error).message}`);
      }
      const relayed = allocation.relayed;

      // The peer: a local UDP socket. Its address as the server sees it comes from a STUN Binding
      // to the server (coturn and Burrow answer Binding on the TURN port); the local address otherwise.
      peer = await bindUdp(localIp);
      const peerLocal = peer.address();
      let peerSeen: TransportAddress = { family: isIPv6(peerLocal.address) ? 'IPv6' : 'IPv4', address: peerLocal.address, port: peerLocal.port };
      try {
        const b = await stunBinding(peer, server, { rtoMs: 250, maxSends: 3, lastWaitFactor: 4 });
        peerSeen = b.mapped;
      } catch {
        // keep the local address
      }
      const peerSocket = peer;
      peerSocket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
        // echo what the relay forwards back to the relayed address it came from
        if (rinfo.port === relayed.port && msg.subarray(0, PROBE_PREFIX.length).toString() === PROBE_PREFIX) {
          peerSocket.send(msg, rinfo.port, rinfo.address);
        }
      });

      try {
        await client.createPermission(peerSeen.address);
        if (flags.channel) await client.channelBind(peerSeen);
      } catch (err) {
        return fail(`TURN ${flags.channel ? 'permission/channel' : 'permission'} for ${peerSeen.address} failed: ${(err as Error).message}`);
      }
      // open the peer's own NAT/firewall towards the relay (the relay drops it: no permission is needed for that)
      peerSocket.send(Buffer.from('burrow-turn-hello'), relayed.port, relayed.address);

      const rtts: number[] = [];
      const waiting = new Map<string, (at: number) => void>();
      client.on('data', (data) => {
        const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString();
        waiting.get(text)?.(monotonicClock.now());
      });
      for (let i = 0; i < count; i++) {
        const probe = `${PROBE_PREFIX}${i} ${Math.random().toString(36).slice(2, 10)}`;
        const sentAt = monotonicClock.now();
        const back = new Promise<number | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), 1000);
          waiting.set(probe, (at) => {
            clearTimeout(timer);
            resolve(at);
          });
        });
        client.send(peerSeen, Buffer.from(probe));
        const at = await back;
        waiting.delete(probe);
        if (at !== undefined) rtts.push(at - sentAt);
      }
      const json: TurnJson = {
        server: text,
        relayedAddress: formatTransportAddress(relayed),
        mappedAddress: allocation.mapped ? formatTransportAddress(allocation.mapped) : null,
        lifetime: allocation.lifetime,
        echo: {
          sent: count,
          received: rtts.length,
          rttMs:
            rtts.length === 0
              ? { min: null, avg: null, max: null }
              : {
                  min: roundMs(Math.min(...rtts)),
                  avg: roundMs(rtts.reduce((a, b) => a + b, 0) / rtts.length),
                  max: roundMs(Math.max(...rtts)),
                },
        },
      };
      if (rtts.length === 0) {
        const message = 'the relay allocated but no echo came back through it';
        if (flags.json) console.log(JSON.stringify({ ...json, error: message }, null, 2));
        else {
          console.log(formatTurn(json, transport, formatTransportAddress(peerSeen)));
          console.error(`burrow: ${message}`);
        }
        return 1;
      }
      console.log(flags.json ? JSON.stringify(json, null, 2) : formatTurn(json, transport, formatTransportAddress(peerSeen)));
      return 0;
    } finally {
      peer?.close();
      await client.close();
    }
  }, argv);
}
