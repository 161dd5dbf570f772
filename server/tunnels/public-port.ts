/**
 * Opening a tunnel on a public port of the server (tcp, udp): the request's allow/deny list, the
 * server's allowPorts policy, and remotePort 0 meaning "any free allowed port".
 */
import { AccessList } from '../../io/access-list.js';
import { describeRanges, portAllowed, randomAllowedPort } from '../port-policy.js';
import { TunnelError, type ServerTunnel } from '../server-tunnel.js';
import type { TunnelOpenEnv, TunnelRequest } from './tunnel-type.js';

/** Attempts to find a free port for remotePort: 0. */
const RANDOM_PORT_ATTEMPTS = 20;

/** Binds `host:port` and starts serving; rejects with TunnelError when the port is taken. */
export type PublicPortListen = (bindHost: string, port: number, access: AccessList) => Promise<ServerTunnel>;

export async function openOnPublicPort(req: TunnelRequest, env: TunnelOpenEnv, listen: PublicPortListen): Promise<ServerTunnel> {
  let access: AccessList;
  try {
    access = new AccessList(req.allow, req.deny);
  } catch (err) {
    throw new TunnelError((err as Error).message);
  }
  const { proxyBind, allowPorts } = env.config;
  const requested = req.remotePort ?? 0;
  if (requested !== 0) {
    if (!portAllowed(requested, allowPorts)) {
      throw new TunnelError(`port ${requested} is not allowed (allowed: ${describeRanges(allowPorts)})`);
    }
    return listen(proxyBind, requested, access);
  }
  for (let i = 0; i < RANDOM_PORT_ATTEMPTS; i++) {
    try {
      return await listen(proxyBind, randomAllowedPort(allowPorts), access);
    } catch (err) {
      if (!(err instanceof TunnelError)) throw err;
    }
  }
  throw new TunnelError(`no free port in ${describeRanges(allowPorts)}`);
}
