/**
 * STUN (and, when configured, TURN) inside `burrow server`: the listener on the STUN ports and
 * the TURN core behind it (wired by create-turn-server.ts). Started by BurrowServer when the
 * config has a `stun` section.
 */
import type { Logger } from 'pino';
import { nodeStunCrypto } from '../io/stun-crypto.js';
import type { ServerConfig } from '../shared/config/server-config.js';
import { BURROW_VERSION } from '../shared/version.js';
import { StunTurnListener, type StunListenerAddresses, type StunListenerStats } from './stun/stun-listener.js';
import type { TurnAllocationInfo, TurnServer, TurnStats } from './turn/turn-server.js';

export interface StunTurnSnapshot {
  stun: { addresses: StunListenerAddresses; stats: StunListenerStats };
  turn?: { stats: TurnStats; allocations: TurnAllocationInfo[] };
}

export class StunTurnService {
  private constructor(
    private readonly listener: StunTurnListener,
    private readonly turn: TurnServer | undefined,
  ) {}

  static async start(config: ServerConfig, deps: { logger: Logger; tls?: { cert: string; key: string } }): Promise<StunTurnService> {
    const stun = config.stun!;
    const software = `Burrow ${BURROW_VERSION}`;
    let turn: TurnServer | undefined;
    if (config.turn) {
      const { createTurnServer } = await import('./create-turn-server.js');
      turn = createTurnServer(config.turn, {
        logger: deps.logger.child({ service: 'turn' }),
        crypto: nodeStunCrypto,
        software,
        serverAddresses: [stun.listen, config.listen, ...(stun.tlsListen ? [stun.tlsListen] : [])],
      });
    }
    const listener = new StunTurnListener(stun, { logger: deps.logger.child({ service: 'stun' }), tls: deps.tls, turn, software });
    try {
      await listener.start();
    } catch (err) {
      await turn?.close();
      throw err;
    }
    const a = listener.addresses();
    deps.logger.info(
      { udp: a.udp.map((x) => `${x.address}:${x.port}`), tcp: a.tcp.map((x) => `${x.address}:${x.port}`), tls: a.tls && `${a.tls.address}:${a.tls.port}`, turn: turn !== undefined },
      turn ? 'STUN/TURN listening' : 'STUN listening',
    );
    return new StunTurnService(listener, turn);
  }

  addresses(): StunListenerAddresses {
    return this.listener.addresses();
  }

  snapshot(): StunTurnSnapshot {
    return {
      stun: { addresses: this.listener.addresses(), stats: this.listener.stats() },
      ...(this.turn ? { turn: { stats: this.turn.stats(), allocations: this.turn.allocationsInfo() } } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    await this.turn?.close();
  }
}
