/**
 * The engine's tunnel types, by the config's `type`. Each type is one module in this folder; the
 * mapped type makes the compiler insist on one entry per tunnel type of the config
 * (shared/config/client-config.ts), typed for that type's config.
 */
import type { Clock } from '../../shared/clock.js';
import type { TunnelConfig, TunnelConfigOf, TunnelType } from '../../shared/config/client-config.js';
import { ClientTunnel, type EngineTunnelType } from '../client-tunnel.js';
import { p2pTunnelType } from './p2p.js';
import { secretTunnelType } from './secret.js';
import { tcpTunnelType } from './tcp.js';
import { udpTunnelType } from './udp.js';

export const engineTunnelTypes: { readonly [K in TunnelType]: EngineTunnelType<TunnelConfigOf<K>> } = {
  tcp: tcpTunnelType,
  udp: udpTunnelType,
  secret: secretTunnelType,
  p2p: p2pTunnelType,
};

/** A tracked tunnel for this config, bound to its type; `clock` as for ClientTunnel. */
export function clientTunnelFor(config: TunnelConfig, clock: Clock): ClientTunnel {
  const type: EngineTunnelType = engineTunnelTypes[config.type];
  return new ClientTunnel(config, type, clock);
}
