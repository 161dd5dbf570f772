/**
 * p2p on the server: registered like a secret tunnel (by name, with the key derived from its
 * secret), so visitors that prove the secret reach it through the relay; the same registration is
 * what P2P signalling looks up to forward a visitor's offer to the owner (issue 9).
 */
import { TunnelError } from '../server-tunnel.js';
import { SecretTunnel } from './secret.js';
import type { ServerTunnelType } from './tunnel-type.js';

export const p2pTunnelType: ServerTunnelType = {
  async open(req, env) {
    if (!req.secretKey) throw new TunnelError('p2p tunnel without a key');
    const tunnel = new SecretTunnel(req.name, req.secretKey, env.session, env.visitorTargets, 'p2p');
    env.visitorTargets.register(tunnel);
    return tunnel;
  },
};
