/**
 * Issue 9, NAT lab test 4: hijack. A third host on the lab's internet that knows the punch session id
 * (and both ends of the punched path) but not the tunnel secret floods both ends with forged punch
 * probes of that session (nominating requests, responses, both directions), forged udx packets (data,
 * end and destroy) for the session's control stream ids and the low data stream ids, and garbage,
 * while 16 MiB go through the path. The data arrives intact, the path stays direct with the same
 * peer on both sides, and a connection after the attack still takes it.
 *
 * The service sits behind a full cone, so the attacker's packets reach the service host's punched
 * socket through the NAT (a filtering NAT would drop them before Burrow saw them); the visitor host
 * has no NAT at all.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labUnavailableReason, NatLab } from './lab.js';
import { ECHO_PORT, startClient, startEcho, startServer, TOOL, transfer, waitForVisitor } from './p2p-lab.js';

const REQUIRED = !!process.env.CI;
const UNAVAILABLE = labUnavailableReason();
if (UNAVAILABLE && !REQUIRED) console.warn(`p2p-hijack: skipping the NAT lab tests: ${UNAVAILABLE}`);
const BUILT = existsSync(resolve(import.meta.dirname, '../../dist/cli/main.js'));

const BIND = 20_000;
const BYTES = 16 * 1024 * 1024;
const FLOOD_MS = 4_000;
const suiteName = `p2p hijack in the NAT lab (issue 9 test 4)${UNAVAILABLE && !REQUIRED ? ` [skipped: ${UNAVAILABLE}]` : ''}`;

describe.skipIf(UNAVAILABLE !== null && !REQUIRED)(suiteName, () => {
  let lab: NatLab | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    lab?.down();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a host with the session id but not the secret cannot inject into, break or take over a punched path', async () => {
    if (UNAVAILABLE) throw new Error(`the NAT lab cannot run here: ${UNAVAILABLE}`);
    if (!BUILT) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    lab = NatLab.up(['full', 'none', 'none']);
    dir = await mkdtemp(join(tmpdir(), 'burrow-natlab-hijack-'));
    const [serving, visiting, attacker] = lab.peers as [(typeof lab.peers)[0], (typeof lab.peers)[0], (typeof lab.peers)[0]];
    await startServer(lab, dir);
    await startEcho(lab, serving);
    const owner = await startClient(lab, dir, serving, { tunnels: [{ name: 'svc', local: `127.0.0.1:${ECHO_PORT}` }] });
    const visitor = await startClient(lab, dir, visiting, { visitors: [{ name: 'to-svc', tunnel: 'svc', bind: `127.0.0.1:${BIND}` }] });
    const before = await waitForVisitor(visitor, 'to-svc', 'a direct path', (p) => p.path === 'direct', 30_000);
    const sessionId = before.attempts.at(-1)!.sessionId;
    const ownerBefore = (await owner.status()).tunnels[0]!.p2p!;
    expect(ownerBefore.path).toBe('direct');
    // what the attacker aims at: both ends of the punched path, as the two sides see them
    const visitorEnd = ownerBefore.pair!.remote;
    const serviceEnd = before.pair!.remote;
    expect(visitorEnd).toMatch(new RegExp(`^${visiting.publicIp.replace(/\./g, '\\.')}:\\d+$`));
    expect(serviceEnd).toMatch(new RegExp(`^${serving.publicIp.replace(/\./g, '\\.')}:\\d+$`));

    // count what of the attack reaches each end's host (after the full cone's DNAT on the service side)
    for (const peer of [visiting, serving]) {
      for (const args of [
        ['add', 'table', 'ip', 'attack'],
        ['add', 'chain', 'ip', 'attack', 'input', '{ type filter hook input priority -10; policy accept; }'],
        ['add', 'rule', 'ip', 'attack', 'input', 'ip', 'saddr', attacker.publicIp, 'meta', 'l4proto', 'udp', 'counter'],
      ]) {
        const r = await lab.run(peer.host, 'nft', args);
        expect(r.code, `nft ${args.join(' ')}: ${r.stderr}`).toBe(0);
      }
    }
    const received = async (peer: typeof visiting) => Number(/counter packets (\d+)/.exec((await lab!.run(peer.host, 'nft', ['list', 'table', 'ip', 'attack'])).stdout)?.[1] ?? 0);

    const flood = lab.run(attacker.host, process.execPath, [TOOL, 'flood', String(FLOOD_MS), sessionId, visitorEnd, serviceEnd], FLOOD_MS + 10_000);
    const during = await transfer(lab, visiting, BIND, BYTES);
    const flooded = await flood;
    const sent = JSON.parse(flooded.stdout.trim().split('\n').at(-1) ?? '{}') as { sent?: number };
    console.log(`p2p hijack: the attacker sent ${sent.sent} forged datagrams in ${FLOOD_MS} ms; 16 MiB echo during it: ${(BYTES / 1024 / 1024 / (during.ms / 1000)).toFixed(1)} MiB/s`);
    expect(sent.sent, flooded.stdout + flooded.stderr).toBeGreaterThan(1_000);
    // the attack did reach both ends of the path (not stopped by a NAT on the way)
    const [atVisitor, atService] = [await received(visiting), await received(serving)];
    console.log(`p2p hijack: ${atVisitor} forged datagrams reached the visitor host, ${atService} the service host`);
    expect(atVisitor).toBeGreaterThan(500);
    expect(atService).toBeGreaterThan(500);

    // nothing injected: every byte came back as sent
    expect(during.received).toBe(BYTES);
    expect(during.receivedSha256).toBe(during.sentSha256);
    // nothing taken over: the same path, with the same peer, on both sides, and no new attempt
    const after = await waitForVisitor(visitor, 'to-svc', 'the transfer counted', (p) => p.direct.connections === 1, 10_000);
    expect(after.path).toBe('direct');
    expect(after.pair).toEqual(before.pair);
    expect(after.attempts.at(-1)!.sessionId).toBe(sessionId);
    expect(after.direct).toMatchObject({ bytesIn: BYTES, bytesOut: BYTES });
    expect(after.relay.connections).toBe(0);
    const ownerAfter = (await owner.cliStatus()).tunnels[0]!.p2p!;
    expect(ownerAfter.path).toBe('direct');
    expect(ownerAfter.pair).toEqual(ownerBefore.pair);
    // the forged probes were seen, dropped and counted on both sides
    console.log(`p2p hijack: rejected probes: visitor ${after.rejectedProbes}, service ${ownerAfter.rejectedProbes}`);
    expect(before.rejectedProbes).toBe(0);
    expect(after.rejectedProbes).toBeGreaterThan(100);
    expect(ownerAfter.rejectedProbes).toBeGreaterThan(100);

    // and the path still works once the attacker is done
    const later = await transfer(lab, visiting, BIND, 1024 * 1024);
    expect(later.receivedSha256).toBe(later.sentSha256);
    const last = await waitForVisitor(visitor, 'to-svc', 'the later connection counted', (p) => p.direct.connections === 2, 10_000);
    expect(last.path).toBe('direct');
    expect(last.relay.connections).toBe(0);
  }, 120_000);
});
