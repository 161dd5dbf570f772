/// <reference lib="dom" />
/**
 * Two relay-only WebRTC peers in Debian's Chromium (`iceTransportPolicy: 'relay'`) on one Burrow
 * TURN server with the default peer policy: the most common TURN case (both peers behind hard
 * NATs), which the "server's own address" refusal used to break (issue 8 point 8). Under CI=true a
 * missing Chromium fails the test; elsewhere it is reported and skipped.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from '@playwright/test';
import { afterEach, describe, expect, it } from 'vitest';
import type { BurrowServer } from '../../server/burrow-server.js';
import { startServer } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') throw new Error(`Chromium is required under CI=true (${CHROMIUM} missing)`);
if (!haveChromium) console.warn(`skipping the WebRTC relay test: no Chromium at ${CHROMIUM}`);

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Runs in the page: two peer connections through `turnUrl` only; resolves with what went over the data channel. */
async function relayOnlyCall(args: { turnUrl: string; username: string; credential: string }): Promise<{ received: string; localType: string; remoteType: string; remoteAddress: string }> {
  const config: RTCConfiguration = { iceServers: [{ urls: args.turnUrl, username: args.username, credential: args.credential }], iceTransportPolicy: 'relay' };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  a.onicecandidate = (e) => void (e.candidate && b.addIceCandidate(e.candidate));
  b.onicecandidate = (e) => void (e.candidate && a.addIceCandidate(e.candidate));
  const channel = a.createDataChannel('burrow');
  const received = new Promise<string>((resolve) => {
    b.ondatachannel = (e) => (e.channel.onmessage = (m) => resolve(String(m.data)));
  });
  const opened = new Promise<void>((resolve, reject) => {
    channel.onopen = () => resolve();
    a.onconnectionstatechange = () => a.connectionState === 'failed' && reject(new Error('ICE failed: no relayed path between the two peers'));
  });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  await opened;
  channel.send('hello through the relay');
  const text = await received;
  // The selected pair (the transport's selectedCandidatePairId, W3C webrtc-stats §7.11): both ends
  // relayed. A pair's `nominated` flag can still be false on the controlling side when the first
  // message has already gone over it, so it is not what picks the pair.
  const stats = [...(await a.getStats()).values()];
  const selectedId = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = stats.find((s) => s.type === 'candidate-pair' && s.id === selectedId);
  const local = stats.find((s) => s.id === pair?.localCandidateId);
  const remote = stats.find((s) => s.id === pair?.remoteCandidateId);
  a.close();
  b.close();
  return { received: text, localType: local?.candidateType, remoteType: remote?.candidateType, remoteAddress: remote?.address ?? remote?.ip };
}

describe.skipIf(!haveChromium)('WebRTC through Burrow TURN (Chromium)', () => {
  let browser: Browser;

  async function call(server: BurrowServer): Promise<Awaited<ReturnType<typeof relayOnlyCall>>> {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    cleanup.push(() => page.close());
    const port = server.snapshot().stun!.addresses.udp[0]!.port;
    return page.evaluate(relayOnlyCall, { turnUrl: `turn:127.0.0.1:${port}?transport=udp`, username: 'alice', credential: 'wonderland' });
  }

  afterEach(async () => {
    await browser?.close();
    browser = undefined as unknown as Browser;
  });

  it('two relay-only peers on one server connect with the default peer policy', async () => {
    const server = await startServer({ stun: { listen: '127.0.0.1:0' }, turn: { users: { alice: 'wonderland' }, relayIps: ['127.0.0.1'] } });
    cleanup.push(() => server.stop());
    const result = await call(server);
    expect(result).toMatchObject({ received: 'hello through the relay', localType: 'relay', remoteType: 'relay', remoteAddress: '127.0.0.1' });
    expect(server.snapshot().turn!.stats.packetsRelayed.toPeers).toBeGreaterThan(0);
  }, 60_000);
});
