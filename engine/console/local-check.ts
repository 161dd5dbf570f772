/** Does anything answer at a tunnel's local service? The console tries to connect (tcp only). */
import { connect } from 'node:net';
import { parseHostPort } from '../../shared/net/address.js';

export interface LocalCheck {
  reachable: boolean;
  checked: boolean;
  error?: string;
}

export function checkLocalService(address: string, type: string | undefined, timeoutMs = 2000): Promise<LocalCheck> {
  if (type === 'udp') return Promise.resolve({ reachable: true, checked: false });
  const hp = parseHostPort(address);
  if (!hp || hp.port === 0) return Promise.resolve({ reachable: false, checked: true, error: `"${address}" is not a host:port address` });
  return new Promise((resolve) => {
    const socket = connect({ host: hp.host, port: hp.port });
    const timer = setTimeout(() => done({ reachable: false, checked: true, error: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
    const done = (r: LocalCheck) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    socket.once('connect', () => done({ reachable: true, checked: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ reachable: false, checked: true, error: inWords(err) }));
  });
}

function inWords(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused: nothing is listening there';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name cannot be resolved';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the host cannot be reached';
    default:
      return err.message;
  }
}
