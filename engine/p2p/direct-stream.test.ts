import { describe, it, expect } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import UDX from 'udx-native';
import NoiseSecretStream from '@hyperswarm/secret-stream';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { noiseSeeds } from './noise-keys.js';

// Smoke test of the direct-path transport (issue 9): an encrypted, mutually authenticated udx
// stream between two UDP sockets on loopback, keyed from the tunnel secret and the session.

const MiB = 1024 * 1024;

describe('udx stream with Noise (secret-stream) keyed from the tunnel secret', () => {
  it('carries 16 MiB intact between two sockets on 127.0.0.1, and refuses a peer with keys from another secret', async () => {
    const sessionId = randomBytes(16);
    const seeds = noiseSeeds(nodeStunCrypto.hmacSha256, 'tunnel secret', sessionId);
    const offerer = NoiseSecretStream.keyPair(seeds.offerer);
    const answerer = NoiseSecretStream.keyPair(seeds.answerer);
    expect(Buffer.from(offerer.publicKey).equals(NoiseSecretStream.keyPair(noiseSeeds(nodeStunCrypto.hmacSha256, 'tunnel secret', sessionId).offerer).publicKey)).toBe(true);

    const udx = new UDX();
    const sockets = [udx.createSocket(), udx.createSocket()] as const;
    for (const s of sockets) s.bind(0, '127.0.0.1');
    const connect = (ids: [number, number], from: 0 | 1) => {
      const raw = udx.createStream(ids[0]);
      raw.connect(sockets[from], ids[1], sockets[from === 0 ? 1 : 0].address().port, '127.0.0.1');
      return raw;
    };
    try {
      // IK: the initiator (offerer) knows the answerer's public key; the answerer checks the offerer's
      const a = new NoiseSecretStream(true, connect([1, 2], 0), { pattern: 'IK', keyPair: offerer, remotePublicKey: answerer.publicKey });
      const b = new NoiseSecretStream(false, connect([2, 1], 1), { pattern: 'IK', keyPair: answerer });
      expect(await a.opened).toBe(true);
      expect(await b.opened).toBe(true);
      expect(Buffer.from(b.remotePublicKey!).equals(offerer.publicKey)).toBe(true);

      const payload = randomBytes(16 * MiB);
      const sent = createHash('sha256').update(payload).digest('hex');
      const received = createHash('sha256');
      let got = 0;
      const started = performance.now();
      const done = new Promise<void>((resolve, reject) => {
        b.on('data', (chunk: Buffer) => {
          received.update(chunk);
          got += chunk.length;
          if (got >= payload.length) resolve();
        });
        b.on('error', reject);
        a.on('error', reject);
      });
      for (let at = 0; at < payload.length; at += 64 * 1024) a.write(payload.subarray(at, at + 64 * 1024));
      await done;
      const seconds = (performance.now() - started) / 1000;
      expect(got).toBe(payload.length);
      expect(received.digest('hex')).toBe(sent);
      console.log(`udx + secret-stream loopback: 16 MiB in ${(seconds * 1000).toFixed(0)} ms = ${((16 * 8) / seconds).toFixed(0)} Mbit/s`);

      // a peer whose keys come from another secret: the offerer's IK handshake fails
      const wrong = NoiseSecretStream.keyPair(noiseSeeds(nodeStunCrypto.hmacSha256, 'another secret', sessionId).answerer);
      const c = new NoiseSecretStream(true, connect([3, 4], 0), { pattern: 'IK', keyPair: offerer, remotePublicKey: answerer.publicKey });
      const d = new NoiseSecretStream(false, connect([4, 3], 1), { pattern: 'IK', keyPair: wrong });
      c.on('error', () => {});
      d.on('error', () => {});
      expect(await Promise.race([c.opened, new Promise((r) => setTimeout(() => r('timeout'), 5000))])).toBe(false);
      for (const s of [a, b, c, d]) s.destroy();
    } finally {
      for (const s of sockets) await s.close();
    }
  });
});
