/** What one tunnel type registers on the server (server/tunnels/registry.ts), and what it is given. */
import type { ServerConfig } from '../../shared/config/server-config.js';
import type { MessageOf } from '../../shared/protocol/messages.js';
import type { ServerTunnel, TunnelContext } from '../server-tunnel.js';
import type { VisitorTargets } from '../visitor-targets.js';

export type TunnelRequest = MessageOf<'NewTunnel'>;

/** What a tunnel type gets to open one tunnel of a client. */
export interface TunnelOpenEnv {
  /** The server config now (proxyBind, allowPorts…). */
  readonly config: ServerConfig;
  /** The owning session, as its tunnels see it. */
  readonly session: TunnelContext;
  /** Server-wide: tunnels that visitors reach by name and secret proof (NewVisitorConn). */
  readonly visitorTargets: VisitorTargets;
}

/**
 * One tunnel type on the server (one module in server/tunnels/). `open` validates the client's
 * NewTunnel request, claims what the tunnel needs (a public port, a visitor name) and starts
 * serving it; it throws TunnelError with the reason the client shows its user.
 */
export interface ServerTunnelType {
  open(req: TunnelRequest, env: TunnelOpenEnv): Promise<ServerTunnel>;
}
