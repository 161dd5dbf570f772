/**
 * The console's NAT wizard: runs the engine's NAT detector (nat-discovery.ts, what `burrow nat`
 * runs) and reports each step as it goes, so the page can show progress: local addresses, the STUN
 * mapping (one Binding request, RFC 8489), then the RFC 5780 tests (mapping §4.3, filtering §4.4,
 * hairpinning §4.5, binding lifetime §4.6 when asked), then the verdict.
 */
import { networkInterfaces } from 'node:os';
import type { z } from 'zod';
import type { NatProgressSchema, NatWizardReportSchema } from '../../shared/ipc/contract.js';
import { parseHostPort } from '../../shared/net/address.js';
import { bindUdp, discoverNat, type NatDiscoveryOptions } from '../stun/nat-discovery.js';
import { effectiveKind, p2pPath, PEER_KINDS } from '../stun/nat-verdict.js';
import { localAddressToward, stunBinding, StunClientError } from '../stun/stun-client.js';

export type NatProgress = z.output<typeof NatProgressSchema>;
export type NatWizardReport = z.output<typeof NatWizardReportSchema>;

/** The addresses of this machine's network interfaces (loopback and link-local left out). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) out.push(a.address);
  }
  return out;
}

export async function runNatWizard(stun: string, opts: { lifetime?: boolean; rtoMs?: number; signal?: AbortSignal }, progress: (p: NatProgress) => void): Promise<NatWizardReport> {
  const server = parseHostPort(stun);
  if (!server || server.port === 0) throw new Error(`expected the STUN server as HOST:PORT, got "${stun}"`);

  progress({ step: 'local-addresses', state: 'running' });
  const addresses = localAddresses();
  let toward: string;
  try {
    toward = await localAddressToward(server.host, server.port);
  } catch (err) {
    progress({ step: 'local-addresses', state: 'failed', detail: (err as Error).message });
    throw new Error(`cannot reach ${stun} from this machine: ${(err as Error).message}`);
  }
  if (!addresses.includes(toward)) addresses.unshift(toward);
  progress({ step: 'local-addresses', state: 'done', detail: `${addresses.join(', ')} (tests run from ${toward})` });

  // One plain Binding request first: says quickly whether the server answers at all.
  progress({ step: 'stun-mapping', state: 'running' });
  const socket = await bindUdp(toward);
  try {
    const r = await stunBinding(socket, server, { rtoMs: opts.rtoMs ?? 250, maxSends: 5, lastWaitFactor: 8, ...(opts.signal ? { signal: opts.signal } : {}) });
    progress({ step: 'stun-mapping', state: 'done', detail: `seen from outside as ${r.mapped.address}:${r.mapped.port}` });
  } catch (err) {
    const noReply = err instanceof StunClientError && err.code === 'timeout';
    progress({ step: 'stun-mapping', state: noReply ? 'no-reply' : 'failed', detail: noReply ? `no reply from ${stun}` : (err as Error).message });
    for (const step of ['mapping-behaviour', 'filtering-behaviour', 'hairpinning', 'binding-lifetime'] as const) progress({ step, state: 'skipped', detail: 'the server did not answer' });
    throw new Error(noReply ? `no reply from the STUN server ${stun}: is it running, and is UDP port ${server.port} open?` : `STUN request to ${stun} failed: ${(err as Error).message}`);
  } finally {
    socket.close();
  }

  progress({ step: 'mapping-behaviour', state: 'running' });
  progress({ step: 'filtering-behaviour', state: 'running' });
  progress({ step: 'hairpinning', state: 'running' });
  progress(opts.lifetime ? { step: 'binding-lifetime', state: 'running', detail: 'about a minute' } : { step: 'binding-lifetime', state: 'skipped', detail: 'not asked for' });
  const discovery: NatDiscoveryOptions = { localIp: toward, lifetime: !!opts.lifetime, ...(opts.rtoMs ? { rtoMs: opts.rtoMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  const r = await discoverNat(server, discovery);
  const behaviour = (b: string) => (b === 'unknown' ? ({ state: 'no-reply', detail: 'no reply to the test (see the notes)' } as const) : ({ state: 'done', detail: b } as const));
  progress({ step: 'mapping-behaviour', ...behaviour(r.mapping) });
  progress({ step: 'filtering-behaviour', ...behaviour(r.filtering) });
  progress(r.hairpinning === 'unknown' ? { step: 'hairpinning', state: 'no-reply', detail: 'not tested' } : { step: 'hairpinning', state: 'done', detail: r.hairpinning ? 'works' : 'does not work' });
  if (opts.lifetime) {
    const l = r.bindingLifetime;
    progress(l && l.atLeastMs > 0 ? { step: 'binding-lifetime', state: 'done', detail: l.lessThanMs === undefined ? `at least ${l.atLeastMs / 1000} s` : `${l.atLeastMs / 1000} to ${l.lessThanMs / 1000} s` } : { step: 'binding-lifetime', state: 'no-reply' });
  }
  const own = effectiveKind(r);
  return {
    ...r,
    localAddresses: addresses,
    ownKind: own,
    peers: PEER_KINDS.map((kind) => ({ kind, path: p2pPath(own, kind) })),
  };
}
