import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AccessList } from '../../io/access-list.js';
import { ServerConfigSchema } from '../../shared/config/server-config.js';
import { TrafficStats } from '../../shared/traffic-stats.js';
import { TunnelError, type ServerTunnel, type TunnelContext } from '../server-tunnel.js';
import { VisitorTargets } from '../visitor-targets.js';
import { openOnPublicPort } from './public-port.js';
import type { TunnelOpenEnv, TunnelRequest } from './tunnel-type.js';

function env(allowPorts: string[]): TunnelOpenEnv {
  const session = { clientId: 'laptop', logger: pino({ level: 'silent' }) } as unknown as TunnelContext;
  return { config: ServerConfigSchema.parse({ token: 'secret-token', allowPorts }), session, visitorTargets: new VisitorTargets() };
}

/** A listen function that records the ports asked for and refuses the ones in `taken`. */
function recordingListen(taken: (port: number) => boolean) {
  const asked: Array<{ host: string; port: number; access: AccessList }> = [];
  const listen = async (host: string, port: number, access: AccessList): Promise<ServerTunnel> => {
    asked.push({ host, port, access });
    if (taken(port)) throw new TunnelError(`port ${port} is already in use`);
    return { name: 'ssh', type: 'tcp', remotePort: port, stats: new TrafficStats(), createdAt: new Date(), close: async () => {} };
  };
  return { asked, listen };
}

const request = (fields: Partial<TunnelRequest>): TunnelRequest => ({ type: 'NewTunnel', name: 'ssh', kind: 'tcp', ...fields });

describe('openOnPublicPort', () => {
  it('listens on the requested port on proxyBind, with the request access list', async () => {
    const { asked, listen } = recordingListen(() => false);
    const tunnel = await openOnPublicPort(request({ remotePort: 6000, deny: ['203.0.113.0/24'] }), env(['6000']), listen);
    expect(tunnel.remotePort).toBe(6000);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.host).toBe('0.0.0.0');
    expect(asked[0]!.access.allows('203.0.113.9')).toBe(false);
    expect(asked[0]!.access.allows('198.51.100.1')).toBe(true);
  });

  it('refuses a port outside allowPorts without listening', async () => {
    const { asked, listen } = recordingListen(() => false);
    await expect(openOnPublicPort(request({ remotePort: 22 }), env(['6000-6010']), listen)).rejects.toThrow(
      new TunnelError('port 22 is not allowed (allowed: 6000-6010)'),
    );
    expect(asked).toHaveLength(0);
  });

  it('refuses a bad allow/deny entry as a tunnel error (the client shows it)', async () => {
    const { listen } = recordingListen(() => false);
    await expect(openOnPublicPort(request({ allow: ['not-an-address'] }), env(['6000']), listen)).rejects.toBeInstanceOf(TunnelError);
  });

  it('remotePort 0 tries allowed ports until one is free', async () => {
    let attempts = 0;
    const { asked, listen } = recordingListen(() => ++attempts < 3);
    const tunnel = await openOnPublicPort(request({ remotePort: 0 }), env(['6000-6009', '7000']), listen);
    expect(asked).toHaveLength(3);
    expect(tunnel.remotePort).toBe(asked[2]!.port);
    for (const a of asked) expect(a.port === 7000 || (a.port >= 6000 && a.port <= 6009)).toBe(true);
  });

  it('remotePort 0 gives up with "no free port" when every attempt is taken', async () => {
    const { asked, listen } = recordingListen(() => true);
    await expect(openOnPublicPort(request({}), env(['6000-6001']), listen)).rejects.toThrow(new TunnelError('no free port in 6000-6001'));
    expect(asked).toHaveLength(20);
  });

  it('passes an unexpected failure through at once instead of trying other ports', async () => {
    let calls = 0;
    const listen = async (): Promise<ServerTunnel> => {
      calls++;
      throw new Error('EMFILE');
    };
    await expect(openOnPublicPort(request({}), env(['6000-6100']), listen)).rejects.toThrow('EMFILE');
    expect(calls).toBe(1);
  });
});
