/**
 * secret on the client: no public port; visitors that know the secret reach the local service
 * through the server. The server gets a key derived from the secret, never the secret itself.
 */
import { secretTunnelKey } from '../../io/auth-proof.js';
import type { TunnelConfigOf } from '../../shared/config/client-config.js';
import type { EngineTunnelType } from '../client-tunnel.js';
import { joinLocalService } from './local-service.js';

export const secretTunnelType: EngineTunnelType<TunnelConfigOf<'secret'>> = {
  carries: 'bytes',
  request: (t) => ({ name: t.name, kind: 'secret', secretKey: secretTunnelKey(t.secret, t.name) }),
  serve: joinLocalService,
  statusFields: () => ({}),
};
