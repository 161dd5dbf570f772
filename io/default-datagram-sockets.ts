/** Which DatagramSocketFactory (io/datagram-socket.ts) the STUN listener and TURN relay sockets use by default. */
import { dgramSockets, type DatagramSocketFactory } from './datagram-socket.js';
import { loadBatchDatagramSockets } from './udp-batch.js';

let chosen: DatagramSocketFactory | undefined;

/**
 * native/udp-batch where it was built, else node:dgram. `BURROW_UDP_IO=dgram` in the environment
 * forces node:dgram (to compare the two, or to rule the addon out).
 */
export function defaultDatagramSockets(env: NodeJS.ProcessEnv = process.env): DatagramSocketFactory {
  if (env.BURROW_UDP_IO === 'dgram') return dgramSockets;
  chosen ??= loadBatchDatagramSockets() ?? dgramSockets;
  return chosen;
}
