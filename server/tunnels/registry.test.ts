import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ServerConfigSchema } from '../../shared/config/server-config.js';
import { TunnelKind } from '../../shared/protocol/messages.js';
import { TunnelError, type TunnelContext } from '../server-tunnel.js';
import { VisitorTargets } from '../visitor-targets.js';
import { serverTunnelTypes } from './registry.js';
import type { TunnelOpenEnv } from './tunnel-type.js';

const KEY = 'ab'.repeat(32);

function env(clientId: string, visitorTargets: VisitorTargets): TunnelOpenEnv {
  const session = { clientId, logger: pino({ level: 'silent' }) } as unknown as TunnelContext;
  return { config: ServerConfigSchema.parse({ token: 'secret-token' }), session, visitorTargets };
}

describe('server tunnel types', () => {
  it('opens every kind the wire accepts', () => {
    expect(Object.keys(serverTunnelTypes).sort()).toEqual([...TunnelKind.options].sort());
  });

  it('secret: a visitor finds the tunnel by name until it closes', async () => {
    const targets = new VisitorTargets();
    const tunnel = await serverTunnelTypes.secret.open({ type: 'NewTunnel', name: 'db', kind: 'secret', secretKey: KEY }, env('laptop', targets));
    expect(tunnel.remotePort).toBeUndefined();
    expect(targets.get('db')?.secretKey).toBe(KEY);
    await tunnel.close();
    expect(targets.get('db')).toBeUndefined();
  });

  it('secret: refuses a request without a key, and a name another client holds', async () => {
    const targets = new VisitorTargets();
    await expect(serverTunnelTypes.secret.open({ type: 'NewTunnel', name: 'db', kind: 'secret' }, env('laptop', targets))).rejects.toThrow(
      new TunnelError('secret tunnel without a key'),
    );
    await serverTunnelTypes.secret.open({ type: 'NewTunnel', name: 'db', kind: 'secret', secretKey: KEY }, env('laptop', targets));
    await expect(serverTunnelTypes.secret.open({ type: 'NewTunnel', name: 'db', kind: 'secret', secretKey: KEY }, env('desktop', targets))).rejects.toThrow(
      new TunnelError('secret tunnel name "db" is taken by another client'),
    );
  });
});
