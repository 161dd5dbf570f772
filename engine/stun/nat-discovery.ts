/**
 * RFC 5780 §4 NAT behaviour discovery: the I/O adapter. It opens the sockets, runs the probes that
 * nat-classify.ts plans and leaves every verdict to `classifyNat` (pure).
 *
 * Sockets: M runs test I and the mapping tests; a fresh F runs the filtering tests (M has already
 * talked to the alternate address, which would open its filter); H sends to M's mapped address for
 * the hairpinning test; the lifetime probes use a pair (X, Y) per idle time.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatHostPort } from '../../shared/net/address.js';
import { decodeStun, isStunMessage, newTransactionId } from '../../shared/stun/message.js';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import {
  classifyNat,
  isObservation,
  needsMappingTest3,
  planNatTests,
  type BindingObservation,
  type LifetimeProbe,
  type NatObservations,
  type NatReport,
  type ProbeOutcome,
} from './nat-classify.js';
import {
  StunClientError,
  buildBindingRequest,
  localAddressToward,
  resolveHost,
  stunBinding,
  transportAddress,
  type StunBindingOptions,
  type StunServerAddress,
  type TransportAddress,
} from './stun-client.js';

export * from './nat-classify.js';

export interface NatDiscoveryOptions {
  /** Local IP to bind the test sockets to; default: the address the system routes to the server from. */
  localIp?: string;
  /** Initial RTO for the probes (ms). Default 250. */
  rtoMs?: number;
  /** Run the binding lifetime probes (RFC 5780 §4.6). `true` probes idle times up to 60 s. */
  lifetime?: boolean | { probesMs: number[] };
  /** How long the hairpinning test waits (ms). Default 2000. */
  hairpinTimeoutMs?: number;
  /** Run the hairpinning test (default true); without it the report says `hairpinning: 'unknown'`. */
  hairpin?: boolean;
  signal?: AbortSignal;
}

/** Idle times for the lifetime probes (run in parallel, so the whole test takes about the last one). */
export const DEFAULT_LIFETIME_PROBES_MS = [5_000, 10_000, 20_000, 30_000, 45_000, 60_000];

export interface NatDiscoveryResult extends NatReport {
  /** "host:port" as given. */
  server: string;
}

/** A UDP socket bound to an ephemeral port on `ip`; later socket errors are ignored (transactions time out on their own). */
export async function bindUdp(ip: string): Promise<UdpSocket> {
  const s = createSocket(isIPv6(ip) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, ip, () => {
      s.off('error', reject);
      resolve();
    });
  });
  s.on('error', () => {}); // late ICMP errors etc.: the transactions time out on their own
  return s;
}

function outcomeOf(err: unknown): ProbeOutcome {
  if (err instanceof StunClientError) {
    if (err.code === 'timeout') return 'no-response';
    if (err.code === 'aborted') throw err;
    return { error: err.message };
  }
  return { error: err instanceof Error ? err.message : String(err) };
}

async function probe(socket: UdpSocket, dest: { host: string; port: number }, opts: StunBindingOptions): Promise<ProbeOutcome> {
  try {
    const r = await stunBinding(socket, dest, opts);
    const o: BindingObservation = { mapped: r.mapped, source: r.source };
    if (r.responseOrigin) o.responseOrigin = r.responseOrigin;
    if (r.otherAddress) o.otherAddress = r.otherAddress;
    return o;
  } catch (err) {
    return outcomeOf(err);
  }
}

/**
 * RFC 5780 §4.5: send a Binding request from a second socket to M's mapped address; hairpinning
 * works if M receives it.
 */
async function hairpinTest(m: UdpSocket, mapped: TransportAddress, localIp: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const h = await bindUdp(localIp);
  const txid = newTransactionId(randomBytes);
  const bytes = buildBindingRequest(txid);
  try {
    return await new Promise<boolean>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const done = (v: boolean): void => {
        for (const t of timers) clearTimeout(t);
        m.off('message', onMessage);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = (): void => done(false);
      const onMessage = (msg: Buffer, _rinfo: RemoteInfo): void => {
        const b = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
        if (!isStunMessage(b)) return;
        try {
          const d = decodeStun(b);
          if (d.method === StunMethod.Binding && d.cls === StunClass.Request && Buffer.from(d.transactionId).equals(Buffer.from(txid))) done(true);
        } catch {
          // not ours
        }
      };
      m.on('message', onMessage);
      signal?.addEventListener('abort', onAbort, { once: true });
      const send = (): void => {
        h.send(bytes, mapped.port, mapped.address, () => {});
      };
      // a few copies in case one is lost
      for (const at of [0, timeoutMs / 8, timeoutMs / 4, timeoutMs / 2]) timers.push(setTimeout(send, at));
      timers.push(setTimeout(() => done(false), timeoutMs));
    });
  } finally {
    h.close();
  }
}

/**
 * RFC 5780 §4.6 binding lifetime, one idle time: X creates a mapping, stays quiet for `afterMs`,
 * then Y asks the server (RESPONSE-PORT = X's mapped port) to answer to X's mapping. The answer
 * reaching X means the mapping survived; reaching Y means the server ignored RESPONSE-PORT.
 */
async function lifetimeProbe(server: StunServerAddress, localIp: string, afterMs: number, rtoMs: number, signal?: AbortSignal): Promise<LifetimeProbe> {
  const x = await bindUdp(localIp);
  let y: UdpSocket | undefined;
  try {
    const first = await probe(x, server, signal ? { rtoMs, signal } : { rtoMs });
    if (!isObservation(first)) return { afterMs, outcome: 'unknown' };
    await sleep(afterMs, undefined, signal ? { signal } : {});
    y = await bindUdp(localIp);
    try {
      const r = await stunBinding(y, server, {
        rtoMs,
        maxSends: 4,
        lastWaitFactor: 8,
        responsePort: first.mapped.port,
        receiveSockets: [x, y],
        ...(signal ? { signal } : {}),
      });
      return { afterMs, outcome: r.receivedOn === x ? 'alive' : 'unknown' };
    } catch (err) {
      if (err instanceof StunClientError && err.code === 'timeout') return { afterMs, outcome: 'gone' };
      if (err instanceof StunClientError && err.code === 'aborted') throw err;
      return { afterMs, outcome: 'unknown' };
    }
  } finally {
    x.close();
    y?.close();
  }
}

/** Runs the RFC 5780 tests against `server` and classifies the NAT. */
export async function discoverNat(server: StunServerAddress, opts: NatDiscoveryOptions = {}): Promise<NatDiscoveryResult> {
  const rtoMs = opts.rtoMs ?? 250;
  const signal = opts.signal;
  const serverIp = await resolveHost(server.host);
  const localIp = opts.localIp ?? (await localAddressToward(serverIp, server.port));
  const primary = { host: serverIp, port: server.port };
  const withSignal = (o: StunBindingOptions): StunBindingOptions => (signal ? { ...o, signal } : o);
  // No answer is an expected outcome of the filtering tests, so they give up sooner (3.75 s at 250 ms).
  const quick = withSignal({ rtoMs, maxSends: 4, lastWaitFactor: 8 });
  const normal = withSignal({ rtoMs, maxSends: 5, lastWaitFactor: 8 });

  const sockets: UdpSocket[] = [];
  const open = async (): Promise<UdpSocket> => {
    const s = await bindUdp(localIp);
    sockets.push(s);
    return s;
  };
  try {
    const m = await open();
    const local = m.address();
    const obs: NatObservations = {
      localAddress: transportAddress(local.address, local.port),
      server: transportAddress(serverIp, server.port),
      test1: 'no-response',
    };
    const lifetimeMs = opts.lifetime ? (opts.lifetime === true ? DEFAULT_LIFETIME_PROBES_MS : opts.lifetime.probesMs) : undefined;
    // the lifetime probes take longest: start them first, in parallel with the rest
    const lifetime = lifetimeMs ? Promise.all(lifetimeMs.map((ms) => lifetimeProbe(primary, localIp, ms, rtoMs, signal))) : undefined;
    // keep a rejected lifetime promise from being reported as unhandled while the other tests run
    lifetime?.catch(() => {});

    obs.test1 = await probe(m, primary, normal);
    const t1 = obs.test1;
    const plan = planNatTests(obs.server, t1);

    const mappingTests = (async () => {
      if (!plan.mapping2) return;
      obs.mapping2 = await probe(m, { host: plan.mapping2.address, port: plan.mapping2.port }, normal);
      if (needsMappingTest3(plan, t1, obs.mapping2) && plan.mapping3) {
        obs.mapping3 = await probe(m, { host: plan.mapping3.address, port: plan.mapping3.port }, normal);
      }
    })();
    const filteringTests = (async () => {
      if (!plan.filteringChangeIp && !plan.filteringChangePort) return;
      const f = await open();
      const tests: Array<Promise<void>> = [];
      if (plan.filteringChangeIp) {
        tests.push(probe(f, primary, { ...quick, changeIp: true, changePort: plan.alternate === 'ip+port' }).then((o) => void (obs.filtering2 = o)));
      }
      if (plan.filteringChangePort) {
        tests.push(probe(f, primary, { ...quick, changePort: true }).then((o) => void (obs.filtering3 = o)));
      }
      await Promise.all(tests);
    })();
    const hairpin = (async () => {
      if (isObservation(t1) && opts.hairpin !== false) obs.hairpinning = await hairpinTest(m, t1.mapped, localIp, opts.hairpinTimeoutMs ?? 2000, signal);
    })();
    await Promise.all([mappingTests, filteringTests, hairpin]);
    if (lifetime) obs.lifetime = await lifetime;
    if (signal?.aborted) throw new StunClientError('aborted', 'aborted');
    return { server: formatHostPort(server.host, server.port), ...classifyNat(obs) };
  } finally {
    for (const s of sockets) s.close();
  }
}
