import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../io/logger.js';
import { startLocalServer } from './local-server.js';

const canConnect = (hostPort: string) =>
  new Promise<boolean>((r) => {
    const [host, port] = hostPort.split(':');
    const c = createConnection({ host: host!, port: Number(port) }, () => (c.destroy(), r(true)));
    c.on('error', () => r(false));
  });

describe('the embedded server of "Try it locally"', () => {
  it('listens on loopback with TLS, a pinned fingerprint, a token and STUN, and is gone after stop()', async () => {
    const local = await startLocalServer(silentLogger());
    expect(local.server).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(local.stun).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(local.tls).toBe(true);
    expect(local.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(local.token).toMatch(/^[0-9a-f]{32}$/);
    expect(await canConnect(local.server)).toBe(true);
    await local.stop();
    expect(await canConnect(local.server)).toBe(false);
  });
});
