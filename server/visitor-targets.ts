/**
 * Tunnels that visitors reach through the server (NewVisitorConn) rather than on a public port:
 * found by name, proven by a key derived from the tunnel's secret. Names are unique on the server.
 */
import type { Duplex } from 'node:stream';
import { TunnelError } from './server-tunnel.js';

export interface VisitorTarget {
  readonly name: string;
  /** "secret" or "p2p" (p2p tunnels are also reached through the relay). */
  readonly type: string;
  /** The owning client: it may re-register its own name, no other client may take it. */
  readonly clientId: string;
  /** Hex key derived from the secret by the owner; visitors prove they can derive it too. */
  readonly secretKey: string;
  /** Join an authenticated visitor's raw socket to the tunnel's owner. */
  connectVisitor(visitor: Duplex, srcAddr: string, srcPort: number): Promise<void>;
}

export class VisitorTargets {
  private readonly byName = new Map<string, VisitorTarget>();

  register(target: VisitorTarget): void {
    const existing = this.byName.get(target.name);
    if (existing && existing.clientId !== target.clientId) {
      throw new TunnelError(`secret tunnel name "${target.name}" is taken by another client`);
    }
    this.byName.set(target.name, target);
  }

  unregister(target: VisitorTarget): void {
    if (this.byName.get(target.name) === target) this.byName.delete(target.name);
  }

  get(name: string): VisitorTarget | undefined {
    return this.byName.get(name);
  }
}
