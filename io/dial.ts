/**
 * Opening a connection to the Burrow server: plain TCP or TLS. With TLS the server's certificate
 * is not checked against CAs (it is usually self-signed); its SHA-256 fingerprint is returned and
 * the caller decides (pinned value or trust on first use) before sending anything.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { TLS_CIPHERS } from './tls-suites.js';

export interface DialOptions {
  host: string;
  port: number;
  tls: boolean;
  timeoutMs: number;
}

export interface Dialed {
  socket: Socket;
  /** "AB:CD:…" when TLS is on. */
  fingerprint?: string;
}

export function dial(options: DialOptions): Promise<Dialed> {
  return new Promise((resolve, reject) => {
    const common = { host: options.host, port: options.port, allowHalfOpen: true, noDelay: true };
    // TLS goes over a TCP socket of our own, so that an aborted connection can be reset on the
    // TCP level (io/splice.ts resetStream); tls.connect() without one keeps no such socket.
    // The TLS socket takes allowHalfOpen from it.
    const tcp = netConnect(common);
    const socket: Socket = options.tls
      ? tlsConnect({ socket: tcp, rejectUnauthorized: false, ciphers: TLS_CIPHERS, servername: isIp(options.host) ? undefined : options.host })
      : tcp;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to ${options.host}:${options.port} timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      tcp.destroy();
      reject(err);
    };
    socket.once('error', onError);
    if (tcp !== socket) {
      tcp.once('error', onError);
      // After the handshake the TLS socket reports the connection's errors; this one must not throw.
      tcp.on('error', () => {});
    }
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      tcp.off('error', onError);
      socket.setKeepAlive(true, 15_000);
      const fingerprint = options.tls ? (socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 : undefined;
      resolve({ socket, fingerprint });
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
