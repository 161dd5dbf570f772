/** tcp on the client: a public TCP port on the server; each user connection is a byte pipe to the local service. */
import type { TunnelConfigOf } from '../../shared/config/client-config.js';
import type { EngineTunnelType } from '../client-tunnel.js';
import { joinLocalService } from './local-service.js';
import { publicAddressStatus } from './public-address.js';

export const tcpTunnelType: EngineTunnelType<TunnelConfigOf<'tcp'>> = {
  carries: 'bytes',
  request: (t) => ({ name: t.name, kind: 'tcp', remotePort: t.remotePort, allow: t.allow, deny: t.deny }),
  serve: joinLocalService,
  statusFields: publicAddressStatus,
};
