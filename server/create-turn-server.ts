/**
 * The wiring of the TURN core: builds the real collaborators TurnServer takes (peer policy,
 * credentials + nonces + 401 limiter, allocation table, relay addresses from the configuration and
 * this machine's interfaces, Node relay sockets, responder) from `turn` config. Used by
 * StunTurnService and by tests that want the real thing; tests wanting fakes build TurnServer
 * themselves.
 */
import { networkInterfaces } from 'node:os';
import type { TimerFunctions } from '../io/deadline-timer.js';
import type { Logger } from '../io/logger.js';
import type { TurnConfig } from '../shared/config/server-config.js';
import type { StunCrypto } from '../shared/stun/crypto.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';
import { AllocationTable } from './turn/allocation-table.js';
import { LongTermAuth } from './turn/auth.js';
import { LimitedLongTermAuth } from './turn/auth-handler.js';
import { CredentialStore } from './turn/credentials.js';
import { NonceIssuer } from './turn/nonce.js';
import { PeerPolicy } from './turn/peer-policy.js';
import { ConfiguredRelayAddresses, type InterfaceAddress } from './turn/relay-addresses.js';
import { NodeRelayFactory, type RelayFactory } from './turn/relay-factory.js';
import { TurnResponder } from './turn/turn-responder.js';
import { TurnServer } from './turn/turn-server.js';

export interface TurnWiring {
  logger: Logger;
  crypto: StunCrypto;
  /** SOFTWARE attribute of every response. */
  software: string;
  /** The server's listen addresses ("ip" or "ip:port"): never reachable as peers. */
  serverAddresses: string[];
  /** Default: Node sockets on `turn.relayPorts`. */
  relayFactory?: RelayFactory;
  /** Default Date.now. */
  now?: () => number;
  /** This machine's interface addresses; default os.networkInterfaces(). */
  interfaces?: () => readonly InterfaceAddress[];
  /** The expiry timer's timer functions; default setTimeout (unref'd). */
  timers?: TimerFunctions;
}

/** Every address of every interface of this machine. */
export function machineInterfaces(): InterfaceAddress[] {
  return Object.values(networkInterfaces()).flatMap((list) => list ?? []);
}

/** A TurnServer with the real collaborators. Throws for a bad relay IP or peer rule. */
export function createTurnServer(config: TurnConfig, wiring: TurnWiring): TurnServer {
  const now = wiring.now ?? Date.now;
  const relayAddresses = new ConfiguredRelayAddresses({
    relayIps: config.relayIps,
    ...(config.externalIp !== undefined ? { externalIp: config.externalIp } : {}),
    interfaces: wiring.interfaces ?? machineInterfaces,
    onIgnored: (ip, message) => wiring.logger.warn({ ip }, message),
  });
  const relayFactory = wiring.relayFactory ?? new NodeRelayFactory({ ports: config.relayPorts, now });
  const allocations = new AllocationTable({ userQuota: config.userQuota, totalQuota: config.totalQuota });
  const policy = new PeerPolicy({
    allowPeers: config.allowPeers,
    denyPeers: config.denyPeers,
    ownAddresses: [...config.relayIps, ...(config.externalIp ? [config.externalIp] : []), ...wiring.serverAddresses],
    interfaceAddresses: (wiring.interfaces ?? machineInterfaces)().map((i) => i.address),
    // Live relayed addresses are valid peers (two clients of this server reach each other).
    relays: allocations,
  });
  const store = new CredentialStore({
    realm: config.realm,
    users: config.users,
    ...(config.restSecret !== undefined ? { restSecret: config.restSecret } : {}),
    crypto: wiring.crypto,
  });
  const auth = new LimitedLongTermAuth(
    new LongTermAuth({ realm: config.realm, store, nonces: new NonceIssuer(), crypto: wiring.crypto }),
    new AuthFailureLimiter({ failures: config.unauthorizedPerMinute, windowMs: 60_000 }),
  );
  return new TurnServer(config, {
    logger: wiring.logger,
    responder: new TurnResponder({ software: wiring.software, crypto: wiring.crypto, now }),
    policy,
    auth,
    allocations,
    relayAddresses,
    relayFactory,
    now,
    ...(wiring.timers ? { timers: wiring.timers } : {}),
  });
}
