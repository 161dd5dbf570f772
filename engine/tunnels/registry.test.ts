import { describe, expect, it } from 'vitest';
import { secretTunnelKey } from '../../io/auth-proof.js';
import { ClientConfigSchema, TUNNEL_TYPES, type TunnelConfig } from '../../shared/config/client-config.js';
import { encodeMessage, MessageDecoder } from '../../shared/protocol/messages.js';
import { ManualClock } from '../../shared/clock.js';
import { clientTunnelFor, engineTunnelTypes } from './registry.js';

const clock = new ManualClock();

function tunnels(...input: unknown[]): TunnelConfig[] {
  return ClientConfigSchema.parse({ server: 'relay.example:7000', token: 'secret-token', tunnels: input }).tunnels;
}

/** What the server decodes from the NewTunnel frame the engine would send for this tunnel. */
function onTheWire(config: TunnelConfig) {
  return new MessageDecoder().push(encodeMessage({ type: 'NewTunnel', ...clientTunnelFor(config, clock).tunnelType.request(config) }))[0];
}

describe('engine tunnel types', () => {
  it('has one entry per config tunnel type', () => {
    expect(Object.keys(engineTunnelTypes).sort()).toEqual([...TUNNEL_TYPES].sort());
  });

  it('asks the server for each type what the NewTunnel message carries for it', () => {
    const [tcp, udp, secret] = tunnels(
      { name: 'ssh', type: 'tcp', local: '127.0.0.1:22', remotePort: 6000, allow: ['10.0.0.0/8'] },
      { name: 'dns', type: 'udp', local: '127.0.0.1:53', remotePort: 0, idleTimeout: 30 },
      { name: 'db', type: 'secret', local: '127.0.0.1:5432', secret: 'correct horse' },
    );
    expect(onTheWire(tcp!)).toEqual({ type: 'NewTunnel', name: 'ssh', kind: 'tcp', remotePort: 6000, allow: ['10.0.0.0/8'] });
    expect(onTheWire(udp!)).toEqual({ type: 'NewTunnel', name: 'dns', kind: 'udp', remotePort: 0, idleTimeout: 30 });
    expect(onTheWire(secret!)).toEqual({ type: 'NewTunnel', name: 'db', kind: 'secret', secretKey: secretTunnelKey('correct horse', 'db') });
  });

  it('never sends a secret tunnel its secret', () => {
    const [secret] = tunnels({ name: 'db', type: 'secret', local: '127.0.0.1:5432', secret: 'correct horse' });
    expect(JSON.stringify(clientTunnelFor(secret!, clock).tunnelType.request(secret!))).not.toContain('correct horse');
  });

  it('udp work connections stay framed (datagrams); tcp and secret ones become byte pipes', () => {
    expect(engineTunnelTypes.udp.carries).toBe('datagrams');
    expect(engineTunnelTypes.tcp.carries).toBe('bytes');
    expect(engineTunnelTypes.secret.carries).toBe('bytes');
  });

  it('shows a public address for tcp and udp once the server names the port, never for secret', () => {
    const all = tunnels(
      { name: 'ssh', type: 'tcp', local: '127.0.0.1:22', remotePort: 0 },
      { name: 'dns', type: 'udp', local: '127.0.0.1:53', remotePort: 0 },
      { name: 'db', type: 'secret', local: '127.0.0.1:5432', secret: 'correct horse' },
    ).map((t) => clientTunnelFor(t, clock));
    for (const t of all) expect(t.status('relay.example')).not.toHaveProperty('remoteAddress');
    for (const t of all) t.remotePort = 6001;
    expect(all.map((t) => t.status('2001:db8::1').remoteAddress)).toEqual(['[2001:db8::1]:6001', '[2001:db8::1]:6001', undefined]);
  });
});
