import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, PROTOCOL_VERSION } from '../../shared/protocol/frame.js';
import { MessageType } from '../../shared/protocol/messages.js';
import { dial } from '../../io/dial.js';
import { ensureSelfSignedIdentity } from '../../io/tls-identity.js';
import {
  connectTcp,
  echoServer,
  roundTrip,
  sha256,
  startClient,
  startServer,
  tempDir,
  tunnelOnline,
  waitFor,
} from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Opens a raw connection to the control port, sends `bytes`, resolves with what came back once closed. */
async function sendRaw(port: number, bytes: Buffer | undefined, timeoutMs = 8000): Promise<{ closed: boolean; received: Buffer }> {
  // Not half-open: the server's FIN closes this socket, as it would for an ordinary client.
  const socket = connect({ host: '127.0.0.1', port });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
    if (bytes) socket.write(bytes);
  });
}

function errorFrameCode(received: Buffer): string | undefined {
  // Skip the Challenge frame; find the Error frame.
  let offset = 0;
  while (offset + 6 <= received.length) {
    const type = received[offset + 1]!;
    const length = received.readUInt32BE(offset + 2);
    const payload = received.subarray(offset + 6, offset + 6 + length);
    if (type === MessageType.Error) return (JSON.parse(payload.toString()) as { code: string }).code;
    offset += 6 + length;
  }
  return undefined;
}

describe('authentication', () => {
  it('a wrong token fails with "authentication failed", retries with backoff, and the server rate-limits the source', async () => {
    const server = await startServer({ authFailureLimit: { failures: 2, windowSeconds: 60 } });
    cleanup.push(() => server.stop());
    const engine = await startClient(server, { token: 'not-the-right-token' });
    cleanup.push(() => engine.stop());
    await waitFor(() => engine.status().reconnects >= 3, 'three login attempts', 15_000);
    const status = engine.status();
    expect(status.state).not.toBe('online');
    expect(status.error).toMatch(/authentication failed|too many failed logins/);
    const counters = server.snapshot().counters;
    expect(counters.loginsFailed).toBe(2);
    expect(counters.loginsRateLimited).toBeGreaterThanOrEqual(1);
    expect(server.snapshot().clients).toHaveLength(0);
  }, 30_000);
});

describe('a stranger cannot lock a user out', () => {
  it('200 wrong-token logins from one address: the right client on the same address still logs in at once', async () => {
    const server = await startServer(); // authFailureLimit: 5 per 60 s (the default)
    cleanup.push(() => server.stop());
    const wrongLogin = () =>
      Buffer.from(
        encodeFrame(
          MessageType.Login,
          new TextEncoder().encode(
            JSON.stringify({ version: 'x', clientId: 'stranger', timestamp: Date.now(), nonce: randomBytes(16).toString('hex'), proof: randomBytes(32).toString('hex') }),
          ),
        ),
      );
    const results: Array<{ closed: boolean; received: Buffer }> = [];
    for (let batch = 0; batch < 4; batch++) {
      results.push(...(await Promise.all(Array.from({ length: 50 }, () => sendRaw(server.address.port, wrongLogin())))));
    }
    const codes = results.map((r) => errorFrameCode(r.received));
    expect(codes.filter((c) => c === 'auth-failed')).toHaveLength(5);
    expect(codes.filter((c) => c === 'rate-limited')).toHaveLength(195);
    const counters = server.snapshot().counters;
    expect(counters.loginsFailed).toBe(5);
    expect(counters.loginsRateLimited).toBe(195);

    const started = Date.now();
    const engine = await startClient(server);
    cleanup.push(() => engine.stop());
    await waitFor(() => engine.status().state === 'online', 'the right client to log in', 5000);
    expect(engine.status().reconnects).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.snapshot().clients).toHaveLength(1);
  }, 60_000);

  it('a rate-limited refusal tells the client when to retry (Error.retryAfter)', async () => {
    const server = await startServer({ authFailureLimit: { failures: 1, windowSeconds: 30 } });
    cleanup.push(() => server.stop());
    const engine = await startClient(server, { token: 'not-the-right-token' });
    cleanup.push(() => engine.stop());
    await waitFor(() => /retry in \d+ s/.test(engine.status().error ?? ''), 'a rate-limited refusal', 10_000);
    const status = engine.status();
    expect(status.error).toMatch(/^authentication failed: the server refused the token; too many failed logins from 127\.0\.0\.1; retry in (29|30) s$/);
    // That the client then waits those ~30 s is shown on a fake clock in engine/control-client.test.ts.
    expect(server.snapshot().counters.loginsFailed).toBe(1);
    expect(server.snapshot().counters.loginsRateLimited).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('malformed input on the control port', () => {
  it('closes each bad connection with a reason while a tunnel keeps carrying traffic', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const server = await startServer({ handshakeTimeout: 1 });
    cleanup.push(() => server.stop());
    const engine = await startClient(server, { tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }] });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'echo');
    const control = server.address.port;

    // A transfer in flight through the tunnel while garbage arrives.
    const payload = randomBytes(16 * 1024 * 1024);
    const transfer = connectTcp(port).then((s) => roundTrip(s, payload));

    const oversize = Buffer.alloc(6);
    oversize[0] = PROTOCOL_VERSION;
    oversize[1] = MessageType.Login;
    oversize.writeUInt32BE(0xffffffff, 2);
    const results = await Promise.all([
      sendRaw(control, randomBytes(4096)),
      sendRaw(control, oversize),
      sendRaw(control, Buffer.from(encodeFrame(0xee, new Uint8Array(4)))),
      sendRaw(control, Buffer.from([9, 2, 0, 0, 0, 0])),
      sendRaw(control, Buffer.from(encodeFrame(MessageType.Login, new TextEncoder().encode('{"not":"a login"}')))),
      sendRaw(control, Buffer.from(encodeFrame(MessageType.Ping, new TextEncoder().encode('{"time":1}')))),
      sendRaw(control, undefined), // silence: the handshake timeout closes it
    ]);
    expect(results.every((r) => r.closed)).toBe(true);
    expect(errorFrameCode(results[1]!.received)).toBe('oversize');
    expect(errorFrameCode(results[2]!.received)).toBe('unknown-type');
    expect(errorFrameCode(results[3]!.received)).toBe('bad-version');
    expect(errorFrameCode(results[4]!.received)).toBe('bad-payload');
    expect(errorFrameCode(results[5]!.received)).toBe('unexpected-message');

    const back = await transfer;
    expect(sha256(back)).toBe(sha256(payload));
    expect(server.snapshot().counters.protocolErrors).toBeGreaterThanOrEqual(5);
    // Still serving: a new connection through the tunnel works and the client never dropped.
    expect((await roundTrip(await connectTcp(port), Buffer.from('after'))).toString()).toBe('after');
    expect(engine.status().reconnects).toBe(0);
  }, 30_000);

  it('a half-finished TLS handshake is dropped after the handshake timeout', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const server = await startServer({ tls: true, handshakeTimeout: 1 }, dir.path);
    cleanup.push(() => server.stop());
    // The first bytes of a TLS ClientHello record, then nothing.
    const started = Date.now();
    const r = await sendRaw(server.address.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
    expect(r.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    // And a proper TLS client still gets a Challenge.
    const ok = await new Promise<boolean>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: server.address.port, rejectUnauthorized: false }, () => undefined);
      s.once('data', (d: Buffer) => {
        resolve(d[1] === MessageType.Challenge);
        s.destroy();
      });
      s.once('error', () => resolve(false));
    });
    expect(ok).toBe(true);
  });
});

describe('the cipher of the control channel', () => {
  /** Connects with `options`, resolves with the negotiated TLS 1.3 suite. */
  function suiteWith(port: number, options: { ciphers?: string }): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
        resolve(s.getCipher().standardName);
        s.destroy();
      });
      s.once('error', reject);
    });
  }

  it('is AES-128-GCM even for a client that prefers AES-256 (node\'s default), and AES-256 or ChaCha20 when that is all a client offers', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const server = await startServer({ tls: true }, dir.path);
    cleanup.push(() => server.stop());
    const port = server.address.port;
    expect(await suiteWith(port, {})).toBe('TLS_AES_128_GCM_SHA256');
    expect(await suiteWith(port, { ciphers: 'TLS_AES_256_GCM_SHA384' })).toBe('TLS_AES_256_GCM_SHA384');
    expect(await suiteWith(port, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256' })).toBe('TLS_CHACHA20_POLY1305_SHA256');
  });

  it('dial() asks for AES-128-GCM first, so a server that follows the client\'s order picks it', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    // A TLS server that lets the client's order decide (node's own default is the server's order).
    const identity = await ensureSelfSignedIdentity(dir.path);
    const stock = createTlsServer({ cert: identity.cert, key: identity.key, honorCipherOrder: false }, (s) => s.end());
    await new Promise<void>((resolve) => stock.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => stock.close(resolve)));
    const { socket } = await dial({ host: '127.0.0.1', port: (stock.address() as AddressInfo).port, tls: true, timeoutMs: 5000 });
    cleanup.push(() => socket.destroy());
    expect((socket as TLSSocket).getCipher().standardName).toBe('TLS_AES_128_GCM_SHA256');
  });
});

describe('recovery', () => {
  it('after a server restart the client reconnects, re-registers, and the tunnel works again', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const dir = await tempDir();
    cleanup.push(dir.remove);
    let server = await startServer({ tls: true }, dir.path);
    const controlPort = server.address.port;
    const engine = await startClient(server, { tls: true, tunnels: [{ name: 'echo', type: 'tcp', local: `127.0.0.1:${echo.port}`, remotePort: 0 }] });
    cleanup.push(() => engine.stop());
    const port = await tunnelOnline(engine, 'echo');
    expect((await roundTrip(await connectTcp(port), Buffer.from('before'))).toString()).toBe('before');

    await server.stop();
    await waitFor(() => engine.status().state !== 'online', 'client to notice the server is gone');
    // Same state dir (same certificate, so trust-on-first-use still matches), same control port.
    server = await startServer({ tls: true, listen: `127.0.0.1:${controlPort}`, allowPorts: [String(port)] }, dir.path);
    cleanup.push(() => server.stop());
    await waitFor(() => engine.status().state === 'online' && engine.status().tunnels[0]!.state === 'online', 'client back online', 20_000);
    expect(await tunnelOnline(engine, 'echo')).toBe(port);
    expect((await roundTrip(await connectTcp(port), Buffer.from('after restart'))).toString()).toBe('after restart');
    expect(engine.status().reconnects).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it('refuses a server whose certificate does not match the pinned serverFingerprint', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const server = await startServer({ tls: true }, dir.path);
    cleanup.push(() => server.stop());
    const wrong = 'AA:'.repeat(31) + 'AA';
    const engine = await startClient(server, { tls: true, serverFingerprint: wrong });
    cleanup.push(() => engine.stop());
    await waitFor(() => engine.status().state === 'error', 'pinning refusal');
    expect(engine.status().error).toBe(`server certificate fingerprint ${server.fingerprint} does not match serverFingerprint ${wrong} in the config`);
    expect(server.snapshot().counters.loginsSucceeded).toBe(0);
    // With the right pin it connects.
    const good = await startClient(server, { tls: true, serverFingerprint: server.fingerprint!.replace(/:/g, '').toLowerCase() });
    cleanup.push(() => good.stop());
    await waitFor(() => good.status().state === 'online', 'pinned client online');
  });

  it('refuses a server whose certificate changed since first use', async () => {
    const echo = await echoServer();
    cleanup.push(echo.close);
    const [a, b, clientState] = await Promise.all([tempDir(), tempDir(), tempDir()]);
    cleanup.push(a.remove, b.remove, clientState.remove);
    let server = await startServer({ tls: true }, a.path);
    const controlPort = server.address.port;
    const engine = await startClient(server, { tls: true }, clientState.path);
    cleanup.push(() => engine.stop());
    await waitFor(() => engine.status().state === 'online', 'first connection');
    await server.stop();
    server = await startServer({ tls: true, listen: `127.0.0.1:${controlPort}` }, b.path); // new certificate
    cleanup.push(() => server.stop());
    await waitFor(() => /certificate changed/.test(engine.status().error ?? ''), 'fingerprint refusal', 20_000);
    expect(server.snapshot().clients).toHaveLength(0);
  }, 40_000);
});
